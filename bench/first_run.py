"""A first run of N seeded contacts and an unchanged second run, against the sandbox, with
SQLite state. Prints wall time, calls per API and writes, and the least time Teamleader's
rate limit (200 calls a minute) would add to those calls. The sandbox's own limit is lifted so
that the figures measure the sync. Usage:

    .venv/bin/python bench/first_run.py [--contacts 25000] [--companies 2500] [--people-latency-ms 0]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sandbox.datagen import generate
from sandbox.stack import SandboxStack
from sync.config import Settings
from sync.engine import EngineOptions
from sync.secrets.localfile import LocalFileSecrets
from sync.state.port import AccountRecord
from sync.state.sqlite import SqliteState
from sync.wiring import run_account

TEAMLEADER_CALLS_PER_MINUTE = 200


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=25_000)
    parser.add_argument("--companies", type=int, default=None, help="default: one per ten contacts")
    parser.add_argument("--bulk-import", type=int, default=3000, help="contacts sharing one updated_at")
    parser.add_argument("--people-latency-ms", type=float, default=0.0)
    args = parser.parse_args()

    stack = SandboxStack.start(teamleader_options={"rate_limit": 1_000_000})
    stack.servers["people"].faults.latency_ms = args.people_latency_ms
    workdir = Path(tempfile.mkdtemp(prefix="sync-bench-"))
    started = time.perf_counter()
    data = generate(args.contacts, args.companies, bulk_import=args.bulk_import)
    seeded = stack.connect_account("bench", data, workdir)
    print(
        f"generated and loaded {len(data.contacts)} contacts and {len(data.companies)} companies "
        f"in {time.perf_counter() - started:.1f} s"
    )
    env = stack.sync_settings(workdir)
    settings = Settings.model_validate({name.removeprefix("SYNC_").lower(): value for name, value in env.items()})
    secrets = LocalFileSecrets(settings.secrets_file)
    record = AccountRecord("bench")
    state = SqliteState(settings.sqlite_path)
    for label in ("first run", "second run (nothing changed)"):
        for server in stack.servers.values():
            server.log.clear()
        tracemalloc.start()
        started = time.perf_counter()
        report = run_account(settings, record, state=state, secrets=secrets, options=EngineOptions())
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        people_log = stack.servers["people"].log
        writes = [c for c in people_log.calls("/v1/") if c.method != "GET"]
        teamleader_calls = len(stack.servers["teamleader"].log.calls("/"))
        print(
            f"{label}: {elapsed:.1f} s, status {report.status}; read {report.read} contacts and "
            f"{report.companies_read} companies, created {report.created}, updated {report.updated}, "
            f"skipped {report.skipped}; Teamleader calls {teamleader_calls} (at least "
            f"{teamleader_calls / TEAMLEADER_CALLS_PER_MINUTE:.1f} min at Teamleader's rate limit), "
            f"Google calls {len(people_log.calls('/'))} ({len(writes)} writes); "
            f"peak Python memory {peak / 2**20:.0f} MiB"
        )
    eligible = len(data.eligible_ids())
    in_group = len(stack.people.members(seeded.google_user, "Teamleader"))
    print(f"eligible contacts {eligible}, persons in the group {in_group}")
    stack.stop()


if __name__ == "__main__":
    main()
