"""The function's starts and its hourly run, as Cloud Run serves them: the import of `main.py`
in a fresh interpreter, the time from starting functions-framework to its first answered
request (`GET /`, every account's status, against SQLite state), and an unchanged run of an
account of N contacts answered by a warm instance (`POST ?account=…`, realistic latency: the
sandbox's is set once the first run is done). Medians of several runs. Usage:

    .venv/bin/python bench/startup.py [--runs 5] [--contacts 25000] [--json bench/results/startup.json]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.measure import ACCOUNT, ROOT, SandboxProcess, python_env, write_json

IMPORT = "import time; started = time.perf_counter(); import main; print(time.perf_counter() - started)"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def cold_import(env: dict[str, str]) -> float:
    """Seconds to import main.py (the sync and its libraries) in a fresh interpreter."""
    printed = subprocess.run([sys.executable, "-c", IMPORT], cwd=ROOT, env=env, capture_output=True, text=True)
    return float(printed.stdout.strip())


def _serve(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    framework = Path(sys.executable).with_name("functions-framework")
    server = subprocess.Popen(
        [str(framework), "--target", "sync_http", "--source", "main.py", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return server, f"http://127.0.0.1:{port}/"


def first_answer(env: dict[str, str]) -> float:
    """Seconds from starting functions-framework to its first answered request."""
    started = time.perf_counter()
    server, url = _serve(env)
    try:
        while True:
            try:
                if httpx.get(url, timeout=5).status_code == 200:
                    return time.perf_counter() - started
            except httpx.TransportError:
                time.sleep(0.01)
    finally:
        server.terminate()
        server.wait(timeout=10)


def warm_unchanged_runs(contacts: int, runs: int) -> list[float]:
    """Seconds a warm instance takes to answer an unchanged run of one account."""
    with SandboxProcess(contacts, contacts // 10, options={"rate_limit": 1_000_000}) as sandbox:
        sandbox.sync(["run", "--account", ACCOUNT])
        sandbox.control("teamleader", "faults", {"latency_ms": 120})
        sandbox.control("people", "faults", {"latency_ms": 300})
        server, url = _serve(sandbox.env)
        try:
            while True:
                try:
                    httpx.get(url, timeout=5)
                    break
                except httpx.TransportError:
                    time.sleep(0.05)
            seconds = []
            for _ in range(runs):
                started = time.perf_counter()
                answer = httpx.post(url, params={"account": ACCOUNT}, timeout=300)
                destinations = answer.json()["accounts"][0]["report"]["destinations"]
                assert destinations and all(d["google_writes"] == 0 for d in destinations), destinations
                seconds.append(time.perf_counter() - started)
            return seconds
        finally:
            server.terminate()
            server.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--contacts", type=int, default=25_000, help="the account of the warm unchanged runs")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="sync-bench-start-"))
    env = python_env(SYNC_SQLITE_PATH=str(directory / "state.sqlite3"))
    cold_import(env)  # the first one writes the bytecode cache, as the build does
    imports = [cold_import(env) for _ in range(args.runs)]
    answers = [first_answer(env) for _ in range(args.runs)]
    print(f"cold import of main.py: median {statistics.median(imports):.2f} s over {args.runs} runs")
    print(f"functions-framework start to first answered request: median {statistics.median(answers):.2f} s")
    warm = warm_unchanged_runs(args.contacts, args.runs)
    print(
        f"unchanged run of {args.contacts:,} contacts answered by a warm instance (Teamleader 120 ms, "
        f"Google 300 ms a call): median {statistics.median(warm):.2f} s"
    )
    write_json(
        args.json,
        {"import_s": imports, "first_answer_s": answers, "contacts": args.contacts, "warm_unchanged_s": warm},
    )


if __name__ == "__main__":
    main()
