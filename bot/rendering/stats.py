"""`/stats` as a card; the chart beside it is bot/rendering/chart.py."""

from __future__ import annotations

from bot.models import StatsSummary
from bot.rendering.text import (
    TITLE_LIMIT,
    Card,
    escape_user_text,
    fit,
)


def render_stats(summary: StatsSummary, server: str) -> Card:
    """`/stats`: questions, answered vs abstained, votes and what people asked that had no answer."""
    votes = summary.up + summary.down
    ratio = f"{summary.up / votes:.0%} 👍" if votes else "no votes yet"
    fields = [
        ("Questions", str(summary.questions)),
        ("Answered", str(summary.answered)),
        ("Abstained", str(summary.abstained)),
        ("Votes", f"👍 {summary.up} · 👎 {summary.down} ({ratio})"),
    ]
    if summary.top_abstained:
        fields.append(
            (
                "Most frequent unanswered questions",
                "\n".join(
                    f"{count}× {escape_user_text(question, 120)}"
                    for question, count in summary.top_abstained
                ),
            )
        )
    return fit(
        Card(
            title=escape_user_text(f"Quotebot in {server}: last {summary.days} days", TITLE_LIMIT),
            description="Questions per day, answered and abstained, in the chart below.",
            fields=tuple(fields),
        )
    )
