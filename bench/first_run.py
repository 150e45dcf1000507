"""A first run of N seeded contacts and an unchanged second run, against the sandbox, with
SQLite state. Prints wall time, calls per API and writes. Usage:

    .venv/bin/python bench/first_run.py [--contacts 25000] [--people-latency-ms 0]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sandbox.datagen import generate
from sandbox.stack import GOOGLE_CLIENT, TEAMLEADER_CLIENT, SandboxStack
from sync.config import Settings
from sync.engine import EngineOptions
from sync.secrets.localfile import LocalFileSecrets
from sync.secrets.port import GOOGLE_CLIENT_SECRET, TEAMLEADER_CLIENT_SECRET
from sync.state.port import AccountRecord
from sync.state.sqlite import SqliteState
from sync.wiring import run_account


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=25_000)
    parser.add_argument("--bulk-import", type=int, default=3000, help="contacts sharing one updated_at")
    parser.add_argument("--people-latency-ms", type=float, default=0.0)
    args = parser.parse_args()

    stack = SandboxStack.start(teamleader_options={"rate_limit": 1_000_000})
    stack.servers["people"].faults.latency_ms = args.people_latency_ms
    workdir = Path(tempfile.mkdtemp(prefix="sync-bench-"))
    started = time.perf_counter()
    data = generate(args.contacts, 0, bulk_import=args.bulk_import)
    seeded = stack.seed_account("bench", data)
    print(f"generated and loaded {args.contacts} contacts in {time.perf_counter() - started:.1f} s")
    secrets = LocalFileSecrets(workdir / "secrets.json")
    secrets.write(
        TEAMLEADER_CLIENT_SECRET, json.dumps(dict(zip(("client_id", "client_secret"), TEAMLEADER_CLIENT, strict=True)))
    )
    secrets.write(
        GOOGLE_CLIENT_SECRET, json.dumps(dict(zip(("client_id", "client_secret"), GOOGLE_CLIENT, strict=True)))
    )
    record = AccountRecord("bench")
    secrets.write(record.teamleader_secret, json.dumps({"refresh_token": seeded.teamleader_refresh_token}))
    secrets.write(record.google_secret, json.dumps({"refresh_token": seeded.google_refresh_token}))
    settings = Settings.model_validate(
        {
            "teamleader_api_url": stack.url("teamleader"),
            "teamleader_token_url": stack.url("teamleader") + "/oauth2/access_token",
            "google_api_url": stack.url("people"),
            "google_token_uri": stack.url("people") + "/token",
        }
    )
    state = SqliteState(workdir / "state.sqlite3")
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
        print(
            f"{label}: {elapsed:.1f} s, status {report.status}; read {report.read}, created {report.created}, "
            f"updated {report.updated}, skipped {report.skipped}; Teamleader calls "
            f"{len(stack.servers['teamleader'].log.calls('/'))}, Google calls {len(people_log.calls('/'))} "
            f"({len(writes)} writes); peak Python memory {peak / 2**20:.0f} MiB"
        )
    eligible = len(data.eligible_ids())
    in_group = len(stack.people.members(seeded.google_user, "Teamleader"))
    print(f"eligible contacts {eligible}, persons in the group {in_group}")
    stack.stop()


if __name__ == "__main__":
    main()
