"""A cold start, as Cloud Run gives the function one: the import of `main.py` in a fresh
interpreter, and the time from starting functions-framework to its first answered request
(`GET /`, every account's status, against SQLite state). The median of several runs. Usage:

    .venv/bin/python bench/startup.py [--runs 5] [--json bench/results/startup.json]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.measure import ROOT, write_json

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


def first_answer(env: dict[str, str]) -> float:
    """Seconds from starting functions-framework to its first answered request."""
    port = _free_port()
    framework = Path(sys.executable).with_name("functions-framework")
    started = time.perf_counter()
    server = subprocess.Popen(
        [str(framework), "--target", "sync_http", "--source", "main.py", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 200:
                    return time.perf_counter() - started
            except httpx.TransportError:
                time.sleep(0.01)
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="sync-bench-start-"))
    env = {**os.environ, "SYNC_SQLITE_PATH": str(directory / "state.sqlite3"), "PYTHONDONTWRITEBYTECODE": "0"}
    cold_import(env)  # the first one writes the bytecode cache, as the build does
    imports = [cold_import(env) for _ in range(args.runs)]
    answers = [first_answer(env) for _ in range(args.runs)]
    print(f"cold import of main.py: median {statistics.median(imports):.2f} s over {args.runs} runs")
    print(f"functions-framework start to first answered request: median {statistics.median(answers):.2f} s")
    write_json(args.json, {"import_s": imports, "first_answer_s": answers})


if __name__ == "__main__":
    main()
