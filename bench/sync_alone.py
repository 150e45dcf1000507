"""The sync measured alone: the sandbox in its own process (with realistic latency if asked),
`python -m sync run` in another, measured from outside. For each size: a first run, an
unchanged run and a run after 1% of the contacts changed; wall time, user+system CPU, peak
RSS, and the calls to each API against the floor the APIs allow. Ends with what one deployment
serves, on paper, from these figures. Teamleader's rate limit is lifted here (its cost in time
is bench/rate_limit.py's and bench/deployed_shape.py's). Usage:

    .venv/bin/python bench/sync_alone.py [--sizes 1000,10000,25000] [--teamleader-latency-ms 120]
        [--people-latency-ms 300] [--json bench/results/sync_alone.json]
"""

from __future__ import annotations

import argparse
import math
import random
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.measure import (
    ACCOUNT,
    TEAMLEADER_CALLS_PER_MINUTE,
    Measured,
    SandboxProcess,
    add_latency_options,
    first_run_shape,
    floors,
    latency_options,
    write_json,
)
from sandbox.datagen import generate

# The function's memory (infra/terraform: function_memory) and Google's limit per user.
FUNCTION_MEMORY_MIB = 512
GOOGLE_CONTACTS_PER_USER = 25_000


def size_figures(contacts: int, latency: dict[str, float]) -> dict[str, Any]:
    """First, unchanged and 1%-changed runs of one size."""
    companies, bulk = first_run_shape(contacts)
    data = generate(contacts, companies, seed=7, bulk_import=bulk)
    eligible = sorted(data.eligible_ids())
    floor = floors(contacts, companies, len(eligible))
    runs: dict[str, Measured] = {}
    with SandboxProcess(contacts, companies, bulk_import=bulk, options={"rate_limit": 1_000_000, **latency}) as sandbox:
        runs["first"] = sandbox.sync(["run", "--account", ACCOUNT])
        runs["unchanged"] = sandbox.sync(["run", "--account", ACCOUNT])
        changed = random.Random(contacts).sample(eligible, math.ceil(len(eligible) / 100))
        for teamleader_id in changed:
            body = {"account": ACCOUNT, "id": teamleader_id, "changes": {"last_name": "Gewijzigd"}}
            sandbox.control("teamleader", "edit_contact", body)
        runs["1% changed"] = sandbox.sync(["run", "--account", ACCOUNT])
    return {"contacts": contacts, "companies": companies, "eligible": len(eligible), "floor": floor, "runs": runs}


def print_size(figures: dict[str, Any]) -> None:
    floor = figures["floor"]
    for label, run in figures["runs"].items():
        report = run.report
        teamleader, google = report["teamleader_calls"], report["google_calls"]
        against = ""
        if label == "first":
            over_tl = teamleader / floor["teamleader"] - 1
            over_g = google / floor["google"] - 1
            against = f"{floor['teamleader']:>6,} {over_tl:>+6.1%} {floor['google']:>5,} {over_g:>+6.1%}"
        print(
            f"{figures['contacts']:>7,} {label:<11} {run.wall_s:>7.1f} {run.cpu_s:>7.1f} "
            f"{run.cpu_s / figures['contacts'] * 1000:>7.3f} {run.max_rss_mib:>6.0f} "
            f"{teamleader:>6,} {google:>6,} {report['google_writes']:>6,} "
            f"{report['created'] + report['updated']:>7,}  {against}"
        )


def on_paper(results: list[dict[str, Any]]) -> list[str]:
    """What one deployment serves, from the measured costs, with its assumptions."""
    largest = max(results, key=lambda r: r["contacts"])
    smallest = min(results, key=lambda r: r["contacts"])
    rss = {r["contacts"]: r["runs"]["first"].max_rss_mib for r in (smallest, largest)}
    # Memory's growth with contacts, from the smallest and the largest size (or from nothing).
    spread = largest["contacts"] - smallest["contacts"]
    slope = (
        (rss[largest["contacts"]] - rss[smallest["contacts"]]) / spread
        if spread
        else rss[largest["contacts"]] / largest["contacts"]
    )
    base = rss[smallest["contacts"]] - slope * smallest["contacts"]
    by_memory = int((FUNCTION_MEMORY_MIB - base) / slope) if slope > 0 else GOOGLE_CONTACTS_PER_USER
    unchanged = largest["runs"]["unchanged"].wall_s
    first = largest["runs"]["first"]
    first_minutes = first.report["teamleader_calls"] / TEAMLEADER_CALLS_PER_MINUTE
    per_instance_hour = int(3600 / unchanged)
    return [
        f"peak RSS grows {slope * 1000:.1f} MiB per 1,000 contacts from {base:.0f} MiB: at the function's "
        f"{FUNCTION_MEMORY_MIB} MiB one account may hold {by_memory:,} contacts; Google stops at "
        f"{GOOGLE_CONTACTS_PER_USER:,} per user, so memory is not the limit"
        if by_memory >= GOOGLE_CONTACTS_PER_USER
        else f"peak RSS grows {slope * 1000:.1f} MiB per 1,000 contacts: memory stops an account at {by_memory:,}",
        f"an unchanged hourly run of {largest['contacts']:,} contacts takes {unchanged:.1f} s: one instance "
        f"serves about {per_instance_hour:,} such accounts an hour, three instances (function_max_instances) "
        f"{3 * per_instance_hour:,}",
        f"a first run of {largest['contacts']:,} contacts needs {first.report['teamleader_calls']:,} Teamleader "
        f"calls, {first_minutes:.1f} minutes at {TEAMLEADER_CALLS_PER_MINUTE} a minute; the limit is per "
        "Teamleader account, so first runs of different accounts do not slow each other, but they hold an "
        "instance that long",
        "assumptions: every account in its own Teamleader account, one Google user each, 10 companies per 100 "
        "contacts, 1% of contacts changing an hour; the sandbox's latency as given",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,25000")
    add_latency_options(parser, teamleader_ms=0.0, people_ms=0.0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    latency = latency_options(args)
    print(f"latency: Teamleader {args.teamleader_latency_ms:.0f} ms, Google {args.people_latency_ms:.0f} ms a call")
    print(
        f"{'contacts':>7} {'run':<11} {'wall s':>7} {'cpu s':>7} {'ms/ctc':>7} {'RSS':>6} "
        f"{'TL':>6} {'Google':>6} {'writes':>6} {'written':>7}  {'TL floor':>6} {'':>6} {'G floor':>5}"
    )
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        figures = size_figures(size, latency)
        print_size(figures)
        results.append(figures)
    print("RSS in MiB; ms/ctc: CPU (user+system) per contact of the size; floors for the first run only")
    paper = on_paper(results)
    for line in paper:
        print("on paper:", line)
    write_json(args.json, {"latency": latency, "sizes": results, "on_paper": paper})


if __name__ == "__main__":
    main()
