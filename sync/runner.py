"""Serves accounts within one invocation: leases, the time budget, oldest-first order, and
isolation (a broken account is reported in its own entry and the others go on)."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from sync.config import Settings
from sync.engine import EngineOptions, RunReport
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
from sync.secrets.port import SecretStore
from sync.state.port import AccountRecord, StateStore
from sync.wiring import run_account

log = logging.getLogger("sync.runner")
# Below this much budget left, an account is not started: it could not do a batch.
MIN_SLICE_SECONDS = 20.0


OutcomeStatus = Literal["ok", "partial", "held", "failed", "busy", "needs_reauth", "deferred"]
# Outcomes that wait for a person: the invocation is not ok however the others went.
NEEDS_A_PERSON = {"failed", "needs_reauth", "held"}
InvocationStatus = Literal["ok", "partial", "degraded", "failed"]


@dataclass
class AccountOutcome:
    """One account's part of an invocation's answer."""

    account: str
    status: OutcomeStatus
    report: dict[str, Any] | None = None
    error: str | None = None
    error_id: str | None = None


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
            "accounts": [o.__dict__ for o in self.accounts],
        }


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
        progress: Callable[[RunReport], None] | None = None,
    ) -> None:
        self.settings = settings
        self.state = state
        self.secrets = secrets
        self.clock = clock
        self.sleep = sleep
        self.progress = progress

    def due_accounts(self, *, scheduled: bool = False) -> list[AccountRecord]:
        """Enabled accounts that can run, the longest-waiting first so that none starves. An
        account to reconnect, or held before a mass deletion, waits for a person. For a
        scheduled invocation, also only the ones whose turn it is (`is_due`)."""
        records = [r for r in self.state.accounts() if r.enabled and r.status not in ("needs_reauth", "held")]
        if scheduled:
            records = [r for r in records if self.is_due(r)]
        return sorted(records, key=lambda r: r.last_run or "")

    def is_due(self, record: AccountRecord) -> bool:
        """Whether a scheduled invocation serves the account now. One that synced fine waits
        for its period, less one tick so that the hour does not drift later tick by tick; an
        unfinished one (stopped at the time budget) goes on at the next tick, so that a first
        run of 25,000 contacts completes within minutes, not hours; a failed one is tried again
        after a tick, then two, four, ... up to the period."""
        if record.last_run is None:
            return True
        settings = self.settings
        if record.last_status == "ok":
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
    ) -> Invocation:
        """Serve one named account (UnknownAccountError, AccountBusyError) or every enabled
        one (`scheduled`: every one whose turn it is). `allow_deletions` (one named account
        only) lifts the guard against mass deletion."""
        if allow_deletions and account is None:
            raise ValueError("deletions are allowed for one named account only")
        invocation = Invocation(uuid.uuid4().hex[:12])
        deadline = self.clock() + self.settings.time_budget_seconds
        if account is not None:
            record = self.state.account(account)
            if record is None:
                raise UnknownAccountError(account)
            records = [record]
        else:
            records = self.due_accounts(scheduled=scheduled)
        for record in records:
            if self.clock() > deadline - MIN_SLICE_SECONDS:
                invocation.accounts.append(AccountOutcome(record.account_id, "deferred"))
                continue
            invocation.accounts.append(self._serve(record, mode, dry_run, allow_deletions, deadline))
        if account is not None and invocation.accounts[0].status == "busy":
            raise AccountBusyError(account)
        statuses = {o.status for o in invocation.accounts}
        if statuses & NEEDS_A_PERSON:
            invocation.status = "failed" if statuses <= NEEDS_A_PERSON else "degraded"
        elif statuses & {"partial", "deferred", "busy"}:
            invocation.status = "partial"
        return invocation

    def _serve(
        self, record: AccountRecord, mode: Mode, dry_run: bool, allow_deletions: bool, deadline: float
    ) -> AccountOutcome:
        holder = uuid.uuid4().hex
        try:
            taken = self.state.acquire_lease(record.account_id, holder, self.clock(), self.settings.lease_seconds)
        except LeaseContentionError:
            taken = False  # others are fighting over it right now: one of them will serve it
        if not taken:
            log.info("account busy: another invocation holds its lease", extra={"account": record.account_id})
            return AccountOutcome(record.account_id, "busy")
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
            )
            report = run_account(
                self.settings,
                record,
                state=self.state,
                secrets=self.secrets,
                options=options,
                clock=self.clock,
                sleep=self.sleep,
                progress=self.progress,
                run_id=run_id,
                keep_alive=self._lease_keeper(record.account_id, holder),
            )
            # A run that returns has finished (ok), stopped at the deadline (partial), or stopped
            # before a mass deletion (held: the account waits for a person).
            status = report.status if report.status in ("partial", "held") else "ok"
            outcome = AccountOutcome(record.account_id, status, report.to_json())
            record.status, record.reason = ("held" if status == "held" else "ok"), report.problem
            record.failures_in_a_row = 0
            log.info("account synced", extra={"counts": _counts(report), "status": report.status})
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
            self.state.release_lease(record.account_id, holder)
            account_var.reset(account_token)
            run_var.reset(run_token)
        if not dry_run:
            record.last_run = datetime.fromtimestamp(self.clock(), tz=UTC).isoformat(timespec="seconds")
            record.last_status = outcome.status
            if outcome.status == "ok" and (mode == "full" or record.last_full_run is None):
                record.last_full_run = record.last_run
            self.state.put_account(record)
        return outcome

    def _full_run_due(self, record: AccountRecord) -> bool:
        """Whether deletions are due to be mirrored. A first run reads every contact anyway, so
        the clock starts after it."""
        if record.last_full_run is None:
            return False
        last = datetime.fromisoformat(record.last_full_run).timestamp()
        return self.clock() - last >= self.settings.full_run_every_hours * 3600

    def _lease_keeper(self, account: str, holder: str) -> Callable[[], None]:
        """Renews the lease a few times per lease period while the run goes on; a lease that
        cannot be renewed (it expired and another invocation took it) stops the run."""
        ttl = self.settings.lease_seconds
        renewed = [self.clock()]

        def keep_alive() -> None:
            now = self.clock()
            if now - renewed[0] < ttl / 4:
                return
            try:
                kept = self.state.renew_lease(account, holder, now, ttl)
            except LeaseContentionError:
                return  # still ours for most of its period: renew at the next tick
            if not kept:
                raise LeaseLostError(f"lost the lease of {account}")
            renewed[0] = now

        return keep_alive


def _counts(report: RunReport) -> dict[str, int]:
    return {
        "read": report.read,
        "created": report.created,
        "updated": report.updated,
        "deleted": report.deleted,
        "skipped": report.skipped,
        "failed": report.failed,
        "uncertain": report.uncertain,
    }
