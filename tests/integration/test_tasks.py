"""Runs dispatched as Cloud Tasks tasks, end to end over real HTTP: the sync function in its own
process (functions-framework, SQLite state), the Cloud Tasks stand-in dispatching to it, and
the Teamleader and People sandboxes. A repeated tick enqueues nothing twice; a task delivered
twice runs the sync once; a lost one is enqueued again by the next tick; a leased connection's
task is answered 409 and tried again; an unfinished first run continues at once."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox.cloudtasks import CloudTasksSandbox
from sandbox.cloudtasks.service import token_claims
from sandbox.datagen import generate
from sandbox.httpserver import SandboxServer
from sandbox.stack import SandboxStack
from sync.state.connections import AccountRecord
from sync.state.sqlite import SqliteState
from tests.integration.conftest import free_port, serve_function

QUEUE = "projects/demo/locations/here/queues/runs"
TASKS_ACCOUNT = "tasks@demo.iam.gserviceaccount.com"
ACCOUNTS = ("north", "south", "east")


@dataclass
class Dispatched:
    url: str
    tasks: CloudTasksSandbox
    state: SqliteState
    stack: SandboxStack

    def tick(self) -> dict[str, Any]:
        answer = httpx.post(self.url, json={"scheduled": True}, timeout=60)
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()
        return result

    def settle(self, timeout: float = 90) -> None:
        """Until the queue holds nothing (moving its clock past each back-off)."""
        deadline = time.monotonic() + timeout
        while not self.tasks.idle():
            assert time.monotonic() < deadline, self.tasks.deliveries
            self.tasks.clock.advance(5)
            time.sleep(0.2)

    def runs(self, account: str) -> list[Any]:
        """The deliveries of the account's tasks that ran its sync (not a skip, not busy)."""
        return [
            d
            for d in self.tasks.deliveries
            if d.status == 200 and "invocation_id" in (d.answer or {}) and d.answer["accounts"]
            if d.answer["accounts"][0]["account"] == account
        ]


@pytest.fixture
def dispatched(stack: SandboxStack, tmp_path: Path) -> Iterator[Callable[..., Dispatched]]:
    processes = []
    servers = []

    def start(accounts: tuple[str, ...] = ACCOUNTS, contacts: int = 120, **env: str) -> Dispatched:
        tasks = CloudTasksSandbox(stack.clock).start()
        servers.append((SandboxServer(tasks).start(), tasks))
        settings = stack.sync_settings(tmp_path)
        state = SqliteState(settings["SYNC_SQLITE_PATH"])
        for seed, account in enumerate(accounts):
            stack.connect_account(account, generate(contacts, 8, seed=60 + seed), tmp_path)
            state.put_account(AccountRecord(account))
        port = free_port()
        variables = {
            **os.environ,
            **settings,
            "SYNC_DISPATCH": "tasks",
            "SYNC_TASKS_QUEUE": QUEUE,
            "SYNC_TASKS_SERVICE_ACCOUNT": TASKS_ACCOUNT,
            "SYNC_CLOUD_TASKS_URL": servers[-1][0].base_url,
            "SYNC_SYNC_FUNCTION_URL": f"http://127.0.0.1:{port}",
            **env,
        }
        url, process = serve_function("sync_http", variables, tmp_path / "function.log", port)
        processes.append(process)
        return Dispatched(url, tasks, state, stack)

    yield start
    for process in processes:
        process.terminate()
        process.wait(10)
    for server, tasks in servers:
        tasks.stop()
        server.stop()


def test_a_tick_enqueues_one_task_per_due_connection_and_each_runs_it(dispatched: Callable[..., Dispatched]) -> None:
    deployed = dispatched()
    assert deployed.tick() == {"enqueued": 3, "already": 0, "failed": 0}
    deployed.settle()
    for account in ACCOUNTS:
        assert len(deployed.runs(account)) == 1
        record = deployed.state.account(account)
        assert record is not None and record.last_status == "ok"
    # The task carried the tasks service account's token, for the function's address.
    claims = token_claims(deployed.tasks.sent_tokens[0])
    assert claims["email"] == TASKS_ACCOUNT and claims["aud"] == deployed.url.rstrip("/")


def test_a_repeated_tick_and_racing_ticks_enqueue_each_connection_once(dispatched: Callable[..., Dispatched]) -> None:
    deployed = dispatched(SYNC_TICK_MINUTES="60")
    deployed.tasks.faults.delay_next, deployed.tasks.faults.delay_seconds = 3, 600
    with httpx.Client() as client:
        answers = [client.post(deployed.url, json={"scheduled": True}, timeout=60).json() for _ in range(3)]
    assert sum(a["enqueued"] for a in answers) == 3 and sum(a["already"] for a in answers) == 6
    assert deployed.tasks.queue(QUEUE).created == 3


def test_a_task_delivered_twice_at_once_runs_the_sync_once(dispatched: Callable[..., Dispatched]) -> None:
    deployed = dispatched(("north",))
    deployed.tasks.faults.duplicate_next = 1
    deployed.tick()
    deployed.settle()
    # The lease: one delivery ran it; the other found it leased (409) or, come later, served.
    assert len(deployed.runs("north")) == 1
    assert len(deployed.tasks.deliveries) >= 2


def test_a_task_delivered_again_after_it_ran_runs_nothing(dispatched: Callable[..., Dispatched]) -> None:
    deployed = dispatched(("north",))
    deployed.tasks.faults.redeliver_next = 1
    deployed.tick()
    deployed.settle()
    first, second = deployed.tasks.deliveries
    assert "invocation_id" in first.answer
    assert (second.status, second.answer) == (200, {"skipped": "served since the task was enqueued"})


def test_a_lost_dispatch_is_enqueued_again_by_the_next_tick(dispatched: Callable[..., Dispatched]) -> None:
    # Slots of 3 seconds: the next tick falls in the next one.
    deployed = dispatched(("north",), SYNC_TICK_MINUTES="0.05")
    deployed.tasks.faults.lose_next = 1
    assert deployed.tick()["enqueued"] == 1
    deployed.settle()
    assert deployed.runs("north") == []
    time.sleep(3.1)
    assert deployed.tick()["enqueued"] == 1
    deployed.settle()
    assert len(deployed.runs("north")) == 1


def test_a_leased_connection_answers_409_and_is_served_when_free(dispatched: Callable[..., Dispatched]) -> None:
    deployed = dispatched(("north",))
    assert deployed.state.acquire_lease("north", "another-run", time.time(), 300)
    deployed.tick()
    deadline = time.monotonic() + 30
    while not any(d.status == 409 for d in deployed.tasks.deliveries):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert deployed.runs("north") == []
    deployed.state.release_lease("north", "another-run")
    deployed.settle()
    assert len(deployed.runs("north")) == 1


def test_an_unfinished_first_run_enqueues_its_continuation_at_once(
    dispatched: Callable[..., Dispatched], stack: SandboxStack
) -> None:
    # Teamleader slow enough that 250 contacts take longer than the budget (the runner starts
    # no connection with less than 20 s left).
    deployed = dispatched(("north",), contacts=250, SYNC_TIME_BUDGET_SECONDS="22")
    stack.servers["teamleader"].faults.update({"latency_ms": 2000})
    deployed.tick()
    deployed.settle(timeout=150)
    continued = [d for d in deployed.tasks.deliveries if "-continue-" in d.name]
    assert continued and deployed.runs("north")[-1].answer["accounts"][0]["status"] == "ok"
    record = deployed.state.account("north")
    assert record is not None and record.last_status == "ok"
