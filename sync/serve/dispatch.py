"""Runs dispatched as Cloud Tasks tasks: the tick enqueues one task per due connection, a
person's "Sync now" and the receiver's targeted runs one each, and an unfinished run its own
continuation. Each task is named by its connection, its kind and its slot (the tick's period,
a minute, ...), so a repeated tick, or two ticks racing, create it once: the queue refuses a
name it has seen within the hour. The hashed prefix spreads names over Cloud Tasks' key space
as Google recommends (sequential names, timestamps first, slow named creates down)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sync.queue.port import QueueError, Task, TaskQueue
from sync.serve.runner import Runner, heartbeat

log = logging.getLogger("sync.dispatch")
Kind = Literal["tick", "continue", "hints", "person"]
KINDS: tuple[Kind, ...] = ("tick", "continue", "hints", "person")
# A person's "Sync now" and a webhook's targeted run: one task per connection in this many
# seconds; what comes after the task ran waits for the next slot or the next tick.
PERSON_SLOT_SECONDS = 60.0
HINTS_SLOT_SECONDS = 15.0
# Where a task is sent: this path of the sync function (sync/serve/task_api.py).
TASK_PATH = "/task"


def slot(now: float, seconds: float) -> str:
    """The start of the period of `seconds` holding `now`, as UTC digits."""
    start = now - now % seconds
    return datetime.fromtimestamp(start, tz=UTC).strftime("%Y%m%d%H%M%S")


def task_name(account: str, kind: Kind, when: str, extra: str = "") -> str:
    """The task's name: a hash of the connection first, then what and when."""
    prefix = hashlib.sha256(account.encode()).hexdigest()[:16]
    return "-".join(part for part in (prefix, kind, when, extra) if part)


@dataclass
class Dispatcher:
    """Enqueues runs on the queue, by the runner's schedule and clock."""

    queue: TaskQueue
    runner: Runner

    @property
    def _clock(self) -> Callable[[], float]:
        return self.runner.clock

    def tick(self) -> dict[str, int]:
        """One task for each connection whose turn it is, and one targeted run for each other
        one with webhooks' hints waiting; answers how many were created, how many the queue
        had already, and how many could not be enqueued."""
        now = self._clock()
        listed = self.runner.state.accounts()
        heartbeat.beat(listed, now, self.runner.settings.overdue_hours)
        when = slot(now, self.runner.settings.tick_minutes * 60)
        counts = {"enqueued": 0, "already": 0, "failed": 0}
        for record in self.runner.due_accounts(listed):
            if self.runner.is_due(record):
                kind: Kind = "tick"
            elif self.runner.state.hints(record.account_id):
                kind = "hints"
            else:
                continue
            try:
                name = task_name(record.account_id, kind, when)
                turn = {"after": record.last_run or ""} if kind == "tick" else {}
                created = self._enqueue(record.account_id, kind, name, turn)
            except QueueError:
                # The others go on; this one is still due at the next tick (a new slot).
                log.error("a run could not be enqueued", exc_info=True, extra={"account": record.account_id})
                counts["failed"] += 1
                continue
            counts["enqueued" if created else "already"] += 1
        return counts

    def continuation(self, account: str, last_run: str) -> bool:
        """The next slice of an unfinished run, at once; named by the run it follows."""
        when = last_run.replace("-", "").replace(":", "").replace("T", "")[:14]
        return self._enqueue(account, "continue", task_name(account, "continue", when), {"after": last_run})

    def person(self, account: str, user: str, allow_deletions: bool) -> None:
        """A person's run ("Sync now", a first connect): one per person and minute. A queue
        that cannot be reached leaves it to the next tick."""
        now = self._clock()
        who = hashlib.sha256(f"{user}/{int(allow_deletions)}".encode()).hexdigest()[:12]
        name = task_name(account, "person", slot(now, PERSON_SLOT_SECONDS), who)
        extra = {"user": user, "allow_deletions": "1" if allow_deletions else "0"}
        self._enqueue_quietly(account, "person", name, extra)

    def targeted(self, account: str) -> None:
        """A webhook's targeted run: one per connection in its slot."""
        self._enqueue_quietly(account, "hints", task_name(account, "hints", slot(self._clock(), HINTS_SLOT_SECONDS)))

    def _enqueue_quietly(self, account: str, kind: Kind, name: str, extra: dict[str, str] | None = None) -> None:
        try:
            self._enqueue(account, kind, name, extra)
        except QueueError:
            log.warning("a run could not be enqueued; the next tick serves it", extra={"account": account})

    def _enqueue(self, account: str, kind: Kind, name: str, extra: dict[str, str] | None = None) -> bool:
        # A turn's task (tick, continue) carries the connection's last run as the enqueuer saw
        # it: a task delivered again after it ran finds another, and runs nothing.
        body = {"task": kind, "account": account, **(extra or {})}
        return self.queue.enqueue(Task(name, body))
