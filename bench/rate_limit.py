"""A first run against the sandbox at Teamleader's real rate limit (200 calls in a sliding
minute per integration), under each way the limit's headers may come. Prints, per header
shape, the Teamleader calls, how many were refused with 429 (goal: under 1%), and the time the
run took by the sandbox's clock.

Waiting is simulated by default: the sync's sleeps move the sandbox's clock forward instead of
passing, so a run that takes a quarter of an hour at the limit is measured in a minute or two
and the rate window sees the same calls at the same (sandbox) moments. `--real-time` sleeps
for real. Usage:

    .venv/bin/python bench/rate_limit.py [--contacts 25000] [--headers documented,reset_only,retry_after,bare]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.measure import write_json
from sandbox.datagen import generate
from sandbox.stack import SandboxStack
from sync.config import settings_from
from sync.engine import EngineOptions
from sync.secrets.localfile import LocalFileSecrets
from sync.serve.wiring import run_connection
from sync.state.connections import AccountRecord
from sync.state.sqlite import SqliteState

RATE_LIMIT = 200
HEADER_SHAPES = ("documented", "reset_only", "retry_after", "bare")


def measure(
    contacts: int, companies: int | None, headers: str, window: str, real_time: bool
) -> dict[str, float | int | str]:
    """One first run under one header shape and one reading of the window; its figures."""
    options = {"rate_limit": RATE_LIMIT, "rate_headers": headers, "rate_window": window}
    stack = SandboxStack.start(teamleader_options=options)
    try:
        workdir = Path(tempfile.mkdtemp(prefix="sync-bench-rate-"))
        data = generate(contacts, companies, bulk_import=3000)
        stack.connect_account("bench", data, workdir)
        settings = settings_from(stack.sync_settings(workdir))
        started_at, wall_started = stack.clock.now(), time.perf_counter()
        connection = run_connection(
            settings,
            AccountRecord("bench"),
            state=SqliteState(settings.sqlite_path),
            secrets=LocalFileSecrets(settings.secrets_file),
            options=EngineOptions(),
            clock=stack.clock.now,
            sleep=time.sleep if real_time else stack.clock.advance,
        )
        report = connection.destinations[0]
        calls = stack.servers["teamleader"].log.calls("/")
        refused = sum(1 for call in calls if call.status == 429)
        minutes = (stack.clock.now() - started_at) / 60
        return {
            "headers": headers,
            "window": window,
            "status": report.status,
            "created": report.created,
            "teamleader_calls": len(calls),
            "refused_429": refused,
            "refused_share": refused / len(calls),
            "minutes_by_sandbox_clock": minutes,
            # A sliding minute lets the first calls go at once; every later one waits its turn.
            "floor_minutes": max(0, len(calls) - refused - RATE_LIMIT) / RATE_LIMIT,
            "bench_seconds": time.perf_counter() - wall_started,
        }
    finally:
        stack.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=25_000)
    parser.add_argument("--companies", type=int, default=None, help="default: one per ten contacts")
    parser.add_argument("--headers", default="documented", help=f"comma-separated, of {', '.join(HEADER_SHAPES)}")
    parser.add_argument("--windows", default="sliding", help="comma-separated, of sliding, fixed (a clock minute)")
    parser.add_argument("--real-time", action="store_true", help="sleep for real instead of moving the clock")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    shapes = [shape.strip() for shape in args.headers.split(",") if shape.strip()]
    if unknown := set(shapes) - set(HEADER_SHAPES):
        parser.error(f"unknown header shapes: {', '.join(sorted(unknown))}")
    print(f"{args.contacts:,} contacts, Teamleader limit {RATE_LIMIT} calls a sliding minute")
    print(
        f"{'headers':<12} {'window':<8} {'status':<7} {'calls':>6} {'429s':>5} {'share':>7} {'minutes':>8} {'floor':>6}"
    )
    rows = []
    for shape, window in [(s, w) for w in args.windows.split(",") for s in shapes]:
        row = measure(args.contacts, args.companies, shape, window, args.real_time)
        rows.append(row)
        print(
            f"{shape:<12} {window:<8} {row['status']:<7} {row['teamleader_calls']:>6,} {row['refused_429']:>5} "
            f"{row['refused_share']:>7.2%} {row['minutes_by_sandbox_clock']:>8.1f} {row['floor_minutes']:>6.1f}"
        )
    print("minutes: the run by the sandbox's clock; floor: the calls answered after the first 200, at 200 a minute")
    write_json(args.json, {"contacts": args.contacts, "rate_limit": RATE_LIMIT, "runs": rows})


if __name__ == "__main__":
    main()
