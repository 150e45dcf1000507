"""A run says what it is doing and, when it waits, why and for how long: on a terminal, and
in the log of a run nobody watches. The run is paced by the sync's own limit (the sandbox
takes far more), on the sandbox's clock: what is asserted is what was said, never a time."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import pytest

from sandbox.datagen import generate
from sandbox.stack import SandboxStack
from sync.progress import Step, Wait
from sync.serve.runner import Runner
from sync.state.port import StateStore
from tests.harness import Harness
from tests.integration.test_companies import synced_with_a_busy_company


class Heard:
    """A progress sink that keeps what it is told: each wait with the step before it."""

    def __init__(self) -> None:
        self.steps: list[Step] = []
        self.waits: list[tuple[Wait, Step]] = []

    def step(self, step: Step) -> None:
        self.steps.append(step)

    def waiting(self, wait: Wait) -> None:
        self.waits.append((wait, self.steps[-1]))


def paced(stack: SandboxStack, state: StateStore, tmp_path: Path) -> Harness:
    """An account of 80 companies whose run keeps to 30 Teamleader calls a minute."""
    harness = Harness.create(stack, state, generate(600, 80, seed=51), tmp_path)
    harness.settings = harness.settings.model_copy(update={"teamleader_calls_per_minute": 30})
    return harness


def test_a_paced_run_announces_each_wait_with_its_cause(
    stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path
) -> None:
    """The limit is reached while companies are read: the run says it waits for Teamleader's
    limit, naming it. A 429 from each API is announced as that API's request to slow down."""
    harness = paced(stack, sqlite_state, tmp_path)
    stack.servers["teamleader"].faults.update(
        {"outage_path": "/companies.info", "outage_next": 1, "outage_status": 429}
    )
    stack.servers["people"].faults.update(
        {"outage_path": "/v1/people:batchCreateContacts", "outage_next": 1, "outage_status": 429}
    )
    heard = Heard()
    report = harness.run_all(progress=heard)
    assert report.status == "ok"
    causes = {wait.cause: (wait, step) for wait, step in reversed(heard.waits)}
    limited, reading = causes["teamleader_limit"]
    assert reading.phase == "companies"
    assert limited.sentence().startswith("waiting for Teamleader's limit (30 calls a minute), resuming in ")
    assert causes["teamleader_refused"][0].sentence().startswith("Teamleader asked to slow down, retrying in ")
    assert causes["google_throttled"][0].sentence().startswith("Google asked to slow down, retrying in ")
    phases = list(dict.fromkeys(step.phase for step in heard.steps))
    assert phases == ["preparing", "companies", "contacts", "writing"]
    last = heard.steps[-1]
    assert (last.companies, last.contacts.done) == (80, 600)
    assert last.counts["created"] == report.destinations[0].created
    assert last.batches == {harness.destination.name: math.ceil(last.counts["created"] / 200)}


def test_contacts_read_by_id_are_counted_of_how_many_with_the_time_they_take(
    stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path
) -> None:
    """A renamed company queues its people, read again by id: then the run knows how many it
    reads, and the least time their calls take at the limit (Teamleader's listings say
    neither)."""
    harness, company, people = synced_with_a_busy_company(stack, sqlite_state, tmp_path, 52)
    stack.teamleader.put_company("acme", {**company, "name": "Hernoemd NV"})
    heard = Heard()
    harness.run_all(progress=heard)
    by_id = next(step for step in heard.steps if step.contacts.total is not None)
    assert (by_id.phase, by_id.contacts.done) == ("contacts", 0)
    assert by_id.contacts.total is not None and by_id.contacts.total >= len(people)
    assert by_id.seconds_left == math.ceil(by_id.contacts.total / 100) * 60 / 200
    handed = [step for step in heard.steps if step.contacts.done == by_id.contacts.total]
    assert f"contacts {by_id.contacts.total} of {by_id.contacts.total}" in handed[0].done()
    assert handed[0].seconds_left is None


def test_a_run_in_the_cloud_logs_its_wait_and_its_cause(
    stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A run nobody watches (the runner, as the Cloud Function makes it) says in its log what
    it waits for, at INFO, as a sentence and as fields."""
    harness = paced(stack, sqlite_state, tmp_path)
    runner = Runner(harness.settings, harness.state, harness.secrets, clock=stack.clock.now, sleep=stack.clock.advance)
    with caplog.at_level(logging.INFO, logger="sync.progress"):
        runner.run(account="acme")
    said = [r for r in caplog.records if r.name == "sync.progress"]
    waited = [r for r in said if "waiting" in getattr(r, "progress", {})]
    assert waited, [r.getMessage() for r in said]
    assert waited[0].levelno == logging.INFO
    assert "reading companies" in waited[0].getMessage()
    assert "waiting for Teamleader's limit (30 calls a minute), resuming in " in waited[0].getMessage()
    assert waited[0].progress["waiting"]["cause"] == "teamleader_limit"  # type: ignore[attr-defined]
