"""PNG charts for `/stats` (matplotlib, no display needed)."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from bot.models import StatsSummary


def stats_chart(summary: StatsSummary) -> bytes:
    """Questions per day as stacked bars: answered and abstained."""
    days = [day.strftime("%a %d") for day, _, _ in summary.per_day]
    answered = [a for _, a, _ in summary.per_day]
    abstained = [b for _, _, b in summary.per_day]
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.bar(days, answered, color="#2b6cb0", label="answered")
    ax.bar(days, abstained, bottom=answered, color="#a0aec0", label="abstained")
    ax.set_ylabel("questions")
    ax.legend(loc="upper left", fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return buffer.getvalue()
