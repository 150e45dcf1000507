"""Task names and slots, a task's body, and the queue rules the Cloud Tasks stand-in keeps
(names refused within the hour, rate and concurrency limits, back-off, attempts)."""

from __future__ import annotations

import pytest

from sandbox.cloudtasks import QueueConfig, TaskQueueCore
from sync.queue.port import TASK_ID, Task
from sync.serve.dispatch import slot, task_name
from sync.serve.task_api import BadTaskError, parse_task

NOON = 1_796_212_800.0  # 2026-12-02 12:00:00 UTC


def test_a_tick_slot_is_the_start_of_its_period() -> None:
    assert slot(NOON + 299, 300) == slot(NOON, 300) == "20261202120000"
    assert slot(NOON + 300, 300) == "20261202120500"


def test_a_task_name_starts_with_a_hash_of_its_connection_and_is_a_valid_task_id() -> None:
    name = task_name("acme/ünïcode id", "tick", "20261202120000")
    assert TASK_ID.match(name) and name.endswith("-tick-20261202120000")
    assert name == task_name("acme/ünïcode id", "tick", "20261202120000")
    assert name.split("-")[0] != task_name("acme2", "tick", "20261202120000").split("-")[0]
    assert name != task_name("acme/ünïcode id", "tick", "20261202120500")


def test_a_task_name_the_queue_would_refuse_is_refused_here() -> None:
    with pytest.raises(ValueError):
        Task("a/b", {})
    with pytest.raises(ValueError):
        Task("x" * 501, {})


def test_a_name_is_refused_while_its_task_waits_and_for_the_hour_after_it_ran() -> None:
    queue = TaskQueueCore(QueueConfig(), NOON)
    assert queue.create("t", {}, NOON)
    assert not queue.create("t", {}, NOON + 1)
    (task,) = queue.take(NOON + 1)
    queue.finish(task, 200, NOON + 2)
    assert not queue.create("t", {}, NOON + 3600)
    assert queue.create("t", {}, NOON + 3602)


def test_a_dropped_tasks_name_stays_taken() -> None:
    queue = TaskQueueCore(QueueConfig(), NOON)
    queue.create("t", {}, NOON)
    queue.drop("t", NOON)
    assert queue.take(NOON + 1) == [] and not queue.create("t", {}, NOON + 10)


def test_concurrency_and_rate_limits_hold_dispatches_back() -> None:
    queue = TaskQueueCore(QueueConfig(max_concurrent_dispatches=2, max_dispatches_per_second=1, max_burst_size=5), NOON)
    for n in range(6):
        queue.create(f"t{n}", {}, NOON)
    first = queue.take(NOON)
    assert len(first) == 2 and queue.take(NOON + 10) == []
    queue.finish(first[0], 200, NOON + 10)
    assert len(queue.take(NOON + 10)) == 1
    rated = TaskQueueCore(QueueConfig(max_dispatches_per_second=1, max_burst_size=2), NOON)
    for n in range(5):
        rated.create(f"t{n}", {}, NOON)
    assert len(rated.take(NOON)) == 2 and rated.take(NOON + 0.5) == []
    assert len(rated.take(NOON + 1)) == 1 and rated.next_due(NOON + 1) == pytest.approx(NOON + 2)


def test_a_failed_attempt_is_tried_again_after_a_growing_back_off_until_the_last_attempt() -> None:
    config = QueueConfig(min_backoff=1, max_backoff=10, max_doublings=2, max_attempts=6)
    assert [config.backoff(n) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]
    queue = TaskQueueCore(config, NOON)
    queue.create("t", {}, NOON)
    now = NOON
    for attempt in range(1, 7):
        (task,) = queue.take(now)
        assert task.attempts == attempt
        queue.finish(task, 409, now)
        now += config.backoff(attempt)
    assert queue.waiting() == 0 and task.statuses == [409] * 6


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"[]",
        b'{"task": "tick", "account": "a"}',
        b'{"task": "tick", "account": "a", "after": "yesterday"}',
        b'{"task": "tick", "account": "a", "after": "2026-12-02T12:00:00"}',
        b'{"task": "tick", "account": "", "after": ""}',
        b'{"task": "run", "account": "a", "after": ""}',
        b'{"task": "tick", "account": "a", "after": "", "user": "p@x.example"}',
        b'{"task": "person", "account": "a"}',
        b'{"task": "hints", "account": "a", "after": ""}',
        b'{"task": "hints", "account": "a", "allow_deletions": "1"}',
        b'{"task": "person", "account": "a", "user": "p@x.example", "allow_deletions": "yes"}',
        b'{"task": "tick", "account": "a", "after": "", "extra": "1"}',
        b'{"task": "tick", "account": 7, "after": ""}',
    ],
)
def test_a_body_that_is_not_a_task_is_refused(body: bytes) -> None:
    with pytest.raises(BadTaskError):
        parse_task(body)


def test_the_tasks_the_dispatcher_makes_are_read_back() -> None:
    turn = parse_task(b'{"task": "continue", "account": "a", "after": "2026-12-02T12:00:00+00:00"}')
    assert (turn.kind, turn.after) == ("continue", "2026-12-02T12:00:00+00:00")
    person = parse_task(b'{"task": "person", "account": "a", "user": "p@x.example", "allow_deletions": "1"}')
    assert (person.user, person.allow_deletions, person.after) == ("p@x.example", True, None)
