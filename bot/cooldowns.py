"""Per-user flood control: at most N questions in a sliding window of S seconds."""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Callable


class Cooldowns:
    """`hit(key)` records a question and returns None, or the seconds to wait when over the limit."""

    def __init__(
        self, limit: int, per_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.per_seconds = per_seconds
        self._clock = clock
        self._hits: defaultdict[int, deque[float]] = defaultdict(deque)

    def hit(self, key: int) -> float | None:
        now = self._clock()
        hits = self._hits[key]
        while hits and now - hits[0] >= self.per_seconds:
            hits.popleft()
        if len(hits) >= self.limit:
            return self.per_seconds - (now - hits[0])
        hits.append(now)
        if len(self._hits) > 10_000:
            self._forget_idle(now)
        return None

    def _forget_idle(self, now: float) -> None:
        # Keeps memory flat under a flood of distinct users.
        for key in [k for k, h in self._hits.items() if not h or now - h[-1] >= self.per_seconds]:
            del self._hits[key]
