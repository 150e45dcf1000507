"""The dispatch benchmark's live companion: the simulation's model (bench/dispatch_sim.py) checked
with real processes and real seconds, small enough for a 2-core machine. Usage:

    .venv/bin/python bench/dispatch_live.py [--connections 30] [--workers 4] [--json bench/results/dispatch_live.json]

The Teamleader, People and Cloud Tasks sandboxes serve from this process (which does nothing else
while a path runs); the sync function is main.py's `sync_http` served by functions-framework
(gunicorn) in its own process, SQLite state and the local secrets file (the one-machine setup).
`--connections` connections of 200-2,000 contacts, each synced once beforehand (so its run is an
hourly, unchanged one), and `--firsts` first runs of `--first-contacts` contacts, all due at the
same moment, with realistic latency (Teamleader 120 ms, Google 300 ms a call, slept for real).
Then the same twice: (a) today's loop, one scheduled invocation serving them one after another;
(b) tasks, a tick enqueuing one task per due connection into the Cloud Tasks stand-in, which
dispatches over HTTP with a bearer token to the function served by `--workers` gunicorn workers
of one thread each (one request per instance), `--workers` − 1 at once (one kept for the tick).

A connection's lateness: its last API call answered (its run's end), less the moment all fell
due. The bound scales the simulation's 5 minutes for 1,000 connections to the connections here.
The simulation then runs this very scenario, each run taking the time the loop measured for it,
so that its model is compared with what the processes did.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import dispatch_sim
from bench.deployed_shape import LATENCY_MS
from bench.measure import TEAMLEADER_CALLS_PER_MINUTE, first_run_shape, write_json
from sandbox.cloudtasks import CloudTasksSandbox, QueueConfig
from sandbox.datagen import generate
from sandbox.httpserver import SandboxServer
from sandbox.stack import SandboxStack
from sync.config import settings_from
from sync.secrets.localfile import LocalFileSecrets
from sync.serve.runner import Runner
from sync.state.connections import AccountRecord
from sync.state.sqlite import SqliteState
from tests.integration.conftest import free_port, serve_function

QUEUE = "projects/demo/locations/here/queues/runs"
TASKS_ACCOUNT = "tasks@demo.iam.gserviceaccount.com"
SERVERS = ("teamleader", "people")


class Bench:
    """The sandboxes, the state and the connections every path starts from."""

    def __init__(self, connections: int, first_contacts: int, seed: int) -> None:
        self.first_contacts = first_contacts
        self.stack = SandboxStack.start(teamleader_options={"rate_limit": TEAMLEADER_CALLS_PER_MINUTE})
        self.workdir = Path(tempfile.mkdtemp(prefix="sync-bench-live-"))
        self.settings = self.stack.sync_settings(self.workdir)
        self.state = SqliteState(self.settings["SYNC_SQLITE_PATH"])
        rng = random.Random(seed)
        self.sizes = {f"c{n}": rng.randint(200, 2000) for n in range(connections)}
        for n, (name, size) in enumerate(self.sizes.items()):
            self.connect(name, size, seed + n)
        # Their first runs, without latency and eight at once to keep the preparation short:
        # afterwards each run is an hourly, unchanged one.
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(self.first_run, self.sizes))

    def first_run(self, name: str) -> None:
        secrets = LocalFileSecrets(Path(self.settings["SYNC_SECRETS_FILE"]))
        state = SqliteState(self.settings["SYNC_SQLITE_PATH"])
        Runner(settings_from(self.settings), state, secrets).run(account=name)

    def connect(self, name: str, size: int, seed: int) -> None:
        companies, bulk = first_run_shape(size)
        self.stack.connect_account(name, generate(size, companies, bulk_import=bulk, seed=seed), self.workdir)
        self.state.put_account(AccountRecord(name))

    def make_due(self, firsts: list[str]) -> None:
        """Every synced connection last ran an hour and a bit ago; the first runs are connected."""
        an_hour_ago = datetime.fromtimestamp(time.time() - 3700, tz=UTC).isoformat(timespec="seconds")
        for name in self.sizes:
            record = self.state.account(name)
            assert record is not None and record.last_status == "ok", (name, record)
            record.last_run = an_hour_ago
            self.state.put_account(record)
        for name in firsts:
            # The same data for each path's first runs: the same calls.
            self.connect(name, self.first_contacts, seed=self.first_contacts + int(name.rsplit("-", 1)[1]))

    def latency(self, on: bool) -> None:
        for server in SERVERS:
            self.stack.servers[server].faults.update({"latency_ms": LATENCY_MS[server] if on else 0.0})

    def calls_since(self, started: float, names: list[str]) -> dict[str, dict[str, Any]]:
        """Each connection's Teamleader and Google calls since `started`, and its last one's end."""
        logged = {server: [c for c in self.stack.servers[server].log.calls() if c.at >= started] for server in SERVERS}
        out: dict[str, dict[str, Any]] = {}
        for name in names:
            mine = {s: [c for c in logged[s] if c.account in (name, f"{name}@sandbox.example")] for s in SERVERS}
            ends = [c.at for s in SERVERS for c in mine[s]]
            out[name] = {**{f"{s}_calls": len(mine[s]) for s in SERVERS}, "end": max(ends) if ends else None}
        return out


def run_path(bench: Bench, label: str, workers: int, firsts: list[str]) -> dict[str, dict[str, Any]]:
    """One path from all due to all served: each connection's calls and end (seconds after due)."""
    names = [*firsts, *bench.sizes]
    env = {**bench.settings, "WORKERS": str(workers if label == "tasks" else 1), "THREADS": "1"}
    servers: list[tuple[SandboxServer, CloudTasksSandbox]] = []
    port = free_port()
    if label == "tasks":
        config = QueueConfig(max_concurrent_dispatches=workers - 1, max_dispatches_per_second=5.0, min_backoff=1.0)
        tasks = CloudTasksSandbox(bench.stack.clock, config).start()
        servers.append((SandboxServer(tasks).start(), tasks))
        env |= {
            "SYNC_DISPATCH": "tasks",
            "SYNC_TASKS_QUEUE": QUEUE,
            "SYNC_TASKS_SERVICE_ACCOUNT": TASKS_ACCOUNT,
            "SYNC_CLOUD_TASKS_URL": servers[0][0].base_url,
            "SYNC_SYNC_FUNCTION_URL": f"http://127.0.0.1:{port}",
        }
    url, process = serve_function("sync_http", {**os.environ, **env}, bench.workdir / f"{label}.log", port)
    try:
        bench.make_due(firsts)
        bench.latency(True)
        due = time.time()
        answer = httpx.post(url, json={"scheduled": True}, timeout=1800)
        assert answer.status_code == 200, answer.text
        while servers and not servers[0][1].idle():
            time.sleep(0.2)
        measured = bench.calls_since(due, names)
    finally:
        bench.latency(False)
        process.terminate()
        process.wait(30)
        for server, tasks in servers:
            tasks.stop()
            server.stop()
    for name, m in measured.items():
        record = bench.state.account(name)
        m["status"] = record.last_status if record else None
        m["end"] = m["end"] - due if m["end"] is not None else None
    return measured


def figures(measured: dict[str, dict[str, Any]], firsts: list[str], bound_s: float) -> dict[str, Any]:
    """Lateness of the hourly turns (seconds), and when the first runs completed."""
    late = sorted(m["end"] for name, m in measured.items() if name not in firsts and m["end"] is not None)
    done = [measured[name]["end"] for name in firsts if measured[name]["status"] == "ok"]
    return {
        "turns": len(late),
        "within_bound": sum(1 for s in late if s <= bound_s) / len(late) if late else 0.0,
        "p50_s": statistics.median(late) if late else 0.0,
        "p95_s": statistics.quantiles(late, n=20)[18] if len(late) > 1 else 0.0,
        "first_runs_complete": len(done),
        "first_runs_done_s": max(done) if done else None,
    }


def modelled(loop: dict[str, dict[str, Any]], firsts: list[str], sizes: dict[str, int], workers: int) -> Any:
    """The simulation's loop and tasks for this scenario, each run taking the time it took in the
    live loop (the gap between its end and the one before), all due at 0."""
    order = sorted(loop, key=lambda name: loop[name]["end"])
    took = {name: loop[name]["end"] - (loop[order[i - 1]]["end"] if i else 0.0) for i, name in enumerate(order)}

    def pool() -> list[dispatch_sim.Connection]:
        big = [dispatch_sim.Connection(n, 0, took[n], None, True, took[n]) for n in firsts]
        return big + [dispatch_sim.Connection(n, sizes[n], took[n], last_run=-3700.0) for n in sizes]

    out = {}
    for label in ("loop", "tasks"):
        connections = pool()
        if label == "loop":
            dispatch_sim.loop(connections, 1.0)
        else:
            dispatch_sim.tasks(connections, 1.0, workers, 5.0)
        out[label] = {c.name: {"end": c.served[0][1], "status": "ok"} for c in connections if c.served}
    return out


def same_calls(live: dict[str, Any], sizes: dict[str, int]) -> tuple[int, int]:
    """Connections with the same Teamleader and Google calls through both paths (a first run:
    the other path's first run of the same data)."""
    loop, tasks = live["loop"]["connections"], live["tasks"]["connections"]
    pairs = [*zip(live["loop"]["firsts"], live["tasks"]["firsts"], strict=True), *((n, n) for n in sizes)]
    keys = [f"{s}_calls" for s in SERVERS]
    return sum(1 for a, b in pairs if all(loop[a][k] == tasks[b][k] for k in keys)), len(pairs)


def print_table(rows: dict[str, dict[str, Any]], firsts: int) -> None:
    print("| dispatch | turns | served within bound | p50 late s | p95 late s | first runs complete (s) |")
    print("|---|---:|---:|---:|---:|---|")
    for label, r in rows.items():
        done = f" ({r['first_runs_done_s']:.1f})" if r["first_runs_done_s"] is not None else ""
        cells = f"{r['within_bound']:.1%} | {r['p50_s']:.1f} | {r['p95_s']:.1f}"
        print(f"| {label} | {r['turns']} | {cells} | {r['first_runs_complete']} of {firsts}{done} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", type=int, default=30)
    parser.add_argument("--firsts", type=int, default=2)
    parser.add_argument("--first-contacts", type=int, default=2500)
    parser.add_argument("--workers", type=int, default=5, help="gunicorn workers (instances) for the tasks")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    started = time.monotonic()
    bench = Bench(args.connections, args.first_contacts, seed=27)
    bound_s = 300 * args.connections / 1000
    live: dict[str, Any] = {}
    try:
        for label in ("loop", "tasks"):
            firsts = [f"first{label}-{n}" for n in range(args.firsts)]
            measured = run_path(bench, label, args.workers, firsts)
            live[label] = {"figures": figures(measured, firsts, bound_s), "connections": measured, "firsts": firsts}
    finally:
        bench.stack.stop()
    model = modelled(live["loop"]["connections"], live["loop"]["firsts"], bench.sizes, args.workers)
    model_figures = {label: figures(ends, live["loop"]["firsts"], bound_s) for label, ends in model.items()}
    same = same_calls(live, bench.sizes)
    keys = [f"{s}_calls" for s in SERVERS]
    per = {k: statistics.mean(live["loop"]["connections"][n][k] for n in bench.sizes) for k in keys}
    print(
        f"{args.connections} connections of 200-2,000 contacts (hourly, unchanged) + {args.firsts} first runs of "
        f"{args.first_contacts:,}, all due at once; tasks: {args.workers} workers, {args.workers - 1} at once, 5/s; "
        f"bound {bound_s:g} s (5 min for 1,000 connections, scaled)"
    )
    rows = {f"{label}, live": live[label]["figures"] for label in live}
    print_table(rows | {f"{label}, model": model_figures[label] for label in model_figures}, args.firsts)
    print(
        f"calls the same through both paths for {same[0]} of {same[1]} connections; an hourly run: "
        f"{per['teamleader_calls']:.1f} Teamleader + {per['people_calls']:.1f} Google calls (token refreshes aside)"
    )
    print(f"wall time {time.monotonic() - started:.0f} s")
    kept = {k: v for k, v in vars(args).items() if k != "json"}
    connections = {label: live[label]["connections"] for label in live}
    write_json(
        args.json,
        {"args": kept, "bound_s": bound_s, "live": {label: live[label]["figures"] for label in live}}
        | {"model": model_figures, "calls_same": same, "calls_per_hourly_run": per, "connections": connections},
    )


if __name__ == "__main__":
    main()
