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

    .venv/bin/python bench/deployed_shape.py [--contacts 25000] [--json bench/results/deployed_shape.json]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.measure import TEAMLEADER_CALLS_PER_MINUTE, first_run_shape, write_json
from sandbox.datagen import generate
from sandbox.stack import SandboxStack
from sync.config import settings_from
from sync.runner import Runner
from sync.secrets.localfile import LocalFileSecrets
from sync.state.port import AccountRecord
from sync.state.sqlite import SqliteState

LATENCY_MS = {"teamleader": 120.0, "people": 300.0}
SHAPES = {
    "now: a tick every 5 min, 29-min budget": {"tick_minutes": 5, "time_budget_seconds": 1740},
    "before: hourly, 8-min budget": {"tick_minutes": 60, "time_budget_seconds": 480},
}


def connect_to_complete(contacts: int, tick_minutes: int, time_budget_seconds: float) -> dict[str, Any]:
    """Minutes from connecting an account until every eligible contact is in its group."""
    stack = SandboxStack.start(teamleader_options={"rate_limit": TEAMLEADER_CALLS_PER_MINUTE})
    try:
        for server, latency in LATENCY_MS.items():
            stack.servers[server].faults.update({"latency_ms": latency, "virtual_latency": True})
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=25_000)
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
    write_json(args.json, {"contacts": args.contacts, "latency_ms": LATENCY_MS, "shapes": results, "floor_min": floor})


if __name__ == "__main__":
    main()
