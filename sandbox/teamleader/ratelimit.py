"""The per-account rate limit: a sliding (or clock) minute, and the headers that tell of it."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from sandbox.teamleader.base import TeamleaderBase
from sandbox.teamleader.model import ApiError, TeamleaderAccount


class RateLimit(TeamleaderBase):
    """A slot in the account's rate window for each API call, and the headers that say so."""

    def _take_rate_slot(self, account: TeamleaderAccount) -> dict[str, str]:
        now = self.clock.now()
        window = account.window
        if self.rate_window == "fixed":
            # Calls counted per clock minute; the reset is the minute's end.
            start = now // 60 * 60
            while window and window[0] < start:
                window.popleft()
            reset = start + 60
        else:
            while window and window[0] <= now - 60:
                window.popleft()
            # When the oldest call in the sliding minute leaves it, freeing a slot.
            reset = (window[0] + 60) if window else now + 60
        if len(window) >= self.rate_limit:
            raise _RateLimitedError(self._rate_headers(0, reset, now, refused=True))
        window.append(now)
        return self._rate_headers(self.rate_limit - len(window), reset, now, refused=False)

    def _rate_headers(self, remaining: int, reset: float, now: float, *, refused: bool) -> dict[str, str]:
        match self.rate_headers:
            case "documented":
                return {
                    "X-RateLimit-Limit": str(self.rate_limit),
                    "X-RateLimit-Remaining": str(remaining),
                    "X-RateLimit-Reset": _rate_reset(reset),
                }
            case "reset_only":
                return {"X-RateLimit-Reset": _rate_reset(reset)}
            case "retry_after":
                return {"Retry-After": str(max(1, math.ceil(reset - now)))} if refused else {}
            case "bare":
                return {}
        raise ValueError(f"unknown rate_headers {self.rate_headers!r}")


class _RateLimitedError(ApiError):
    def __init__(self, headers: dict[str, str]) -> None:
        super().__init__(429, "Too many requests")
        self.headers = headers


def _rate_reset(ts: float) -> str:
    moment = datetime.fromtimestamp(ts, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"
