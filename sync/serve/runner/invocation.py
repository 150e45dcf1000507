"""Serves accounts within one invocation: leases, the time budget, oldest-first order, and
isolation (a broken account is reported in its own entry and the others go on)."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, cast

from sync.config import Settings
from sync.engine import ConnectionReport, EngineOptions
from sync.errors import (
    AccountBusyError,
    LeaseContentionError,
    LeaseLostError,
    ReauthRequiredError,
    TokenStoreError,
    UnknownAccountError,
    describe,
)
from sync.logs import account_var, run_var
from sync.ports import Mode
from sync.progress import ProgressSink
from sync.secrets.port import SecretStore
from sync.serve.progress_log import LogProgress
from sync.serve.runner import heartbeat
from sync.serve.wiring import run_connection
from sync.state.connections import AccountRecord, DestinationRecord
from sync.state.hints import Hints
from sync.state.port import StateStore

log = logging.getLogger("sync.runner")
# Below this much budget left, an account is not started: it could not do a batch.
MIN_SLICE_SECONDS = 20.0
# Past this many hints, reading each by id costs more than an ordinary incremental run.
TARGETED_MAX_HINTS = 500
# Targeted runs of one account in one invocation, each for the hints that came during the last.
TARGETED_ROUNDS = 10


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


def _runnable(destination: DestinationRecord) -> bool:
    """Served by an ordinary run: enabled, and not waiting for a person."""
    return destination.enabled and destination.status not in ("needs_reauth", "held")


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


class Runner:
    """Runs due accounts one after the other; every account under its own lease."""

    def __init__(
        self,
        settings: Settings,
        state: StateStore,
        secrets: SecretStore,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        progress: ProgressSink | None = None,
    ) -> None:
        self.settings = settings
        self.state = state
        self.secrets = secrets
        self.clock = clock
        self.sleep = sleep
        # Nobody watches a run in the cloud: its progress goes to the log.
        self.progress = progress or LogProgress()

    def due_accounts(self, listed: list[AccountRecord] | None = None) -> list[AccountRecord]:
        """Enabled accounts that can run, the longest-waiting first so that none starves. An
        account to reconnect waits for a person, and so does one whose every destination is
        to reconnect or held before a mass deletion. (A scheduled invocation serves, of these,
        the ones whose turn it is: `is_due`.)"""
        records = [
            r
            for r in (self.state.accounts() if listed is None else listed)
            if r.enabled and r.status != "needs_reauth" and any(map(_runnable, r.targets))
        ]
        return sorted(records, key=lambda r: r.last_run or "")

    def is_due(self, record: AccountRecord) -> bool:
        """Whether a scheduled invocation serves the account now. One that synced fine waits
        for its period, less one tick so that the hour does not drift later tick by tick; an
        unfinished one (stopped at the time budget) goes on at the next tick, so that a first
        run of 25,000 contacts completes within minutes, not hours; a failed one is tried again
        after a tick, then two, four, ... up to the period. A team's run that went fine for
        every user it could serve counts as fine (the others wait for a person); a user who
        has not synced yet (just added) is served at the next tick."""
        if record.last_run is None:
            return True
        settings = self.settings
        standing = {d.last_status for d in record.targets if _runnable(d)}
        fine = record.last_status in ("ok", "degraded") and standing <= {"ok", "held", "needs_reauth"}
        if fine and record.failures_in_a_row == 0:
            wait_minutes = settings.run_every_minutes - settings.tick_minutes
        else:
            doublings = min(max(record.failures_in_a_row - 1, 0), 10)
            wait_minutes = min(settings.run_every_minutes, settings.tick_minutes * 2**doublings)
        # A tick fires a little after its minute; half a tick of slack keeps its turn.
        waited = self.clock() - datetime.fromisoformat(record.last_run).timestamp()
        return waited >= (wait_minutes - settings.tick_minutes / 2) * 60

    def run(
        self,
        *,
        account: str | None = None,
        mode: Mode = "incremental",
        dry_run: bool = False,
        allow_deletions: bool = False,
        scheduled: bool = False,
        user: str | None = None,
        targeted: bool = False,
    ) -> Invocation:
        """Serve one named account (UnknownAccountError, AccountBusyError), and of it only the
        destination of `user` if one is named, or every enabled account (`scheduled`: every
        one whose turn it is, and every other one with webhook hints, for those only).
        `allow_deletions` (one named account only) lifts the guard against mass deletion.
        `targeted`: only what webhooks named (of the named account, or of every account with
        hints), read again until no new hint waits."""
        if allow_deletions and account is None:
            raise ValueError("deletions are allowed for one named account only")
        if user is not None and account is None:
            raise ValueError("a user is named within one named account only")
        invocation = Invocation(uuid.uuid4().hex[:12])
        deadline = self.clock() + self.settings.time_budget_seconds
        if account is not None:
            record = self.state.account(account)
            if record is None:
                raise UnknownAccountError(account)
            if user is not None and record.destination(user) is None:
                raise UnknownAccountError(f"{account} has no destination for that user")
            records = [record]
        else:
            listed = self.state.accounts()
            if scheduled:
                heartbeat.beat(listed, self.clock(), self.settings.overdue_hours)
            runnable = self.due_accounts(listed)
            if targeted:
                records = [r for r in runnable if self.state.hints(r.account_id)]
            else:
                records = [r for r in runnable if self.is_due(r)] if scheduled else runnable
        due = {r.account_id for r in records}
        if scheduled:
            # Accounts whose hour has not come are served for their webhooks' hints alone.
            records += [r for r in runnable if r.account_id not in due and self.state.hints(r.account_id)]
        for record in records:
            if self.clock() > deadline - MIN_SLICE_SECONDS:
                invocation.accounts.append(AccountOutcome(record.account_id, "deferred"))
                continue
            only_hints = targeted or record.account_id not in due
            rounds = TARGETED_ROUNDS if only_hints else 1
            # A hint that came during a run is served by another round, within the budget.
            for _ in range(rounds):
                outcome = self._serve(
                    record, mode, dry_run, allow_deletions, deadline, account is not None, user, only_hints
                )
                more = only_hints and outcome.status == "ok" and self.state.hints(record.account_id)
                if not more or self.clock() > deadline - MIN_SLICE_SECONDS:
                    break
                record = self.state.account(record.account_id) or record
            invocation.accounts.append(outcome)
        if account is not None and invocation.accounts[0].status == "busy":
            raise AccountBusyError(account)
        statuses = {o.status for o in invocation.accounts}
        if statuses & NEEDS_A_PERSON:
            invocation.status = "failed" if statuses <= NEEDS_A_PERSON else "degraded"
        elif "degraded" in statuses:
            invocation.status = "degraded"
        elif statuses & {"partial", "deferred", "busy"}:
            invocation.status = "partial"
        return invocation

    def _serve(
        self,
        record: AccountRecord,
        mode: Mode,
        dry_run: bool,
        allow_deletions: bool,
        deadline: float,
        named: bool,
        user: str | None = None,
        targeted: bool = False,
    ) -> AccountOutcome:
        holder = uuid.uuid4().hex
        if not self._lease(record.account_id, holder):
            log.info("account busy: another invocation holds its lease", extra={"account": record.account_id})
            return AccountOutcome(record.account_id, "busy")
        hints = self.state.hints(record.account_id)
        # Too many to read each by id: an ordinary run reads everything changed instead (and a
        # link change that moves nobody's updated_at waits for the daily full run, as without
        # webhooks).
        too_many = hints.overflow or len(hints) > TARGETED_MAX_HINTS
        targeted = targeted and not too_many
        # A run named by a person also serves the destinations that wait for one (a grant
        # given again, a hold to lift): it finds out whether they still do.
        wanted = [d for d in record.targets if d.enabled and (named or _runnable(d))]
        if user is not None:
            wanted = [d for d in wanted if d is record.destination(user)]
        serve, busy, leases = self._user_leases(record.account_id, wanted, holder)
        if mode == "incremental" and self._full_run_due(record):
            mode = "full"
        run_id = uuid.uuid4().hex[:12]
        account_token = account_var.set(record.account_id)
        run_token = run_var.set(run_id)
        outcome = AccountOutcome(record.account_id, "failed")
        try:
            options = EngineOptions(
                mode=mode,
                dry_run=dry_run,
                deadline=deadline,
                create_visibility_delay=self.settings.create_visibility_delay,
                max_deletion_share=None if allow_deletions else self.settings.max_deletion_share,
                parallel_destinations=self.settings.parallel_destinations,
                hints=Hints() if too_many else hints,
                targeted=targeted,
            )
            report = run_connection(
                self.settings,
                record,
                state=self.state,
                secrets=self.secrets,
                options=options,
                serve=serve,
                clock=self.clock,
                sleep=self.sleep,
                progress=self.progress,
                run_id=run_id,
                keep_alive=self._lease_keeper([record.account_id, *leases], holder),
            )
            outcome = self._outcome(record, report, busy)
            record.status, record.reason = "ok", None
            if not dry_run:
                # Read again for every destination served; hints noted since stay.
                self.state.clear_hints(record.account_id, hints)
            log.info("account synced", extra={"counts": _counts(report), "status": outcome.status})
        except ReauthRequiredError as exc:
            outcome = AccountOutcome(record.account_id, "needs_reauth", error=str(exc))
            record.status, record.reason = "needs_reauth", str(exc)
            log.error("a refresh token was refused: the account must be reconnected")
        except TokenStoreError as exc:
            outcome = AccountOutcome(record.account_id, "needs_reauth", error=str(exc))
            record.status, record.reason = "needs_reauth", str(exc)
            # The one error that must page a person: the new token exists only in memory.
            log.critical("a rotated refresh token could not be stored; reconnect the account")
        except Exception as exc:
            error_id = uuid.uuid4().hex[:12]
            outcome = AccountOutcome(record.account_id, "failed", error=describe(exc), error_id=error_id)
            record.status, record.reason = "failing", f"{describe(exc)} (error id {error_id})"
            record.failures_in_a_row += 1
            log.error(
                "account run failed",
                exc_info=True,
                extra={"error_id": error_id, "failures_in_a_row": record.failures_in_a_row},
            )
        finally:
            for key in reversed([record.account_id, *leases]):
                self.state.release_lease(key, holder)
            account_var.reset(account_token)
            run_var.reset(run_token)
        if not dry_run:
            self._store(record, outcome, mode, targeted)
        return outcome

    def _lease(self, key: str, holder: str) -> bool:
        try:
            return self.state.acquire_lease(key, holder, self.clock(), self.settings.lease_seconds)
        except LeaseContentionError:
            return False  # others are fighting over it right now: one of them will serve it

    def _user_leases(
        self, account: str, wanted: list[DestinationRecord], holder: str
    ) -> tuple[list[DestinationRecord], list[DestinationRecord], list[str]]:
        """Take the lease of each destination's Google user: two runs never write to one user
        at once, even for two connections. Answers the destinations to serve, the busy ones,
        and the leases taken."""
        serve, busy, taken = [], [], []
        for destination in wanted:
            key = destination.lease_key
            if key not in taken and self._lease(key, holder):
                taken.append(key)
                serve.append(destination)
            else:
                busy.append(destination)
                log.info(
                    "destination busy: another run writes to its Google user",
                    extra={"account": account, "destination": destination.name},
                )
        return serve, busy, taken

    def _outcome(
        self, record: AccountRecord, report: ConnectionReport, busy: list[DestinationRecord]
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

    def _store(self, record: AccountRecord, outcome: AccountOutcome, mode: Mode, targeted: bool) -> None:
        """Write the run's result into the record as stored now: a destination added while the
        run went on stays. A targeted run leaves the account's turn where it was: the ordinary
        runs stay the safety net for what webhooks miss."""
        if not targeted:
            record.last_run = datetime.fromtimestamp(self.clock(), tz=UTC).isoformat(timespec="seconds")
            record.last_status = outcome.status
            if outcome.status == "ok" and (mode == "full" or record.last_full_run is None):
                record.last_full_run = record.last_run
        current = self.state.account(record.account_id) or record
        ran = {d.name: d for d in record.targets}
        for field_name in ("status", "reason", "last_run", "last_status", "last_full_run", "failures_in_a_row"):
            setattr(current, field_name, getattr(record, field_name))
        for destination in current.targets:
            if (after := ran.get(destination.name)) is not None:
                destination.status, destination.reason = after.status, after.reason
                destination.last_status, destination.failures_in_a_row = after.last_status, after.failures_in_a_row
        self.state.put_account(current)

    def _full_run_due(self, record: AccountRecord) -> bool:
        """Whether deletions are due to be mirrored. A first run reads every contact anyway, so
        the clock starts after it."""
        if record.last_full_run is None:
            return False
        last = datetime.fromisoformat(record.last_full_run).timestamp()
        return self.clock() - last >= self.settings.full_run_every_hours * 3600

    def _lease_keeper(self, keys: list[str], holder: str) -> Callable[[], None]:
        """Renews the leases (the connection's, its Google users') a few times per lease period
        while the run goes on; a lease that cannot be renewed (it expired and another
        invocation took it) stops the run."""
        ttl = self.settings.lease_seconds
        renewed = [self.clock()]

        def keep_alive() -> None:
            now = self.clock()
            if now - renewed[0] < ttl / 4:
                return
            for key in keys:
                try:
                    kept = self.state.renew_lease(key, holder, now, ttl)
                except LeaseContentionError:
                    continue  # still ours for most of its period: renew at the next tick
                if not kept:
                    raise LeaseLostError(f"lost the lease of {key}")
            renewed[0] = now

        return keep_alive


def _counts(report: ConnectionReport) -> dict[str, int]:
    """A run's counts, summed over its destinations (no personal data)."""
    names = ("read", "created", "updated", "deleted", "skipped", "failed", "uncertain")
    return {name: sum(getattr(r, name) for r in report.destinations) for name in names}
