"""One Google user's writes kept within the People API's per-user quota, "Critical write
requests per minute per user": a write waits until fewer than the allowed number were sent in
the sliding minute before it. Google does not publish the number (it shows only in the Cloud
console, and differs between projects), so it is a setting (SYNC_GOOGLE_WRITES_PER_MINUTE)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from sync.progress import Announce, Wait, unheard

# Google counts a write when it reaches it, a little after we sent it: waking exactly a minute
# after could still find it in Google's window.
MARGIN = 1.0


class WritePace:
    """When one user's next write may go."""

    def __init__(
        self,
        per_minute: int,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        on_wait: Announce = unheard,
    ) -> None:
        self._per_minute = per_minute
        self._clock = clock
        self._sleep = sleep
        self._on_wait = on_wait
        # When this user's writes of the last minute were sent, oldest first.
        self._sent: deque[float] = deque()

    def take(self) -> None:
        """Wait, if need be, for room in the minute; then count a write as sent now."""
        now = self._clock()
        while self._sent and self._sent[0] <= now - 60 - MARGIN:
            self._sent.popleft()
        if len(self._sent) >= self._per_minute:
            wait = self._sent[0] + 60 + MARGIN - now
            self._on_wait(Wait("google_throttled", wait))
            self._sleep(wait)
            self._sent.popleft()
        self._sent.append(self._clock())
