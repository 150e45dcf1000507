"""One run per turn: a turn's task delivered twice at once runs once, a run stores its turn
before it gives its lease back, and a webhook's run never writes back an older turn."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.datagen import generate
from sandbox.stack import SandboxStack
from sync.errors import AlreadyServedError
from sync.serve.progress_log import LogProgress
from sync.serve.runner.connection import ConnectionServer
from sync.state.port import StateStore
from sync.state.sqlite import SqliteState
from tests.harness import Harness
from tests.integration.test_runner import make_runner


class ReleaseWatcher(SqliteState):
    """A state store that notes the connection's last run as stored when each lease of it is
    given back."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.at_release: list[str | None] = []

    def release_lease(self, account: str, holder: str) -> None:
        record = self.account(account)
        if record is not None:
            self.at_release.append(record.last_run)
        super().release_lease(account, holder)


def test_a_turn_served_since_its_task_was_enqueued_runs_nothing_and_a_run_is_stored_before_its_lease_is_freed(
    stack: SandboxStack, tmp_path: Path
) -> None:
    state = ReleaseWatcher(tmp_path / "watched.sqlite3")
    harness = Harness.create(stack, state, generate(30, 0, seed=8), tmp_path, "acme")
    runner = make_runner(harness)
    runner.run(task="acme", after="")
    stored = state.account("acme")
    assert stored is not None and stored.last_run
    # Freed only once its turn was stored: a second delivery taking the lease then finds it.
    assert state.at_release == [stored.last_run]
    stack.clock.advance(3600)
    key = stored.targets[0].state_key
    report = state.last_report(key)
    assert report is not None
    # A second delivery of the first task, whose check passed before the first one ran.
    with pytest.raises(AlreadyServedError):
        runner.run(task="acme", after="")
    assert (state.account("acme") or stored).last_run == stored.last_run
    assert (state.last_report(key) or {}).get("run_id") == report["run_id"]


def test_a_webhooks_run_read_before_a_turn_was_stored_leaves_that_turn_as_stored(
    stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path
) -> None:
    harness = Harness.create(stack, sqlite_state, generate(20, 0, seed=9), tmp_path, "acme")
    runner = make_runner(harness)
    runner.run(account="acme")
    read_before = sqlite_state.account("acme")
    assert read_before is not None
    stack.clock.advance(3600)
    runner.run(account="acme")
    turn = sqlite_state.account("acme")
    assert turn is not None and turn.last_run != read_before.last_run
    # The webhook's run took the record as it was read before the turn above was stored.
    server = ConnectionServer(
        runner.settings, sqlite_state, harness.secrets, stack.clock.now, stack.clock.advance, LogProgress()
    )
    server.serve(read_before, "incremental", False, False, stack.clock.now() + 600, False, None, True)
    after = sqlite_state.account("acme")
    assert after is not None
    assert (after.last_run, after.last_full_run) == (turn.last_run, turn.last_full_run)
