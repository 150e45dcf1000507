"""Today's loop against Cloud Tasks dispatch, side by side: 1,000 connections of 200-2,000
contacts, five 25,000-contact first runs connected at the start among them, two hours of Cloud
Scheduler's ticks (every 5 minutes). Usage:

    .venv/bin/python bench/dispatch.py [--instances 10] [--json bench/results/dispatch.json]

First, real runs: for 200, 1,100 and 2,000 contacts, an hourly (unchanged) run through each
path, in this process against the sandbox with realistic latency (Teamleader 120 ms, Google
300 ms a call, on the sandbox's clock as bench/deployed_shape.py does): the loop's
`Runner.run(scheduled=True)`, and the tasks' `Dispatcher.tick` whose task goes through
`parse_task` and `run_task` (the queue hands each task over at once). Their times and calls.

Then the two hours on a simulated clock (bench/dispatch_sim.py), each run taking the time
measured for its size (a first run of 25,000 contacts: bench/results/deployed_shape.json's
measured first invocation); the instances are simulated, not processes. Then, on paper, 10,000
and 100,000 connections against the published quotas (bench/dispatch_paper.py).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import dispatch_paper, dispatch_sim
from bench.deployed_shape import _stack_with_latency
from bench.measure import ROOT, first_run_shape, write_json
from sandbox.datagen import generate
from sync.config import settings_from
from sync.queue.port import Task
from sync.secrets.localfile import LocalFileSecrets
from sync.serve.dispatch import Dispatcher
from sync.serve.runner import Runner
from sync.serve.task_api import parse_task, run_task
from sync.state.connections import AccountRecord
from sync.state.sqlite import SqliteState

SIZES = (200, 1100, 2000)


class HandOver:
    """A queue that hands each task to the sync function's task handling at once."""

    def __init__(self) -> None:
        self.dispatcher: Dispatcher | None = None
        self.answers: list[int] = []

    def enqueue(self, task: Task) -> bool:
        assert self.dispatcher is not None
        status, _ = run_task(self.dispatcher, parse_task(json.dumps(task.body).encode()))
        self.answers.append(status)
        return True


def measure_runs() -> dict[int, dict[str, dict[str, float]]]:
    """An hourly run of each size through the loop and through a task: sandbox-clock seconds
    and calls."""
    stack = _stack_with_latency()
    measured: dict[int, dict[str, dict[str, float]]] = {}
    try:
        for size in SIZES:
            workdir = Path(tempfile.mkdtemp(prefix="sync-bench-dispatch-"))
            companies, bulk = first_run_shape(size)
            account = f"m{size}"
            stack.connect_account(account, generate(size, companies, bulk_import=bulk, seed=size), workdir)
            settings = settings_from(stack.sync_settings(workdir))
            state = SqliteState(settings.sqlite_path)
            state.put_account(AccountRecord(account))
            secrets = LocalFileSecrets(Path(settings.secrets_file))
            runner = Runner(settings, state, secrets, clock=stack.clock.now, sleep=stack.clock.advance)
            runner.run(scheduled=True)  # the first run, an hour before
            queue = HandOver()
            queue.dispatcher = Dispatcher(queue, runner)
            measured[size] = {}
            for path in ("loop", "tasks"):
                stack.clock.advance(3600)
                calls = {name: len(stack.servers[name].log.calls("/")) for name in ("teamleader", "people")}
                started = stack.clock.now()
                if path == "loop":
                    runner.run(scheduled=True)
                else:
                    queue.dispatcher.tick()
                measured[size][path] = {
                    "seconds": stack.clock.now() - started,
                    **{f"{name}_calls": len(stack.servers[name].log.calls("/")) - calls[name] for name in calls},
                }
    finally:
        stack.stop()
    return measured


def _work(measured: dict[int, dict[str, dict[str, float]]]) -> Any:
    """A run's seconds by size, interpolated between the measured sizes."""

    def work(contacts: int) -> float:
        low = max((s for s in SIZES if s <= contacts), default=SIZES[0])
        high = min((s for s in SIZES if s >= contacts), default=SIZES[-1])
        a, b = measured[low]["loop"]["seconds"], measured[high]["loop"]["seconds"]
        return a if high == low else a + (b - a) * (contacts - low) / (high - low)

    return work


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--instances", type=int, default=10, help="the function's max instances (tasks)")
    parser.add_argument("--rate", type=float, default=5.0, help="the queue's dispatches per second")
    parser.add_argument("--hours", type=float, default=2.0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    measured = measure_runs()
    print("an hourly run, measured (sandbox clock, realistic latency): seconds, Teamleader and Google calls")
    for size, paths in measured.items():
        cells = [
            f"{p}: {m['seconds']:.2f} s, {m['teamleader_calls']:.0f} + {m['people_calls']:.0f}"
            for p, m in paths.items()
        ]
        print(f"    {size:>5,} contacts  " + "   ".join(cells))
    shape = json.loads((ROOT / "bench/results/deployed_shape.json").read_text())
    first = next(iter(shape["shapes"].values()))["invocations"][0]
    big_s = first["minutes"] * 60
    print(f"a first run of 25,000 contacts: {first['minutes']:.1f} min (bench/results/deployed_shape.json)")
    horizon = args.hours * 3600
    results = {}
    for label in ("loop", "tasks"):
        pool = dispatch_sim.connections(args.connections, 5, big_s, _work(measured), seed=27)
        if label == "loop":
            shape_figures = dispatch_sim.loop(pool, horizon)
        else:
            shape_figures = dispatch_sim.tasks(pool, horizon, args.instances, args.rate)
        results[label] = {**dispatch_sim.figures(pool, horizon), **shape_figures}
    print(f"\n{args.connections:,} connections, {args.hours:g} h of ticks; tasks: {args.instances} instances, "
          f"{args.instances - 1} concurrent dispatches, {args.rate:g}/s")  # fmt: skip
    print("| dispatch | turns | served within 5 min of due | p50 late min | p95 late min | first runs complete (min) |")
    print("|---|---:|---:|---:|---:|---|")
    for label, r in results.items():
        done = f"{r['first_runs_complete']} of 5 ({r['first_runs_done_min']:.1f})" if r["first_runs_done_min"] else "0"
        print(
            f"| {label} | {r['turns']:,} | {r['within_5_min']:.1%} | {r['p50_min']:.1f} | {r['p95_min']:.1f} | {done} |"
        )
    paper = dispatch_paper.on_paper(measured, (10_000, 100_000))
    dispatch_paper.print_paper(paper)
    write_json(args.json, {"measured": measured, "first_run_s": big_s, "simulated": results, "paper": paper})


if __name__ == "__main__":
    main()
