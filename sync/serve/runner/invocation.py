"""Serves accounts within one invocation: leases, the time budget, oldest-first order, and
isolation (a broken account is reported in its own entry and the others go on). Which accounts
are due is `due`; serving one is `connection`; what the invocation answers is `outcomes`."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from sync.config import Settings
from sync.errors import AccountBusyError, UnknownAccountError
from sync.ports import Mode
from sync.progress import ProgressSink
from sync.secrets.port import SecretStore
from sync.serve.progress_log import LogProgress
from sync.serve.runner import heartbeat
from sync.serve.runner.connection import ConnectionServer
from sync.serve.runner.due import Schedule
from sync.serve.runner.outcomes import AccountOutcome, Invocation
from sync.state.connections import AccountRecord
from sync.state.port import StateStore

# Below this much budget left, an account is not started: it could not do a batch.
MIN_SLICE_SECONDS = 20.0
# Targeted runs of one account in one invocation, each for the hints that came during the last.
TARGETED_ROUNDS = 10


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
        """Enabled accounts that can run, the longest-waiting first (`Schedule.due_accounts`)."""
        return self._schedule().due_accounts(listed)

    def is_due(self, record: AccountRecord) -> bool:
        """Whether a scheduled invocation serves the account now (`Schedule.is_due`)."""
        return self._schedule().is_due(record)

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
        task: str | None = None,
        after: str | None = None,
    ) -> Invocation:
        """Serve one named account (UnknownAccountError, AccountBusyError), and of it only the
        destination of `user` if one is named, or every enabled account (`scheduled`: every
        one whose turn it is, and every other one with webhook hints, for those only).
        `allow_deletions` (one named account only) lifts the guard against mass deletion.
        `targeted`: only what webhooks named (of the named account, or of every account with
        hints), read again until no new hint waits. `task`: one account's turn, whose last run
        was `after` when it was enqueued (AlreadyServedError once it was served since)."""
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
        elif task is not None:
            record = self.state.account(task)
            if record is None:
                raise UnknownAccountError(task)
            records = self.due_accounts([record])
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
                outcome = self._connection().serve(
                    record, mode, dry_run, allow_deletions, deadline, account is not None, user, only_hints, after
                )
                more = only_hints and outcome.status == "ok" and self.state.hints(record.account_id)
                if not more or self.clock() > deadline - MIN_SLICE_SECONDS:
                    break
                record = self.state.account(record.account_id) or record
            invocation.accounts.append(outcome)
        one = account or task
        if one is not None and invocation.accounts and invocation.accounts[0].status == "busy":
            raise AccountBusyError(one)
        invocation.sum_up()
        return invocation

    def _schedule(self) -> Schedule:
        return Schedule(self.settings, self.state, self.clock)

    def _connection(self) -> ConnectionServer:
        return ConnectionServer(self.settings, self.state, self.secrets, self.clock, self.sleep, self.progress)
