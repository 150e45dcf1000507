"""From `connect` to every contact in Google, through the deployed shape: Cloud Scheduler's
ticks, the runner's choice of due accounts, each invocation's time budget and the runs that
continue after it, at Teamleader's real 200 calls a minute and realistic latency (Teamleader
120 ms, Google 300 ms a call). Compares the shape deployed now (a tick every 5 minutes, a
29-minute budget) with the one before (hourly, 8 minutes). Also prints the first invocation's
time against its floor: its Teamleader calls at 200 a minute plus Google's latency.

Time is the sandbox's: the sync's sleeps and the latency move its clock forward instead of
passing, so an hour is measured in a couple of minutes; the real time the process spends
computing (the sandbox's included) passes too. The account is connected just after a tick (the
longest wait for the first). Usage:

    .venv/bin/python bench/deployed_shape.py [--contacts 25000] [--small 1000] \\
        [--json bench/results/deployed_shape.json]

Then three connections through one Cloud Scheduler job: two of --small contacts, synced an hour
before, are due at the tick at which the third, of --contacts, is connected. Cloud Scheduler
never runs two executions of a job at once: while an invocation works, the ticks that fall due
wait, and the next one starts when it ends (the missed ones as one). Inside an invocation the
accounts are served one after another, the one that never ran first. When does each of the two
get its hourly turn?
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.measure import TEAMLEADER_CALLS_PER_MINUTE, first_run_shape, write_json
from sandbox.datagen import generate
from sandbox.stack import SandboxStack
from sync.config import settings_from
from sync.secrets.localfile import LocalFileSecrets
from sync.serve.runner import Runner
from sync.state.connections import AccountRecord
from sync.state.sqlite import SqliteState

LATENCY_MS = {"teamleader": 120.0, "people": 300.0}
SHAPES = {
    "now: a tick every 5 min, 29-min budget": {"tick_minutes": 5, "time_budget_seconds": 1740},
    "before: hourly, 8-min budget": {"tick_minutes": 60, "time_budget_seconds": 480},
}


def _stack_with_latency() -> SandboxStack:
    stack = SandboxStack.start(teamleader_options={"rate_limit": TEAMLEADER_CALLS_PER_MINUTE})
    for server, latency in LATENCY_MS.items():
        stack.servers[server].faults.update({"latency_ms": latency, "virtual_latency": True})
    return stack


def connect_to_complete(contacts: int, tick_minutes: int, time_budget_seconds: float) -> dict[str, Any]:
    """Minutes from connecting an account until every eligible contact is in its group."""
    stack = _stack_with_latency()
    try:
        workdir = Path(tempfile.mkdtemp(prefix="sync-bench-shape-"))
        companies, bulk = first_run_shape(contacts)
        data = generate(contacts, companies, bulk_import=bulk)
        seeded = stack.connect_account("bench", data, workdir)
        shape = {"SYNC_TICK_MINUTES": str(tick_minutes), "SYNC_TIME_BUDGET_SECONDS": str(time_budget_seconds)}
        settings = settings_from({**stack.sync_settings(workdir), **shape})
        state = SqliteState(settings.sqlite_path)
        state.put_account(AccountRecord("bench"))
        secrets = LocalFileSecrets(settings.secrets_file)
        runner = Runner(settings, state, secrets, clock=stack.clock.now, sleep=stack.clock.advance)
        eligible = len(data.eligible_ids())
        connected = stack.clock.now()
        tick, invocations = connected, []
        while True:
            tick += tick_minutes * 60
            stack.clock.advance(max(0.0, tick - stack.clock.now()))
            started = stack.clock.now()
            calls_before = len(stack.servers["teamleader"].log.calls("/"))
            outcomes = runner.run(scheduled=True).accounts
            if outcomes:
                report = (outcomes[0].report or {"destinations": [{}]})["destinations"][0]
                invocations.append(
                    {
                        "started_min": (started - connected) / 60,
                        "minutes": (stack.clock.now() - started) / 60,
                        "status": outcomes[0].status,
                        "teamleader_calls": len(stack.servers["teamleader"].log.calls("/")) - calls_before,
                        "google_calls": report.get("google_calls", 0),
                    }
                )
            if len(stack.people.members(seeded.google_user, "Teamleader")) >= eligible:
                return {"minutes": (stack.clock.now() - connected) / 60, "invocations": invocations}
    finally:
        stack.stop()


def three_connections(contacts: int, small: int, tick_minutes: int = 5, budget: float = 1740) -> dict[str, Any]:
    """Minutes from the tick at which the small connections are due to the end of each of their
    runs, over the two hours from the big one's connection, ticks as Cloud Scheduler runs them."""
    stack = _stack_with_latency()
    try:
        workdir = Path(tempfile.mkdtemp(prefix="sync-bench-three-"))
        shape = {"SYNC_TICK_MINUTES": str(tick_minutes), "SYNC_TIME_BUDGET_SECONDS": str(budget)}
        settings = settings_from({**stack.sync_settings(workdir), **shape})
        state = SqliteState(settings.sqlite_path)
        runner = Runner(
            settings, state, LocalFileSecrets(settings.secrets_file), clock=stack.clock.now, sleep=stack.clock.advance
        )
        smalls = ["small-a", "small-b"]
        for seed, account in enumerate(smalls, start=11):
            few, few_bulk = first_run_shape(small)
            stack.connect_account(account, generate(small, few, bulk_import=few_bulk, seed=seed), workdir)
            state.put_account(AccountRecord(account))
        runner.run(scheduled=True)  # their first runs, an hour before
        tick = stack.clock.now()
        while not all(runner.is_due(r) for r in state.accounts()):
            tick += tick_minutes * 60
            stack.clock.advance(max(0.0, tick - stack.clock.now()))
        companies, bulk = first_run_shape(contacts)
        stack.connect_account("big", generate(contacts, companies, bulk_import=bulk), workdir)
        state.put_account(AccountRecord("big"))
        due, invocations = tick, []
        served: dict[str, list[dict[str, Any]]] = {account: [] for account in [*smalls, "big"]}
        while tick < due + 2 * 3600:
            started = stack.clock.now()
            outcomes = runner.run(scheduled=True).accounts
            ended = stack.clock.now()
            for outcome in outcomes:
                record = state.account(outcome.account)
                finished = datetime.fromisoformat(record.last_run).timestamp() if record and record.last_run else ended
                served[outcome.account].append({"status": outcome.status, "done_min": (finished - due) / 60})
            if outcomes:
                invocations.append(
                    {
                        "started_min": (started - due) / 60,
                        "minutes": (ended - started) / 60,
                        "served": [o.account for o in outcomes],
                    }
                )
            # The next tick: the first scheduled one after this one, or, if it fell while this
            # invocation worked, at once when it ends.
            tick += tick_minutes * 60
            while tick + tick_minutes * 60 <= ended:
                tick += tick_minutes * 60
            stack.clock.advance(max(0.0, tick - stack.clock.now()))
        return {"contacts": contacts, "small": small, "invocations": invocations, "served": served}
    finally:
        stack.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=25_000)
    parser.add_argument("--small", type=int, default=1_000, help="contacts of each of the two connections due")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    print(
        f"{args.contacts:,} contacts connected just after a tick; "
        f"Teamleader {TEAMLEADER_CALLS_PER_MINUTE} calls a minute"
    )
    results = {}
    for label, shape in SHAPES.items():
        result = connect_to_complete(args.contacts, **shape)
        results[label] = result
        print(f"{label}: every contact in Google {result['minutes']:.1f} minutes after connect")
        for run in result["invocations"]:
            print(
                f"    tick at +{run['started_min']:5.1f} min: {run['status']:<8} {run['minutes']:5.1f} min, "
                f"{run['teamleader_calls']:,} Teamleader and {run['google_calls']:,} Google calls"
            )
    first = results[next(iter(SHAPES))]["invocations"][0]
    # A sliding minute lets the first 200 calls go at once; every later one waits its turn.
    rate_bound = max(0, first["teamleader_calls"] - TEAMLEADER_CALLS_PER_MINUTE) / TEAMLEADER_CALLS_PER_MINUTE
    floor = rate_bound + first["google_calls"] * LATENCY_MS["people"] / 60_000
    print(
        f"first invocation: {first['minutes']:.1f} min against a floor of {floor:.1f} min "
        f"({first['minutes'] / floor - 1:+.1%}): {first['teamleader_calls']:,} Teamleader calls at "
        f"{TEAMLEADER_CALLS_PER_MINUTE} a minute after the first {TEAMLEADER_CALLS_PER_MINUTE}, plus "
        f"{first['google_calls']} Google calls at {LATENCY_MS['people']:.0f} ms"
    )
    shared = three_connections(args.contacts, args.small)
    print(
        f"three connections, one job: {args.small:,} contacts twice, due at +0, when {args.contacts:,} are "
        "connected (minutes from that tick)"
    )
    for run in shared["invocations"]:
        print(
            f"    invocation at +{run['started_min']:5.1f} min, {run['minutes']:5.1f} min: {', '.join(run['served'])}"
        )
    for account, runs in shared["served"].items():
        done = ", ".join(f"{r['status']} at +{r['done_min']:.1f}" for r in runs)
        print(f"    {account}: {done}")
    write_json(
        args.json,
        {
            "contacts": args.contacts,
            "latency_ms": LATENCY_MS,
            "shapes": results,
            "floor_min": floor,
            "three_connections": shared,
        },
    )


if __name__ == "__main__":
    main()
