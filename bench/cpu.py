"""CPU per contact of a first run, over several runs: one figure of one run on a shared 2-core
machine moves by a fifth from run to run, so the goal is judged on the median. Each run is a
first run on a fresh sandbox (its own process, no latency unless asked: latency adds waiting,
not work), `python -m sync run` measured from outside; user+system CPU of the whole sync
process, start-up included, divided by the contacts. Usage:

    .venv/bin/python bench/cpu.py [--contacts 25000] [--runs 5] [--teamleader-latency-ms 0]
        [--people-latency-ms 0] [--json bench/results/cpu.json]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.measure import (
    ACCOUNT,
    Measured,
    SandboxProcess,
    add_latency_options,
    first_run_shape,
    latency_options,
    write_json,
)

# ms of user+system CPU per contact (issue 16).
GOAL_MS = 0.5


def first_run(contacts: int, latency: dict[str, float]) -> Measured:
    """One first run of `contacts` contacts, seeded as bench/sync_alone.py seeds them."""
    companies, bulk = first_run_shape(contacts)
    options = {"rate_limit": 1_000_000, **latency}
    with SandboxProcess(contacts, companies, bulk_import=bulk, options=options) as sandbox:
        return sandbox.sync(["run", "--account", ACCOUNT])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=25_000)
    parser.add_argument("--runs", type=int, default=5)
    add_latency_options(parser, teamleader_ms=0.0, people_ms=0.0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    latency = latency_options(args)
    print(
        f"first runs of {args.contacts:,} contacts; latency: Teamleader {args.teamleader_latency_ms:.0f} ms, "
        f"Google {args.people_latency_ms:.0f} ms a call"
    )
    print(f"{'run':>3} {'wall s':>7} {'user s':>7} {'sys s':>6} {'CPU s':>6} {'ms/contact':>10} {'RSS MiB':>7}")
    runs = []
    for number in range(1, args.runs + 1):
        run = first_run(args.contacts, latency)
        if run.report.get("status") != "ok":
            raise SystemExit(f"run {number} ended {run.report.get('status')}: {run.report.get('error')}")
        runs.append(run)
        print(
            f"{number:>3} {run.wall_s:>7.1f} {run.user_s:>7.2f} {run.sys_s:>6.2f} {run.cpu_s:>6.2f} "
            f"{run.cpu_s / args.contacts * 1000:>10.3f} {run.max_rss_mib:>7.0f}"
        )
    per_contact = sorted(run.cpu_s / args.contacts * 1000 for run in runs)
    median = statistics.median(per_contact)
    verdict = "under" if median < GOAL_MS else "over"
    print(
        f"CPU per contact: median {median:.3f} ms (from {per_contact[0]:.3f} to {per_contact[-1]:.3f}), "
        f"{verdict} the goal of {GOAL_MS} ms"
    )
    write_json(
        args.json,
        {"contacts": args.contacts, "latency": latency, "runs": runs, "median_ms_per_contact": median},
    )


if __name__ == "__main__":
    main()
