"""Serving one connection within an invocation: its lease and its Google users', the engine's
run with the options the settings and the webhooks' hints give, the leases kept alive while it
goes on, and its outcome stored in the connection's record."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sync.config import Settings
from sync.engine import EngineOptions
from sync.errors import (
    AlreadyServedError,
    DelegationRefusedError,
    LeaseContentionError,
    LeaseLostError,
    ReauthRequiredError,
    TokenStoreError,
    describe,
)
from sync.logs import account_var, run_var
from sync.ports import Mode
from sync.progress import ProgressSink
from sync.secrets.port import SecretStore
from sync.serve.recipients import refresh_recipients
from sync.serve.runner.departures import Departures
from sync.serve.runner.due import Schedule, runnable
from sync.serve.runner.outcomes import AccountOutcome, DestinationOutcome, connection_outcome, counts
from sync.serve.wiring import run_connection
from sync.state.connections import AccountRecord, DestinationRecord
from sync.state.hints import Hints
from sync.state.port import StateStore

log = logging.getLogger("sync.runner")
# Past this many hints, reading each by id costs more than an ordinary incremental run.
TARGETED_MAX_HINTS = 500
# Logged once per run of a connection whose Workspace refuses the delegation (an alert).
DELEGATION_REFUSED = "the Workspace refused the delegation: an admin must authorise it again"


@dataclass
class ConnectionServer:
    """Serves one connection at a time, with the runner's settings, stores and clock."""

    settings: Settings
    state: StateStore
    secrets: SecretStore
    clock: Callable[[], float]
    sleep: Callable[[float], None]
    progress: ProgressSink

    def serve(
        self,
        record: AccountRecord,
        mode: Mode,
        dry_run: bool,
        allow_deletions: bool,
        deadline: float,
        named: bool,
        user: str | None = None,
        targeted: bool = False,
        follows: str | None = None,
    ) -> AccountOutcome:
        """Serve the connection once (`named`: a person asked for it; `user`: only that Google
        user's destination; `targeted`: only what webhooks named; `follows`: a turn that follows
        this last run, AlreadyServedError if another came since), and store how it went before
        the lease is given back."""
        holder = uuid.uuid4().hex
        if not self._lease(record.account_id, holder):
            log.info("account busy: another invocation holds its lease", extra={"account": record.account_id})
            return AccountOutcome(record.account_id, "busy")
        if follows is not None:
            # Looked at again under the lease: a task delivered twice at once passed its check
            # before either ran, and the lease is free again once the first has stored its run.
            try:
                current = self.state.account(record.account_id)
            except BaseException:
                self.state.release_lease(record.account_id, holder)
                raise
            if current is None or (current.last_run or "") != follows:
                self.state.release_lease(record.account_id, holder)
                raise AlreadyServedError(record.account_id)
        try:
            record = refresh_recipients(
                self.settings, self.state, record, clock=self.clock, sleep=self.sleep, store=not dry_run
            )
        except DelegationRefusedError as exc:
            # One problem for the connection, whatever the number of its users.
            refused = AccountOutcome(record.account_id, "needs_reauth", error=str(exc))
            record.status, record.reason = "needs_reauth", str(exc)
            # Looked at again at its turn (the admin's fix is not announced), backing off.
            record.failures_in_a_row += 1
            log.error(DELEGATION_REFUSED, extra={"account": record.account_id})
            try:
                if not dry_run:
                    self._store(record, refused, mode, targeted)
            finally:
                self.state.release_lease(record.account_id, holder)
            return refused
        hints = self.state.hints(record.account_id)
        # Too many to read each by id: an ordinary run reads everything changed instead (and a
        # link change that moves nobody's updated_at waits for the daily full run, as without
        # webhooks).
        too_many = hints.overflow or len(hints) > TARGETED_MAX_HINTS
        targeted = targeted and not too_many
        # A run named by a person also serves the destinations that wait for one (a grant
        # given again, a hold to lift): it finds out whether they still do.
        wanted = [d for d in record.targets if d.enabled and (named or runnable(d))]
        if not named and (not record.enabled or record.waits_for_reconnect):
            wanted = []  # served for a removal only
        if user is not None:
            wanted = [d for d in wanted if d is record.destination(user)]
        serve, busy, leases = self._user_leases(record.account_id, wanted, holder)
        if mode == "incremental" and Schedule(self.settings, self.state, self.clock).full_run_due(record):
            mode = "full"
        run_id = uuid.uuid4().hex[:12]
        account_token = account_var.set(record.account_id)
        run_token = run_var.set(run_id)
        outcome = AccountOutcome(record.account_id, "failed")
        departures = Departures(self.settings, self.state, self.secrets, self.clock, self.sleep)
        removals: list[DestinationOutcome] = []
        # Dry runs write nothing; a webhook's run stays small: removals wait for an ordinary one.
        offboarding = not dry_run and not targeted
        try:
            try:
                if offboarding:
                    removals = departures.remove_due(record, user, deadline)
                if not wanted and (removals or not named):
                    # Nothing to sync: the connection's turn and standing stay as they were.
                    return AccountOutcome(record.account_id, "ok", destinations=removals)
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
                outcome = connection_outcome(record, report, busy)
                record.status, record.reason = "ok", None
                if not dry_run:
                    # Read again for every destination served; hints noted since stay.
                    self.state.clear_hints(record.account_id, hints)
                log.info("account synced", extra={"counts": counts(report), "status": outcome.status})
                outcome.destinations += removals
                if offboarding:
                    # Learnt after the run: a deactivated person's copy waits for the grace period.
                    departures.mark_deactivated(record)
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
            # Stored before the lease is given back: a run that takes it next finds this one's turn.
            if not dry_run:
                self._store(record, outcome, mode, targeted)
        finally:
            for key in reversed([record.account_id, *leases]):
                self.state.release_lease(key, holder)
            account_var.reset(account_token)
            run_var.reset(run_token)
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

    def _store(self, record: AccountRecord, outcome: AccountOutcome, mode: Mode, targeted: bool) -> None:
        """Write the run's result into the record as stored now: a destination added while the
        run went on stays. A targeted run leaves the account's turn where it was: the ordinary
        runs stay the safety net for what webhooks miss."""
        current = self.state.account(record.account_id) or record
        stored = current.to_json()
        ran = {d.name: d for d in record.targets}
        for field_name in ("status", "reason", "failures_in_a_row"):
            setattr(current, field_name, getattr(record, field_name))
        # Set on the record as stored now: a targeted run's record was read before its lease,
        # and its turn fields may be older than a turn stored since.
        if not targeted:
            current.last_run = datetime.fromtimestamp(self.clock(), tz=UTC).isoformat(timespec="seconds")
            current.last_status = outcome.status
            if outcome.status == "ok" and (mode == "full" or current.last_full_run is None):
                current.last_full_run = current.last_run
        for destination in current.targets:
            if (after := ran.get(destination.name)) is not None:
                destination.status, destination.reason = after.status, after.reason
                destination.last_status, destination.failures_in_a_row = after.last_status, after.failures_in_a_row
        # A webhook's run that went as the last one did changes nothing here: no write.
        if current.to_json() != stored:
            self.state.put_account(current)

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
