"""What an invocation answers: each connection's outcome, with each destination's, built from
the report of a run that returned; and the invocation's status from them."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from sync.engine import ConnectionReport
from sync.state.connections import AccountRecord, DestinationRecord

log = logging.getLogger("sync.runner")

OutcomeStatus = Literal["ok", "partial", "held", "failed", "busy", "needs_reauth", "deferred", "degraded"]
# Outcomes that wait for a person: the invocation is not ok however the others went.
NEEDS_A_PERSON = {"failed", "needs_reauth", "held"}
InvocationStatus = Literal["ok", "partial", "degraded", "failed"]


@dataclass
class DestinationOutcome:
    """One destination's part of a connection's outcome."""

    destination: str
    status: str
    error: str | None = None
    error_id: str | None = None
    # Of a removal (status removed, removing or busy): the persons it removed.
    removed: int | None = None


@dataclass
class AccountOutcome:
    """One connection's part of an invocation's answer: the run's report (with each served
    destination's), and every destination's outcome."""

    account: str
    status: OutcomeStatus
    report: dict[str, Any] | None = None
    error: str | None = None
    error_id: str | None = None
    destinations: list[DestinationOutcome] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["destinations"] = [d.__dict__ for d in self.destinations]
        return data


@dataclass
class Invocation:
    """An invocation's answer: every account served, or why not."""

    invocation_id: str
    status: InvocationStatus = "ok"
    accounts: list[AccountOutcome] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "invocation_id": self.invocation_id,
            "status": self.status,
            "accounts": [o.to_json() for o in self.accounts],
        }

    def sum_up(self) -> None:
        """The invocation's status from its accounts' outcomes: failed when every one waits for
        a person, degraded when some do or are degraded, partial when some did not finish."""
        statuses = {o.status for o in self.accounts}
        if statuses & NEEDS_A_PERSON:
            self.status = "failed" if statuses <= NEEDS_A_PERSON else "degraded"
        elif "degraded" in statuses:
            self.status = "degraded"
        elif statuses & {"partial", "deferred", "busy"}:
            self.status = "partial"


def connection_status(statuses: list[str]) -> OutcomeStatus:
    """A connection's outcome from its destinations': the one they share, else degraded
    when some wait for a person and others went on, else partial when some did not finish."""
    if not statuses:
        return "ok"
    if len(set(statuses)) == 1:
        return cast(OutcomeStatus, statuses[0])
    waiting = [s for s in statuses if s in NEEDS_A_PERSON]
    if waiting:
        return "degraded" if len(waiting) < len(statuses) else "failed"
    return "partial" if set(statuses) & {"partial", "busy"} else "ok"


def connection_outcome(
    record: AccountRecord, report: ConnectionReport, busy: list[DestinationRecord]
) -> AccountOutcome:
    """Each destination's standing after a run that returned; a failed one is reported in
    its own entry and logged as an account's failure is, the others went on."""
    destinations = {d.name: d for d in record.targets}
    outcomes = [DestinationOutcome(d.name, "busy") for d in busy]
    for waiting in busy:
        waiting.last_status = "busy"
    for lane in report.destinations:
        target = destinations[lane.destination]
        outcome = DestinationOutcome(lane.destination, lane.status, lane.error)
        extra = {"destination": target.name}
        if lane.status in ("ok", "partial"):
            target.status, target.reason, target.failures_in_a_row = "ok", lane.problem, 0
        elif lane.status == "held":
            target.status, target.reason, target.failures_in_a_row = "held", lane.problem, 0
        elif lane.status == "needs_reauth":
            target.status, target.reason = "needs_reauth", lane.error
            log.error("a refresh token was refused: the account must be reconnected", extra=extra)
        else:
            outcome.error_id = uuid.uuid4().hex[:12]
            target.failures_in_a_row += 1
            target.status, target.reason = "failing", f"{lane.error} (error id {outcome.error_id})"
            cause = report.errors.get(lane.destination)
            log.error(
                "account run failed",
                exc_info=(type(cause), cause, cause.__traceback__) if cause else None,
                extra={**extra, "error_id": outcome.error_id, "failures_in_a_row": target.failures_in_a_row},
            )
        target.last_status = lane.status
        outcomes.append(outcome)
    served = [d for d in record.targets if d.name in {lane.destination for lane in report.destinations}]
    record.failures_in_a_row = max((d.failures_in_a_row for d in served), default=0)
    failed = [o for o in outcomes if o.error]
    # One destination's error is the connection's; several are named.
    error = failed[0].error if len(outcomes) == 1 and failed else None
    if len(outcomes) > 1 and failed:
        error = "; ".join(f"{o.destination}: {o.error}" for o in failed)
    return AccountOutcome(
        record.account_id,
        connection_status([o.status for o in outcomes]),
        report.to_json(),
        error=error,
        error_id=failed[0].error_id if len(failed) == 1 else None,
        destinations=outcomes,
    )


def counts(report: ConnectionReport) -> dict[str, int]:
    """A run's counts, summed over its destinations (no personal data)."""
    names = ("read", "created", "updated", "deleted", "skipped", "failed", "uncertain")
    return {name: sum(getattr(r, name) for r in report.destinations) for name in names}
