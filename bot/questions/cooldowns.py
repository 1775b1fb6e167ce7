"""Per-user flood control: at most N questions in a sliding window of S seconds."""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Callable


class Cooldowns:
    """`hit(key)` records a question and returns None, or the seconds to wait when over the limit.

    `limit` and `per_seconds` may be given per call, for servers that set their own.
    """

    def __init__(
        self, limit: int, per_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.per_seconds = per_seconds
        self._clock = clock
        self._hits: defaultdict[int, deque[float]] = defaultdict(deque)

    def hit(
        self, key: int, limit: int | None = None, per_seconds: float | None = None
    ) -> float | None:
        limit = limit or self.limit
        per_seconds = per_seconds or self.per_seconds
        now = self._clock()
        hits = self._hits[key]
        while hits and now - hits[0] >= per_seconds:
            hits.popleft()
        if len(hits) >= limit:
            # Wait until enough of the oldest questions leave the window to make room for one.
            return per_seconds - (now - hits[len(hits) - limit])
        hits.append(now)
        if len(self._hits) > 10_000:
            self._forget_idle(now)
        return None

    def _forget_idle(self, now: float) -> None:
        # Keeps memory flat under a flood of distinct users.
        for key in [k for k, h in self._hits.items() if not h or now - h[-1] >= self.per_seconds]:
            del self._hits[key]
