"""Whether the receiver's refusals tell account names apart: the receiver served as the cloud
serves it (functions-framework on gunicorn, its own process, SQLite state), a wrong token sent
alternately to an account that has webhooks, to one that has none, and to no account at all,
over one kept-alive connection. Prints the median answer time of each kind per round, in µs,
and the spread between them. Usage:

    .venv/bin/python bench/receiver_refusals.py [--requests 400] [--rounds 2] [--json FILE]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from bench.measure import ROOT, machine, write_json
from sync.state.connections import AccountRecord
from sync.state.sqlite import SqliteState
from sync.teamleader.webhook_setup import new_token

KINDS = ("acme", "quiet", "nobody")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=400, help="requests of each kind per round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--port", type=int, default=8791)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "state.sqlite3"
        state = SqliteState(path)
        _, digest = new_token()
        state.put_account(AccountRecord("acme", webhook_token_sha256=digest))
        state.put_account(AccountRecord("quiet"))
        env = {**os.environ, "SYNC_SQLITE_PATH": str(path), "SYNC_SECRETS_FILE": str(Path(folder) / "s.json")}
        command = [sys.executable, "-m", "functions_framework", "--target", "receive_webhook", "--source", "main.py"]
        process = subprocess.Popen(
            [*command, "--host", "127.0.0.1", "--port", str(args.port)], cwd=ROOT, env=env, stderr=subprocess.DEVNULL
        )
        try:
            rounds = measure(f"http://127.0.0.1:{args.port}", args.requests, args.rounds)
        finally:
            process.terminate()
            process.wait(10)
    for n, medians in enumerate(rounds, 1):
        spread = max(medians.values()) - min(medians.values())
        shown = ", ".join(f"{kind} {value:.0f} µs" for kind, value in medians.items())
        print(f"round {n}: medians of {args.requests}: {shown}; spread {spread:.0f} µs")
    write_json(args.json, {"machine": machine(), "requests": args.requests, "rounds": rounds})


def measure(base: str, requests: int, rounds: int) -> list[dict[str, float]]:
    """Median answer time (µs) of each kind of refusal, per round."""
    wrong = "w" * 43
    with httpx.Client(timeout=10) as client:
        deadline = time.monotonic() + 30
        while True:
            try:
                client.post(f"{base}/nobody/{wrong}")
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        results = []
        for _ in range(rounds):
            times: dict[str, list[float]] = {kind: [] for kind in KINDS}
            for _ in range(requests):
                for kind in KINDS:
                    started = time.perf_counter()
                    answer = client.post(f"{base}/{kind}/{wrong}")
                    times[kind].append((time.perf_counter() - started) * 1e6)
                    assert answer.status_code == 404
            results.append({kind: statistics.median(values) for kind, values in times.items()})
    return results


if __name__ == "__main__":
    main()
