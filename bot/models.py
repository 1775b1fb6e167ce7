"""Values the bot's layers pass to each other: storage computes them, rendering shows them.

Here, and not in bot/storage, so that bot/rendering stays pure: it never imports storage.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class StatsSummary:
    """What `/stats` shows for one server over a window of days."""

    days: int
    questions: int
    answered: int
    abstained: int
    up: int
    down: int
    top_abstained: list[tuple[str, int]]
    per_day: list[tuple[date, int, int]]  # day, answered, abstained
