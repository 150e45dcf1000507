"""Which connections an invocation serves, and when: the runnable ones, the longest-waiting
first; a scheduled invocation only the ones whose turn it is; and when a run is due to be full."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sync.config import Settings
from sync.state.connections import AccountRecord, DestinationRecord
from sync.state.port import StateStore


def runnable(destination: DestinationRecord) -> bool:
    """Served by an ordinary run: enabled, and not waiting for a person."""
    return destination.enabled and destination.status not in ("needs_reauth", "held")


@dataclass
class Schedule:
    """The turns of the registered connections, by the settings' periods and the clock."""

    settings: Settings
    state: StateStore
    clock: Callable[[], float]

    def due_accounts(self, listed: list[AccountRecord] | None = None) -> list[AccountRecord]:
        """Enabled accounts that can run, the longest-waiting first so that none starves. An
        account to reconnect waits for a person, and so does one whose every destination is
        to reconnect or held before a mass deletion; but one with a departed person's copy
        due for removal is served for that, even off. A Workspace's connection whose delegation
        was refused looks again at its turn, backing off: its admin mends it in the Admin
        console, which the sync is not told of. (A scheduled invocation serves, of
        these, the ones whose turn it is: `is_due`.)"""
        records = [
            r for r in (self.state.accounts() if listed is None else listed) if self.syncs(r) or self.removing(r)
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
        if self.removal_waits(record):
            return True
        if not self.syncs(record):
            return False  # served for its removals only
        if record.last_run is None:
            return True
        settings = self.settings
        standing = {d.last_status for d in record.targets if runnable(d)}
        fine = record.last_status in ("ok", "degraded") and standing <= {"ok", "held", "needs_reauth"}
        if fine and record.failures_in_a_row == 0:
            wait_minutes = settings.run_every_minutes - settings.tick_minutes
        else:
            doublings = min(max(record.failures_in_a_row - 1, 0), 10)
            wait_minutes = min(settings.run_every_minutes, settings.tick_minutes * 2**doublings)
        # A tick fires a little after its minute; half a tick of slack keeps its turn.
        waited = self.clock() - datetime.fromisoformat(record.last_run).timestamp()
        return waited >= (wait_minutes - settings.tick_minutes / 2) * 60

    @staticmethod
    def syncs(record: AccountRecord) -> bool:
        """Whether the connection has a destination to sync (and is not waiting for a person)."""
        return record.enabled and not record.waits_for_reconnect and _has_work(record)

    def removing(self, record: AccountRecord) -> bool:
        """Whether a destination's copy is due to be removed (`DestinationRecord.removal_due`):
        the connection is served for it, even when it is off or waits for a person."""
        now = self.clock()
        return any(d.removal_due(now, self.settings.removal_grace_hours) for d in record.targets)

    def removal_waits(self, record: AccountRecord) -> bool:
        """Whether a due removal is served at once: a first attempt, or one stopped at the time
        budget, at the next tick; one that could not finish (a revoked grant, an outage) again
        after a period."""
        now = self.clock()
        for destination in record.targets:
            if not destination.removal_due(now, self.settings.removal_grace_hours):
                continue
            if destination.removal_problem is None or destination.removal_tried_at is None:
                return True
            waited = now - datetime.fromisoformat(destination.removal_tried_at).timestamp()
            if waited >= (self.settings.run_every_minutes - self.settings.tick_minutes / 2) * 60:
                return True
        return False

    def full_run_due(self, record: AccountRecord) -> bool:
        """Whether deletions are due to be mirrored. A first run reads every contact anyway, so
        the clock starts after it."""
        if record.last_full_run is None:
            return False
        last = datetime.fromisoformat(record.last_full_run).timestamp()
        return self.clock() - last >= self.settings.full_run_every_hours * 3600


def _has_work(record: AccountRecord) -> bool:
    """A destination to serve, or a group that may name one at this run."""
    return any(map(runnable, record.targets)) or bool(record.team_group)
