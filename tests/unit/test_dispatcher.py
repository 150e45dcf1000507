"""What the dispatcher enqueues: a tick's task per connection whose turn it is (a targeted one
for a connection with hints only), a person's and a webhook's run once per slot, and a queue that
cannot be reached leaving the run to the next tick."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from sync.config import Settings
from sync.queue.port import QueueError, Task
from sync.secrets.localfile import LocalFileSecrets
from sync.serve.dispatch import Dispatcher
from sync.serve.runner import Runner
from sync.state.connections import AccountRecord
from sync.state.sqlite import SqliteState

NOON = 1_796_212_800.0


class Named:
    """A queue that keeps each name once, as Cloud Tasks does."""

    def __init__(self, fail: bool = False) -> None:
        self.tasks: dict[str, Task] = {}
        self.fail = fail

    def enqueue(self, task: Task) -> bool:
        if self.fail:
            raise QueueError("unreachable")
        if task.name in self.tasks:
            return False
        self.tasks[task.name] = task
        return True


def _dispatcher(tmp_path: Path, queue: Named, now: list[float]) -> tuple[Dispatcher, SqliteState]:
    state = SqliteState(tmp_path / "state.sqlite3")
    runner = Runner(Settings(), state, LocalFileSecrets(tmp_path / "secrets.json"), clock=lambda: now[0])
    return Dispatcher(queue, runner), state


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat(timespec="seconds")


def test_a_tick_enqueues_turns_and_hints_and_nothing_else(tmp_path: Path) -> None:
    queue, now = Named(), [NOON]
    dispatcher, state = _dispatcher(tmp_path, queue, now)
    state.put_account(AccountRecord("due", last_run=_iso(NOON - 3600), last_status="ok"))
    state.put_account(AccountRecord("fresh", last_run=_iso(NOON - 60), last_status="ok"))
    state.put_account(AccountRecord("hinted", last_run=_iso(NOON - 60), last_status="ok"))
    state.add_hint("hinted", "contact", "c1", cap=10)
    assert dispatcher.tick() == {"enqueued": 2, "already": 0, "failed": 0}
    bodies = sorted((t.body["account"], t.body["task"], t.body.get("after")) for t in queue.tasks.values())
    assert bodies == [("due", "tick", _iso(NOON - 3600)), ("hinted", "hints", None)]
    now[0] += 60  # the same 5-minute slot
    assert dispatcher.tick() == {"enqueued": 0, "already": 2, "failed": 0}


def test_a_persons_and_a_webhooks_runs_are_enqueued_once_per_slot(tmp_path: Path) -> None:
    queue, now = Named(), [NOON]
    dispatcher, _ = _dispatcher(tmp_path, queue, now)
    dispatcher.person("acme", "ann@x.example", False)
    dispatcher.person("acme", "ann@x.example", False)
    dispatcher.person("acme", "ann@x.example", True)
    dispatcher.person("acme", "bob@x.example", False)
    dispatcher.targeted("acme")
    dispatcher.targeted("acme")
    assert len(queue.tasks) == 4
    now[0] += 60
    dispatcher.person("acme", "ann@x.example", False)
    dispatcher.targeted("acme")
    assert len(queue.tasks) == 6
    assert all("ann@" not in name and "acme" not in name for name in queue.tasks)


def test_a_queue_that_cannot_be_reached_leaves_the_run_to_the_next_tick(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    dispatcher, state = _dispatcher(tmp_path, Named(fail=True), [NOON])
    state.put_account(AccountRecord("due"))
    assert dispatcher.tick() == {"enqueued": 0, "already": 0, "failed": 1}
    dispatcher.person("due", "ann@x.example", False)
    dispatcher.targeted("due")
    assert "the next tick serves it" in caplog.text
