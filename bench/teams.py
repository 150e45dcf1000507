"""A team's first run: one Teamleader connection, N Google users, the same CRM. Prints the
Teamleader calls of the team's run beside a single user's run of the same data (the goal: the
same), each user's Google calls and writes against the batch floor, and the wall time against
what bounds it: the read, call after call at Teamleader's latency and within its limit (200
calls a sliding minute), plus one user's writes (each Google user has their own quota, and
the users are written side by side), not the users times the read. The sandbox runs with
real latency and Teamleader's real limit, in a process of its own; the sync runs as `python
-m sync run` in another, measured from outside (the single user's run, which only counts
calls, without latency or limit). Usage:

    .venv/bin/python bench/teams.py [--contacts 10000] [--destinations 20]
        [--teamleader-latency-ms 120] [--people-latency-ms 300] [--json bench/results/teams.json]
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.measure import (
    ACCOUNT,
    GOOGLE_BATCH,
    TEAMLEADER_CALLS_PER_MINUTE,
    SandboxProcess,
    add_latency_options,
    floors,
    write_json,
)
from sandbox.datagen import generate


def read_floor_s(calls: int, latency_s: float, per_minute: int = TEAMLEADER_CALLS_PER_MINUTE) -> float:
    """When the last of `calls` sequential Teamleader calls can end: each waits for the one
    before it, and for the one `per_minute` calls earlier to be a minute old (a sliding
    minute), whatever bounds it more."""
    ends: list[float] = []
    for n in range(calls):
        start = max(ends[-1] if ends else 0.0, ends[n - per_minute] + 60 - latency_s if n >= per_minute else 0.0)
        ends.append(start + latency_s)
    return ends[-1] if ends else 0.0


def measure(contacts: int, destinations: int, teamleader_latency_ms: float, people_latency_ms: float) -> dict[str, Any]:
    companies = contacts // 10
    eligible = len(generate(contacts, companies, seed=7).eligible_ids())
    floor = floors(contacts, companies, eligible)
    # One Google user alone: only its calls count here, so neither latency nor the limit.
    with SandboxProcess(contacts, companies, options={"rate_limit": 1_000_000}) as sandbox:
        single = sandbox.sync(["run", "--account", ACCOUNT])
    latency = {"teamleader_latency_ms": teamleader_latency_ms, "people_latency_ms": people_latency_ms}
    with SandboxProcess(contacts, companies, options={"rate_limit": TEAMLEADER_CALLS_PER_MINUTE, **latency}) as sandbox:
        for n in range(1, destinations):
            sandbox.add_google_user(f"member{n}@team.example")
        team = sandbox.sync(["run", "--account", ACCOUNT])
    lanes = team.reports
    assert len(lanes) == destinations, len(lanes)
    assert all(lane["status"] == "ok" and lane["created"] == eligible for lane in lanes), [r["status"] for r in lanes]
    teamleader_calls = lanes[0]["teamleader_calls"]
    one_user_writes_s = math.ceil(eligible / GOOGLE_BATCH) * people_latency_ms / 1000
    bound_s = read_floor_s(teamleader_calls, teamleader_latency_ms / 1000) + one_user_writes_s
    return {
        "contacts": contacts,
        "companies": companies,
        "eligible": eligible,
        "destinations": destinations,
        "latency_ms": {"teamleader": teamleader_latency_ms, "people": people_latency_ms},
        "teamleader_calls": {"single_user": single.report["teamleader_calls"], "team": teamleader_calls},
        "teamleader_floor": floor["teamleader"],
        "teamleader_429": lanes[0]["teamleader_rate_limited"],
        "google_floor_per_user": floor["google"],
        "google_calls_per_user": sorted(lane["google_calls"] for lane in lanes),
        "google_writes_per_user": sorted(lane["google_writes"] for lane in lanes),
        "wall_s": team.wall_s,
        "cpu_s": team.cpu_s,
        "max_rss_mib": team.max_rss_mib,
        "bound_s": bound_s,
        "destinations_times_read_s": destinations * bound_s,
    }


def print_figures(figures: dict[str, Any]) -> None:
    calls = figures["teamleader_calls"]
    print(
        f"{figures['destinations']} Google users × {figures['contacts']:,} contacts "
        f"({figures['companies']:,} companies, {figures['eligible']:,} eligible), "
        f"latency TL {figures['latency_ms']['teamleader']:.0f} ms / Google {figures['latency_ms']['people']:.0f} ms, "
        f"Teamleader at {TEAMLEADER_CALLS_PER_MINUTE} calls a sliding minute"
    )
    print(f"{'':<34}{'single user':>12}{'team':>10}{'floor':>8}")
    print(f"{'Teamleader calls':<34}{calls['single_user']:>12,}{calls['team']:>10,}{figures['teamleader_floor']:>8,}")
    google, writes = figures["google_calls_per_user"], figures["google_writes_per_user"]
    spread = f"{google[0]}–{google[-1]}"
    print(f"{'Google calls per user (min–max)':<34}{'':>12}{spread:>10}{figures['google_floor_per_user']:>8}")
    print(f"{'Google writes per user (min–max)':<34}{'':>12}{f'{writes[0]}–{writes[-1]}':>10}")
    print(f"{'Teamleader 429s':<34}{'':>12}{figures['teamleader_429']:>10}")
    print(f"sync process: CPU {figures['cpu_s']:.1f} s, peak RSS {figures['max_rss_mib']:.0f} MiB")
    over = figures["wall_s"] / figures["bound_s"] - 1
    print(
        f"wall {figures['wall_s']:.1f} s; bound (the read within the limit + one user's writes) "
        f"{figures['bound_s']:.1f} s "
        f"({over:+.1%}); users × that: {figures['destinations_times_read_s']:.0f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--destinations", type=int, default=20)
    add_latency_options(parser, teamleader_ms=120.0, people_ms=300.0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    figures = measure(args.contacts, args.destinations, args.teamleader_latency_ms, args.people_latency_ms)
    print_figures(figures)
    write_json(args.json, figures)


if __name__ == "__main__":
    main()
