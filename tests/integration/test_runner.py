"""The runner: leases on the real Firestore emulator, time budget, oldest-first order, and
isolation between accounts."""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sandbox.datagen import generate
from sandbox.httpserver import Request, Response
from sandbox.stack import SandboxStack
from sync.errors import AccountBusyError, UnknownAccountError
from sync.secrets.localfile import LocalFileSecrets
from sync.serve.runner import Invocation, Runner, heartbeat
from sync.state.connections import AccountRecord
from sync.state.port import StateStore
from tests.harness import Harness

CREATE = "/v1/people:batchCreateContacts"


def make_runner(harness: Harness, **settings: Any) -> Runner:
    configured = harness.settings.model_copy(update={"create_visibility_delay": 0, **settings})
    return Runner(
        configured, harness.state, harness.secrets, clock=harness.stack.clock.now, sleep=harness.stack.clock.advance
    )


def first_destination(invocation: Invocation) -> dict[str, Any] | None:
    """The report of the first account's first destination."""
    report = invocation.accounts[0].report
    return report["destinations"][0] if report else None


def add_account(harness: Harness, account_id: str, contacts: int, seed: int) -> None:
    """A second account in the same state and secret store as the harness's."""
    harness.stack.connect_account(account_id, generate(contacts, 0, seed=seed), harness.secrets)
    harness.state.put_account(AccountRecord(account_id))


def test_eight_concurrent_invocations_one_writer_per_account(
    stack: SandboxStack, firestore_state: StateStore, tmp_path: Path
) -> None:
    harness = Harness.create(stack, firestore_state, generate(400, 0, seed=1), tmp_path, "alpha")
    add_account(harness, "beta", 300, 2)
    stack.servers["people"].faults.latency_ms = 20
    results: list[Any] = []
    errors: list[BaseException] = []

    def invoke() -> None:
        try:
            results.append(make_runner(harness).run())
        except BaseException as exc:  # collected and asserted on below
            errors.append(exc)

    threads = [threading.Thread(target=invoke) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
        assert not thread.is_alive(), "an invocation did not end in two minutes"
    assert not errors
    for account in ("alpha", "beta"):
        outcomes = [o for inv in results for o in inv.accounts if o.account == account]
        writers = [o for o in outcomes if o.report and o.report["destinations"][0]["google_writes"] > 0]
        assert len(writers) == 1, [o.status for o in outcomes]
        assert all(o.status in ("ok", "busy") for o in outcomes)
    for user in ("alpha@sandbox.example", "beta@sandbox.example"):
        ids = [c["value"] for p in stack.people.members(user, "Teamleader") for c in p.fields["clientData"]]
        assert len(ids) == len(set(ids))


def test_a_crashed_holders_lease_expires(stack: SandboxStack, firestore_state: StateStore, tmp_path: Path) -> None:
    harness = Harness.create(stack, firestore_state, generate(50, 0, seed=3), tmp_path)
    runner = make_runner(harness, lease_seconds=300)
    assert firestore_state.acquire_lease("acme", "a-crashed-invocation", stack.clock.now(), 300)
    with pytest.raises(AccountBusyError):
        runner.run(account="acme")
    busy_everywhere = runner.run()
    assert busy_everywhere.accounts[0].status == "busy"
    stack.clock.advance(301)
    assert runner.run(account="acme").accounts[0].status == "ok"


def test_unknown_account(stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path) -> None:
    harness = Harness.create(stack, sqlite_state, generate(5, 0), tmp_path)
    with pytest.raises(UnknownAccountError):
        make_runner(harness).run(account="nobody")


def test_a_revoked_account_is_isolated_and_marked(
    stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    harness = Harness.create(stack, sqlite_state, generate(60, 0, seed=4), tmp_path, "alpha")
    add_account(harness, "beta", 60, 5)
    add_account(harness, "gamma", 60, 6)
    stack.teamleader.revoke("beta")
    invocation = make_runner(harness).run()
    statuses = {o.account: o.status for o in invocation.accounts}
    assert statuses == {"alpha": "ok", "beta": "needs_reauth", "gamma": "ok"}
    assert invocation.status == "degraded"
    record = sqlite_state.account("beta")
    assert record is not None and record.status == "needs_reauth" and "reconnect" in (record.reason or "")
    # It is not retried every hour until a person reconnects it.
    assert [r.account_id for r in make_runner(harness).due_accounts()] == ["alpha", "gamma"]


def test_accounts_are_served_oldest_first_and_the_budget_defers_the_rest(
    stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path
) -> None:
    harness = Harness.create(stack, sqlite_state, generate(30, 0, seed=7), tmp_path, "alpha")
    add_account(harness, "beta", 30, 8)
    make_runner(harness).run(account="beta")
    stack.clock.advance(10)
    assert [r.account_id for r in make_runner(harness).due_accounts()] == ["alpha", "beta"]
    # A budget too small to start anything defers every account; nothing is lost.
    deferred = make_runner(harness, time_budget_seconds=5).run()
    assert {o.status for o in deferred.accounts} == {"deferred"}
    assert deferred.status == "partial"


def test_a_rotated_token_that_cannot_be_stored_pages_a_person(
    stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    harness = Harness.create(stack, sqlite_state, generate(10, 0, seed=9), tmp_path)

    class ReadOnlySecrets(LocalFileSecrets):
        def write(self, name: str, value: str) -> None:
            raise PermissionError("read-only")

    runner = make_runner(harness)
    runner.secrets = ReadOnlySecrets(harness.secrets.path)
    with caplog.at_level(logging.INFO):
        outcome = runner.run(account="acme").accounts[0]
    assert outcome.status == "needs_reauth"
    critical = [r for r in caplog.records if r.levelno == logging.CRITICAL]
    assert len(critical) == 1
    token = json.loads(harness.secrets.read(harness.account.teamleader_secret))["refresh_token"]
    assert all(token not in r.getMessage() for r in caplog.records)


def test_deletions_are_mirrored_daily_without_asking(
    stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path
) -> None:
    harness = Harness.create(stack, sqlite_state, generate(80, 0, seed=10), tmp_path)
    runner = make_runner(harness)
    first = first_destination(runner.run())
    assert first is not None and first["mode"] == "incremental"
    victim = sorted(harness.expected_ids())[0]
    stack.teamleader.delete_contact("acme", victim)
    stack.clock.advance(3600)
    hourly = first_destination(runner.run())
    assert hourly is not None and hourly["mode"] == "incremental" and hourly["deleted"] == 0
    stack.clock.advance(23 * 3600)
    daily = first_destination(runner.run())
    assert daily is not None and daily["mode"] == "full" and daily["deleted"] == 1
    assert victim not in harness.stamped_ids()


def test_a_run_that_loses_its_lease_stops_writing(
    stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path
) -> None:
    """A run stalled past its lease, whose account another invocation has taken meanwhile,
    stops at its next renewal instead of writing beside the new holder."""
    harness = Harness.create(stack, sqlite_state, generate(1500, 0, seed=11), tmp_path)
    people = stack.servers["people"]
    original = people.dispatch
    taken: list[bool] = []

    def stall_after_the_first_create(request: Request) -> Response:
        answer = original(request)
        if request.path == CREATE and not taken:
            stack.clock.advance(61)
            taken.append(sqlite_state.acquire_lease("acme", "another-invocation", stack.clock.now(), 60))
        return answer

    people.dispatch = stall_after_the_first_create  # type: ignore[method-assign]
    outcome = make_runner(harness, lease_seconds=60).run(account="acme").accounts[0]
    assert taken == [True]
    assert (outcome.status, outcome.error) == ("failed", "LeaseLostError")
    assert len(people.log.calls(CREATE)) == 1
    assert not sqlite_state.acquire_lease("acme", "a-third", stack.clock.now(), 60), "the new holder keeps it"


def test_ticks_serve_unfinished_and_failed_accounts_soon_and_finished_ones_hourly(
    stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path
) -> None:
    """Cloud Scheduler ticks every 5 minutes: an account whose run stopped at the budget goes
    on at the next tick, one that synced fine waits its hour (without drifting), a failing one
    is tried again after 5, then 10, 20 ... minutes."""
    harness = Harness.create(stack, sqlite_state, generate(1500, 0, seed=61), tmp_path, "alpha")
    add_account(harness, "beta", 60, 62)

    def tick(minutes: float) -> list[tuple[str, str]]:
        stack.clock.advance(minutes * 60)
        invocation = make_runner(harness, time_budget_seconds=90).run(scheduled=True)
        return sorted((outcome.account, outcome.status) for outcome in invocation.accounts)

    stack.teamleader.rate_limit = 6  # alpha's first run outlasts one invocation's budget
    assert ("alpha", "partial") in tick(0)
    stack.teamleader.rate_limit = 100_000
    assert tick(5) == [("alpha", "ok"), ("beta", "ok")]
    assert tick(5) == []  # both synced minutes ago
    assert tick(45) == []
    assert tick(5) == [("alpha", "ok"), ("beta", "ok")]  # their hour, less a tick's slack
    # Beta's Teamleader token secret broken: read again once its kept access token runs out.
    harness.secrets.write(AccountRecord("beta").teamleader_secret, "{}")
    assert tick(60) == [("alpha", "ok"), ("beta", "failed")]
    assert tick(5) == [("beta", "failed")]
    assert tick(5) == []  # two failures in a row: ten minutes
    assert tick(5) == [("beta", "failed")]
    beta = sqlite_state.account("beta")
    assert beta is not None and beta.failures_in_a_row == 3
    # A person firing it by hand is served whatever the schedule says.
    assert {o.account for o in make_runner(harness).run().accounts} == {"alpha", "beta"}


def test_every_tick_says_it_ran_and_names_the_accounts_left_unserved(
    stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The alerts need something to count: a line from every scheduled tick, and one per
    account left without an ordinary run past `overdue_hours` (a revoked account here, and one
    registered hours ago that never ran), never one for an account served on time."""
    harness = Harness.create(stack, sqlite_state, generate(40, 0, seed=71), tmp_path, "alpha")
    add_account(harness, "beta", 40, 72)
    added = datetime.fromtimestamp(stack.clock.now(), tz=UTC).isoformat(timespec="seconds")
    sqlite_state.put_account(AccountRecord("gamma", enabled=True, status="needs_reauth", added_at=added))
    stack.teamleader.revoke("beta")
    caplog.set_level(logging.INFO, logger="sync.heartbeat")
    overdue_by_tick = []
    for _ in range(4):
        caplog.clear()
        make_runner(harness).run(scheduled=True)
        stack.clock.advance(3600)
        lines = [r for r in caplog.records if r.name == "sync.heartbeat"]
        assert [r.getMessage() for r in lines].count(heartbeat.TICK) == 1
        overdue_by_tick.append(sorted(getattr(r, "account", "") for r in lines if r.getMessage() == heartbeat.OVERDUE))
    # beta last ran (and was refused) at the first tick, gamma was added then: both pass three
    # hours at the fourth; alpha, served every hour, never.
    assert overdue_by_tick == [[], [], [], ["beta", "gamma"]]
    # Ticks only: an invocation fired by hand or by a webhook is no heartbeat.
    caplog.clear()
    make_runner(harness).run()
    assert not [r for r in caplog.records if r.name == "sync.heartbeat"]
