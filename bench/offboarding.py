"""Removing a departed person's copy of the CRM: a first run of N contacts into one Google user,
the connection disabled with `--remove-after-grace` and the grace period set to 0, then the
tick that removes the copy, measured from outside with Google's latency on. Prints Google's
calls of the removal by endpoint against the floor (one token refresh, ceil(persons/500)
deletes, one group delete), the wall time against what bounds it (those calls one after
another at the latency), the sync's CPU and peak RSS. Usage:

    .venv/bin/python bench/offboarding.py [--contacts 10000] [--people-latency-ms 300]
        [--json bench/results/offboarding.json]
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.measure import ACCOUNT, SandboxProcess, write_json
from sync.state.sqlite import SqliteState

DELETE_BATCH = 500


def measure(contacts: int, people_latency_ms: float) -> dict[str, Any]:
    companies = contacts // 10
    with SandboxProcess(contacts, companies, options={"rate_limit": 1_000_000}) as sandbox:
        first = sandbox.sync(["run", "--account", ACCOUNT])
        in_google = int(first.report["created"])
        sandbox.sync(["accounts", "disable", ACCOUNT, "--remove-after-grace"])
        sandbox.control("people", "faults", {"latency_ms": people_latency_ms})
        before = Counter(sandbox.control("people", "log"))
        sandbox.env["SYNC_REMOVAL_GRACE_HOURS"] = "0"
        removal = sandbox.sync(["run"])
        calls = Counter(sandbox.control("people", "log"))
        calls.subtract(before)
        # A group is named by its id: one line for the endpoint.
        calls = Counter({re.sub(r"/contactGroups/[^/]+$", "/contactGroups/{id}", k): n for k, n in calls.items()})
        record = SqliteState(sandbox.env["SYNC_SQLITE_PATH"]).account(ACCOUNT)
        assert record is not None
        destination = record.targets[0]
        assert destination.removed_at is not None and destination.removed_persons == in_google, destination
        again = sandbox.sync(["run"])
    floor = 1 + math.ceil(in_google / DELETE_BATCH) + 1
    made = sum(n for n in calls.values() if n > 0)
    return {
        "contacts": contacts,
        "persons_removed": destination.removed_persons,
        "people_latency_ms": people_latency_ms,
        "google_calls": {name: n for name, n in sorted(calls.items()) if n > 0},
        "google_calls_total": made,
        "google_floor": floor,
        "wall_s": removal.wall_s,
        "cpu_s": removal.cpu_s,
        "max_rss_mib": removal.max_rss_mib,
        "bound_s": made * people_latency_ms / 1000,
        "next_tick_wall_s": again.wall_s,
    }


def print_figures(figures: dict[str, Any]) -> None:
    print(
        f"removing {figures['persons_removed']:,} persons ({figures['contacts']:,} contacts), "
        f"Google latency {figures['people_latency_ms']:.0f} ms"
    )
    for name, count in figures["google_calls"].items():
        print(f"  {name:<50}{count:>6}")
    print(f"Google calls {figures['google_calls_total']} (floor {figures['google_floor']})")
    print(f"sync process: CPU {figures['cpu_s']:.1f} s, peak RSS {figures['max_rss_mib']:.0f} MiB")
    print(f"wall {figures['wall_s']:.1f} s; bound (the calls one after another) {figures['bound_s']:.1f} s")
    print(f"the next tick (nothing left to remove): {figures['next_tick_wall_s']:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--people-latency-ms", type=float, default=300.0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    figures = measure(args.contacts, args.people_latency_ms)
    print_figures(figures)
    write_json(args.json, figures)


if __name__ == "__main__":
    main()
