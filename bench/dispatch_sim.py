"""The dispatch benchmark's simulation: 1,000 connections' two hours under Cloud Scheduler's
ticks, served by today's loop (one invocation at a time, connections one after another) or by
Cloud Tasks (one task per due connection, several instances), on a simulated clock. What a run
costs in time comes from real runs measured by `bench/dispatch.py`; the queue is the Cloud Tasks
stand-in's own (`sandbox/cloudtasks/queue.py`: rate, concurrency, names)."""

from __future__ import annotations

import heapq
import random
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox.cloudtasks import QueueConfig, TaskQueueCore

TICK_S = 300.0
BUDGET_S = 1740.0
MIN_SLICE_S = 20.0
# Runner.is_due: a connection that synced fine waits its hour less a tick, less half a tick of
# slack; an unfinished one goes on at the next tick (a tick less half a tick).
FINE_WAIT_S = (60 - 5 - 2.5) * 60
UNFINISHED_WAIT_S = (5 - 2.5) * 60
# A task whose connection was served since it was enqueued answers at once.
SKIP_S = 0.2


@dataclass
class Connection:
    name: str
    contacts: int
    work_s: float  # an hourly run's time
    last_run: float | None
    first_run: bool = False
    left_s: float = 0.0  # a first run's work still to do
    due_at: float | None = None  # the tick at which it became due, for its lateness
    served: list[tuple[float, float]] = field(default_factory=list)  # (due tick, completed)

    def due(self, now: float) -> bool:
        if self.last_run is None:
            return True
        wait = UNFINISHED_WAIT_S if self.left_s > 0 else FINE_WAIT_S
        return now - self.last_run >= wait


def connections(count: int, big: int, big_work_s: float, work: Callable[[int], float], seed: int) -> list[Connection]:
    """`count` connections of 200-2,000 contacts, each last served at a random moment of the
    hour before the start, and `big` first runs connected at the start."""
    rng = random.Random(seed)
    steady = []
    for n in range(count - big):
        contacts = rng.randint(200, 2000)
        steady.append(Connection(f"c{n}", contacts, work(contacts), last_run=-rng.uniform(0, 3600)))
    # After its first run, a big connection's hourly run is an unchanged one (2 Teamleader calls
    # whatever the size): the largest measured.
    firsts = [Connection(f"big{n}", 25_000, work(2000), None, True, big_work_s) for n in range(big)]
    return firsts + steady


def _mark_due(pool: list[Connection], tick: float) -> None:
    for c in pool:
        if c.due_at is None and c.due(tick):
            c.due_at = tick


def _serve(c: Connection, start: float, budget_end: float) -> float:
    """Run the connection from `start`: its end (a first run stops at the budget's end)."""
    if c.left_s > 0:
        done = min(c.left_s, budget_end - start)
        c.left_s -= done
        end = start + done
    else:
        end = start + c.work_s
    c.last_run = end
    if c.left_s <= 0 and c.due_at is not None:
        c.served.append((c.due_at, end))
        c.due_at = None
    return end


def loop(pool: list[Connection], horizon: float) -> dict[str, Any]:
    """Today's shape: each tick one invocation serving every due connection in turn, the never-
    run and longest-waiting first, within the budget; a tick that falls while one works waits,
    and the missed ones start as one when it ends."""
    grid, start, invocations = 0.0, 0.0, 0
    # Past the horizon no turn falls due, and the invocations go on until the turns that fell
    # due within it are served.
    while start < horizon or any(c.due_at is not None for c in pool):
        # Every tick that fell due by now marks its turns (the missed ones fire as one).
        for passed in range(int(start // TICK_S) + 1):
            if grid - TICK_S < passed * TICK_S < horizon:
                _mark_due(pool, passed * TICK_S)
        due = sorted((c for c in pool if c.due(start)), key=lambda c: (c.last_run is not None, c.last_run or 0))
        now, budget_end = start, start + BUDGET_S
        for c in due:
            if now > budget_end - MIN_SLICE_S:
                break  # deferred: the next invocation
            now = _serve(c, now, budget_end)
        invocations += 1
        grid += TICK_S
        while grid + TICK_S <= now:
            grid += TICK_S
        start = max(grid, now)
    return {"invocations": invocations, "peak_instances": 1}


def tasks(pool: list[Connection], horizon: float, instances: int, rate: float) -> dict[str, Any]:
    """Cloud Tasks: each tick enqueues a task per due connection (named by its slot: once per
    tick); the queue dispatches within its limits to `instances - 1` instances (one kept for the
    tick); an unfinished first run enqueues its continuation at once; a task whose connection was
    served since it was enqueued ends at once."""
    queue = TaskQueueCore(QueueConfig(max_concurrent_dispatches=instances - 1, max_dispatches_per_second=rate), 0.0)
    by_name = {c.name: c for c in pool}
    finishing: list[tuple[float, int, Any]] = []
    order, now, next_tick, peak, skipped = 0, 0.0, 0.0, 0, 0
    while True:
        while finishing and finishing[0][0] <= now:
            ended, _, task = heapq.heappop(finishing)
            queue.finish(task, 200, ended)
        if next_tick <= now and next_tick < horizon:
            _mark_due(pool, next_tick)
            for c in pool:
                if c.due(next_tick):
                    queue.create(f"{c.name}-{next_tick:.0f}", (c.name, c.last_run), next_tick)
            next_tick += TICK_S
        for task in queue.take(now):
            c = by_name[task.payload[0]]
            if c.last_run != task.payload[1]:
                end, skipped = now + SKIP_S, skipped + 1
            else:
                end = _serve(c, now, now + BUDGET_S)
                if c.left_s > 0:
                    queue.create(f"{c.name}-continue-{end:.0f}", (c.name, c.last_run), end)
            order += 1
            heapq.heappush(finishing, (end, order, task))
        peak = max(peak, queue.running)
        # A full queue waits for a run to end; otherwise for its next due task or token.
        ready = queue.next_due(now) if queue.running < queue.config.max_concurrent_dispatches else None
        upcoming = [t for t in (finishing[0][0] if finishing else None, ready) if t is not None]
        if next_tick < horizon:
            upcoming.append(next_tick)
        if not upcoming:
            break
        now = max(now, min(upcoming))
    return {"tasks_created": queue.created, "names_refused": queue.refused, "skipped": skipped, "peak_instances": peak}


def figures(pool: list[Connection], horizon: float) -> dict[str, Any]:
    """Lateness (completion less the tick at which each turn fell due) over the horizon's turns."""
    late = [(end - due) / 60 for c in pool for due, end in c.served[c.first_run :] if due < horizon]
    firsts = [c.served[0][1] / 60 for c in pool if c.first_run and c.served]
    quantiles = statistics.quantiles(late, n=20) if len(late) > 1 else [0.0] * 19
    return {
        "turns": len(late),
        "within_5_min": sum(1 for m in late if m <= 5) / len(late) if late else 0.0,
        "p50_min": statistics.median(late) if late else 0.0,
        "p95_min": quantiles[18],
        "first_runs_complete": len(firsts),
        "first_runs_done_min": max(firsts) if firsts else None,
    }
