"""A Workspace's first run: every member of one Google Group (200 users by default) reached by
domain-wide delegation, one Teamleader connection, the same CRM. Prints the Teamleader calls
(the goal: one read, as for a single user), each user's Google calls and writes against the
batch floor, the most writes any user sent in a minute against the per-user quota kept
(SYNC_GOOGLE_WRITES_PER_MINUTE; the sandbox refuses past the same number, and a refused write
would show as a call over the floor), the wall time against what bounds it, and the sync
process's peak memory against the function's 512 MiB. The sandbox runs with real latency and
Teamleader's real limit in a process of its own; the sync runs as `python -m sync run` in
another, measured from outside. Usage:

    .venv/bin/python bench/delegation.py [--contacts 10000] [--users 200] [--writes-per-minute 30]
        [--teamleader-latency-ms 120] [--people-latency-ms 300] [--json bench/results/delegation.json]
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
from bench.teams import read_floor_s
from sandbox.datagen import generate
from sandbox.stack import DELEGATED_SERVICE_ACCOUNT
from sync.google.delegation import DIRECTORY_MEMBERS_SCOPE
from sync.google.people import SCOPES
from sync.state.sqlite import SqliteState

DOMAIN = "team.example"
GROUP = f"sales@{DOMAIN}"
FUNCTION_MEMORY_MIB = 512


def measure(
    contacts: int,
    users: int,
    writes_per_minute: int,
    teamleader_latency_ms: float,
    people_latency_ms: float,
    parallel: int,
) -> dict[str, Any]:
    companies = contacts // 10
    eligible = len(generate(contacts, companies, seed=7).eligible_ids())
    floor = floors(contacts, companies, eligible)
    options = {
        "rate_limit": TEAMLEADER_CALLS_PER_MINUTE,
        "teamleader_latency_ms": teamleader_latency_ms,
        "people_latency_ms": people_latency_ms,
        "write_quota_per_minute": writes_per_minute,
    }
    env = {
        "SYNC_GOOGLE_WRITES_PER_MINUTE": str(writes_per_minute),
        "SYNC_PARALLEL_DESTINATIONS": str(parallel),
        # One whole first run, measured as one: deployed, it goes on from its checkpoint in the
        # next invocation once the function's budget (480 s) is spent.
        "SYNC_TIME_BUDGET_SECONDS": "3600",
        "SYNC_LEASE_SECONDS": "3600",
    }
    with SandboxProcess(contacts, companies, options=options, env=env) as sandbox:
        members = [f"user{n:03d}@{DOMAIN}" for n in range(users)]
        workspace = {"domain": DOMAIN, "admin": f"admin@{DOMAIN}", "service_account": DELEGATED_SERVICE_ACCOUNT}
        scopes = [*SCOPES, DIRECTORY_MEMBERS_SCOPE]
        sandbox.control("people", "workspace", {**workspace, "scopes": scopes, "group": GROUP, "members": members})
        # The connection's team is the group alone: the consented user the sandbox seeded goes.
        state = SqliteState(sandbox.env["SYNC_SQLITE_PATH"])
        record = state.account(ACCOUNT)
        assert record is not None
        record.destinations = []
        state.put_account(record)
        sandbox.sync(["recipients", "group", ACCOUNT, GROUP, "--admin", f"admin@{DOMAIN}"])
        run = sandbox.sync(["run", "--account", ACCOUNT])
    lanes = run.reports
    assert len(lanes) == users, len(lanes)
    assert all(lane["status"] == "ok" and lane["created"] == eligible for lane in lanes), [r["status"] for r in lanes]
    teamleader_calls = lanes[0]["teamleader_calls"]
    writes = sorted(lane["google_writes"] for lane in lanes)
    read_s = read_floor_s(teamleader_calls, teamleader_latency_ms / 1000)
    # The writes of every user, `parallel` at a time, each user's one after another.
    writes_s = sum(writes) * people_latency_ms / 1000 / min(parallel, users)
    return {
        "contacts": contacts,
        "companies": companies,
        "eligible": eligible,
        "users": users,
        "parallel": parallel,
        "writes_per_minute": writes_per_minute,
        "latency_ms": {"teamleader": teamleader_latency_ms, "people": people_latency_ms},
        "teamleader_calls": teamleader_calls,
        "teamleader_floor": floor["teamleader"],
        "teamleader_429": lanes[0]["teamleader_rate_limited"],
        "google_floor_per_user": floor["google"],
        "google_calls_per_user": sorted(lane["google_calls"] for lane in lanes),
        "google_writes_per_user": writes,
        "wall_s": run.wall_s,
        "cpu_s": run.cpu_s,
        "max_rss_mib": run.max_rss_mib,
        "read_bound_s": read_s,
        "writes_bound_s": writes_s,
        "bound_s": max(read_s, writes_s),
    }


def print_figures(figures: dict[str, Any]) -> None:
    print(
        f"{figures['users']} Workspace users of one group × {figures['contacts']:,} contacts "
        f"({figures['companies']:,} companies, {figures['eligible']:,} eligible), "
        f"latency TL {figures['latency_ms']['teamleader']:.0f} ms / Google {figures['latency_ms']['people']:.0f} ms, "
        f"Teamleader at {TEAMLEADER_CALLS_PER_MINUTE} calls a sliding minute, "
        f"{figures['parallel']} users written at once, {figures['writes_per_minute']} writes a minute per user"
    )
    google, writes = figures["google_calls_per_user"], figures["google_writes_per_user"]
    print(f"Teamleader calls: {figures['teamleader_calls']:,} (floor {figures['teamleader_floor']:,}, one read)")
    print(f"Teamleader 429s: {figures['teamleader_429']}")
    print(f"Google calls per user: {google[0]}–{google[-1]} (floor {figures['google_floor_per_user']})")
    batches = math.ceil(figures["eligible"] / GOOGLE_BATCH)
    print(f"Google writes per user: {writes[0]}–{writes[-1]} ({batches} batch creates + the group)")
    memory = f"peak RSS {figures['max_rss_mib']:.0f} MiB of the function's {FUNCTION_MEMORY_MIB}"
    print(f"sync process: CPU {figures['cpu_s']:.1f} s, {memory}")
    over = f"{figures['wall_s'] / figures['bound_s'] - 1:+.1%}" if figures["bound_s"] else "no latency"
    print(
        f"wall {figures['wall_s']:.1f} s; bound {figures['bound_s']:.1f} s ({over}): the read within the "
        f"limit {figures['read_bound_s']:.1f} s, every user's writes {figures['parallel']} at a time "
        f"{figures['writes_bound_s']:.1f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--writes-per-minute", type=int, default=30)
    parser.add_argument("--parallel", type=int, default=20)
    add_latency_options(parser, teamleader_ms=120.0, people_ms=300.0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    figures = measure(
        args.contacts,
        args.users,
        args.writes_per_minute,
        args.teamleader_latency_ms,
        args.people_latency_ms,
        args.parallel,
    )
    print_figures(figures)
    write_json(args.json, figures)


if __name__ == "__main__":
    main()
