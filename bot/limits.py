"""The per-user question limit: at most N questions in any 60 seconds."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

WINDOW_SECONDS = 60.0


class QuestionLimit:
    """A sliding one-minute window of question times per user."""

    def __init__(
        self,
        per_minute: int,
        clock: Callable[[], float] = time.monotonic,
        window: float = WINDOW_SECONDS,
    ) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self.window = window
        self._asked: dict[int, deque[float]] = {}

    def wait_seconds(self, user_id: int) -> int:
        """0 and count the question if the user may ask now; else whole seconds to wait."""
        now = self.clock()
        asked = self._asked.setdefault(user_id, deque())
        while asked and asked[0] <= now - self.window:
            asked.popleft()
        if len(asked) >= self.per_minute:
            return max(1, math.ceil(asked[0] + self.window - now))
        asked.append(now)
        if len(self._asked) > 10_000:
            self._forget_idle(now)
        return 0

    def _forget_idle(self, now: float) -> None:
        """Drop users with no question in the window, so memory stays bounded."""
        for user_id in [u for u, times in self._asked.items() if times[-1] <= now - self.window]:
            del self._asked[user_id]
