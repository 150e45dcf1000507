"""What a run did, for people and for the state store, and the tally it is counted from."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from sync.engine.decide import Decision, Delete, Skip, StillFailing, Unchanged

# held: stopped before deleting more than its share of the account's persons (guard.py).
# needs_reauth: the destination's Google grant was refused; its user must connect again.
RunStatus = Literal["running", "ok", "partial", "held", "failed", "needs_reauth"]
# Failures listed by name in a report; the count covers them all.
MAX_FAILURES_IN_REPORT = 100


def now_iso(clock: Callable[[], float]) -> str:
    """The clock's time as reports show it: to the millisecond, so that the last of two runs
    ending within a second (an unchanged run takes less) is the last report."""
    return datetime.fromtimestamp(clock(), tz=UTC).isoformat(timespec="milliseconds")


@dataclass
class RunReport:
    """One destination's part of a run: counts, calls and how it ended. The Teamleader
    figures (companies read, calls) are the run's, shared by all its destinations."""

    account: str
    run_id: str
    mode: str
    dry_run: bool
    started: str
    destination: str = "default"
    status: RunStatus = "running"
    finished: str = ""
    read: int = 0
    companies_read: int = 0
    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    skipped: int = 0
    uncertain: int = 0
    # Eligible contacts not created because Google refuses the account more (its contact limit).
    not_created: int = 0
    # What a person should know and do, in a sentence (a full Google account).
    problem: str | None = None
    skip_reasons: Counter[str] = field(default_factory=Counter)
    failures: list[dict[str, str]] = field(default_factory=list)
    failed: int = 0
    still_failing: int = 0
    # Companies whose read failed (kept as they were, read again next run), with the reason.
    unreadable_companies: dict[str, str] = field(default_factory=dict)
    cursor: str | None = None
    teamleader_calls: int = 0
    # Of those, the ones Teamleader refused for its rate limit (and were made again).
    teamleader_rate_limited: int = 0
    google_calls: int = 0
    google_writes: int = 0
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["skip_reasons"] = {str(reason): count for reason, count in self.skip_reasons.items()}
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunReport:
        return cls(**{**data, "skip_reasons": Counter(data.get("skip_reasons") or {})})


class Tally:
    """Counts a run's contacts once each, however often the cursor reads them again: the
    latest decision about a contact is the one that counts."""

    def __init__(self, report: RunReport) -> None:
        self._report = report
        self._unchanged: set[str] = set()
        self._skipped: dict[str, str] = {}

    def count(self, decision: Decision) -> None:
        """Count the latest decision about a contact Teamleader has."""
        self.seen_again(decision.teamleader_id)
        match decision:
            case Unchanged():
                self.unchanged(decision.teamleader_id)
            case StillFailing():
                self._report.still_failing += 1
            case Skip(reason=reason) | Delete(reason=str() as reason):
                self.skipped(decision.teamleader_id, reason)

    def seen_again(self, teamleader_id: str) -> None:
        """Forget what was counted for a contact that is being decided anew."""
        self._unchanged.discard(teamleader_id)
        if (reason := self._skipped.pop(teamleader_id, None)) is not None:
            self._uncount_skip(reason)
        self._report.unchanged = len(self._unchanged)

    def unchanged(self, teamleader_id: str) -> None:
        self._unchanged.add(teamleader_id)
        self._report.unchanged = len(self._unchanged)

    def skipped(self, teamleader_id: str, reason: str) -> None:
        # Counted one by one: recounting every skip at each one made a first run quadratic.
        if (previous := self._skipped.get(teamleader_id)) is not None:
            self._uncount_skip(previous)
        self._skipped[teamleader_id] = reason
        self._report.skip_reasons[reason] += 1
        self._report.skipped = len(self._skipped)

    def failed(self, teamleader_id: str, reason: str) -> None:
        self._report.failed += 1
        if len(self._report.failures) < MAX_FAILURES_IN_REPORT:
            self._report.failures.append({"teamleader_id": teamleader_id, "reason": reason})

    def _uncount_skip(self, reason: str) -> None:
        reasons = self._report.skip_reasons
        reasons[reason] -= 1
        if reasons[reason] <= 0:
            del reasons[reason]
        self._report.skipped = len(self._skipped)


@dataclass
class ConnectionReport:
    """A connection's run: what it read from Teamleader once, and each destination's report.
    `errors` keeps each failed destination's exception for the caller (never stored)."""

    account: str
    run_id: str
    status: RunStatus = "running"
    destinations: list[RunReport] = field(default_factory=list)
    companies_read: int = 0
    teamleader_calls: int = 0
    teamleader_rate_limited: int = 0
    error: str | None = None
    errors: dict[str, BaseException] = field(default_factory=dict)

    def destination(self, name: str) -> RunReport:
        """The report of one destination."""
        return next(r for r in self.destinations if r.destination == name)

    def to_json(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if k not in ("destinations", "errors")}
        data["destinations"] = [r.to_json() for r in self.destinations]
        return data
