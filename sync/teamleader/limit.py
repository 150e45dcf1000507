"""Teamleader's rate limit as one client keeps it: 200 calls in a sliding minute per
integration and account, shared by every run of that integration. The client counts its own
calls of the last minute (answers may carry no rate headers), spends the window's last calls
evenly until it resets, and waits out a refusal (429) as it says."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from datetime import datetime
from email.utils import parsedate_to_datetime

import httpx

from sync.progress import Announce, Wait, WaitCause, unheard

# The reset moment comes to the millisecond, truncated, from a clock that is not ours: waking
# exactly then can still be too early for the window, and earn a 429.
RESET_MARGIN = 1.0
# Below this many calls left in the window, the rest are spread over the time until its reset
# rather than spent at once (other runs of the same integration share the window).
PACE_BELOW = 20
# A 429 that says neither when to come back nor when the window resets: wait this long, doubled
# at each refusal in a row, up to a minute (the window's length).
BACKOFF_FIRST = 2.0
BACKOFF_MAX = 60.0


def parse_rate_reset(value: str | None) -> float | None:
    """X-RateLimit-Reset as epoch seconds; Teamleader sends ISO datetimes like
    `2021-06-15T10:51:23.035+0100`, but epoch seconds are accepted too."""
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()
    except ValueError:
        try:
            return datetime.fromisoformat(value).timestamp()
        except ValueError:
            return None


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Retry-After as the epoch second to come back at: delay-seconds or an HTTP date."""
    if not value:
        return None
    if value.strip().isdigit():
        return now + float(value)
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None


class RateLimit:
    """When one client may make its next call."""

    def __init__(
        self,
        calls_per_minute: int,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        on_wait: Announce = unheard,
    ) -> None:
        self._calls_per_minute = calls_per_minute
        self._clock = clock
        self._sleep = sleep
        self._on_wait = on_wait
        self._paused_until = 0.0
        # Why the pause lasts as long as it does (the reason that set its end), and when calls
        # go at full pace again: later than the pause while the window's last calls are spread.
        self._paused_for: WaitCause = "teamleader_limit"
        self._full_pace_at = 0.0
        # When this client's calls of the last minute were made, oldest first.
        self._recent: deque[float] = deque()

    def wait_for_a_slot(self) -> None:
        """Wait out a pause, and for this client's own sliding minute to have room."""
        now = self._clock()
        while self._recent and self._recent[0] <= now - 60:
            self._recent.popleft()
        if len(self._recent) >= self._calls_per_minute:
            self._pause(self._recent[0] + 60 - now)
        wait = self._paused_until - now
        if wait > 0:
            # Spreading the window's last calls is waiting for the limit too, until the reset.
            limited = self._paused_for == "teamleader_limit"
            announced = max(wait, self._full_pace_at - now) if limited else wait
            self._on_wait(Wait(self._paused_for, announced, self._calls_per_minute))
            self._sleep(wait)

    def made(self) -> None:
        """A call ended: counted from now, Teamleader counted it at some moment before."""
        self._recent.append(self._clock())

    def answered(self, answer: httpx.Response) -> None:
        """Spend the window's last calls evenly until it resets, and none once it is used up,
        so that a 429 stays rare even while other runs share the window."""
        remaining = answer.headers.get("X-RateLimit-Remaining", "")
        if not remaining.isdigit() or (left := int(remaining)) >= PACE_BELOW:
            return  # most answers: the reset (a date to parse) does not matter yet
        reset = parse_rate_reset(answer.headers.get("X-RateLimit-Reset"))
        if reset is None:
            return
        until_reset = reset + RESET_MARGIN - self._clock()
        if until_reset <= 0:
            return
        self._pause(until_reset if left == 0 else until_reset / (left + 1), full_pace_in=until_reset)

    def refused(self, answer: httpx.Response, refusals: int) -> None:
        """Wait as the refusal says: Retry-After, else the window's reset, else a back-off that
        doubles with each refusal in a row. Never straight back."""
        now = self._clock()
        come_back = parse_retry_after(answer.headers.get("Retry-After"), now)
        if come_back is None and (reset := parse_rate_reset(answer.headers.get("X-RateLimit-Reset"))) is not None:
            come_back = reset + RESET_MARGIN
        backoff = min(BACKOFF_MAX, BACKOFF_FIRST * 2**refusals)
        # A reset already past (clocks disagree) says nothing: back off instead.
        wait = come_back - now if come_back is not None and come_back > now else backoff
        self._pause(wait, "teamleader_refused")

    def _pause(self, seconds: float, cause: WaitCause = "teamleader_limit", *, full_pace_in: float = 0.0) -> None:
        now = self._clock()
        if now + seconds > self._paused_until:
            self._paused_until, self._paused_for = now + seconds, cause
        self._full_pace_at = max(self._full_pace_at, now + full_pace_in)
