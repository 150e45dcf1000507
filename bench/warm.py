"""The sync function as a warm instance serves it: main.py's `sync_http` in a process of its own
(functions-framework's app, served by werkzeug in one thread: one request at a time, as the
deployed function's concurrency of 1), every Firestore client and secret read of that process
metered (`sandbox.meter`). Each request is measured from outside: the process's CPU seconds
(/proc/PID/stat), the wall time, and the operations the meter counted while it was answered.

    python -m bench.warm PORT     (the served process; `WarmFunction` starts it)
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from bench.measure import ROOT

METER_PATH = "/_meter"
# What the function needs to serve `/task` (dispatch=tasks); the queue is never called by the
# runs measured here (only an unfinished turn enqueues its continuation).
TASKS_ENV = {
    "SYNC_DISPATCH": "tasks",
    "SYNC_TASKS_QUEUE": "projects/demo/locations/here/queues/runs",
    "SYNC_TASKS_SERVICE_ACCOUNT": "tasks@demo.iam.gserviceaccount.com",
    "SYNC_CLOUD_TASKS_URL": "http://127.0.0.1:9",
}


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def process_cpu_s(pid: int) -> float:
    """User and system CPU seconds of process `pid` so far, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # Fields 14 and 15 of proc(5) (utime, stime), counted from the state (field 3).
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class WarmFunction:
    """The sync function served in its own process with `env` (the sandbox's settings)."""

    def __init__(self, env: dict[str, str]) -> None:
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        variables = {**env, **TASKS_ENV, "SYNC_SYNC_FUNCTION_URL": self.url}
        self._process = subprocess.Popen(
            [sys.executable, "-m", "bench.warm", str(port)],
            cwd=ROOT,
            env=variables,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(self.url + METER_PATH, timeout=1).raise_for_status()
                return
            except httpx.HTTPError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    self._process.kill()
                    raise RuntimeError("the served function did not start") from None
                time.sleep(0.1)

    def __enter__(self) -> WarmFunction:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self._process.terminate()
        self._process.wait(timeout=30)

    def _counts(self) -> dict[str, Any]:
        counted: dict[str, Any] = httpx.get(self.url + METER_PATH, timeout=10).json()
        return counted

    def task(self, body: dict[str, str]) -> dict[str, Any]:
        """One task as Cloud Tasks sends it (`POST /task`), measured: the function process's CPU
        seconds and the wall time, the operations it counted, and its answer."""
        before = self._counts()
        cpu = process_cpu_s(self._process.pid)
        started = time.perf_counter()
        answer = httpx.post(self.url + "/task", json=body, timeout=600)
        wall = time.perf_counter() - started
        cpu = process_cpu_s(self._process.pid) - cpu
        after = self._counts()
        if answer.status_code != 200:
            raise RuntimeError(f"task {body} answered {answer.status_code}: {answer.text[:2000]}")
        counted = {key: after[key] - before[key] for key in before if key != "by_collection"}
        where = {k: v - before["by_collection"].get(k, 0) for k, v in after["by_collection"].items()}
        return {**counted, "by_collection": {k: v for k, v in where.items() if v}, "cpu_s": cpu, "wall_s": wall,
                "answer": answer.json()}  # fmt: skip


def serve(port: int) -> None:
    """main.py's `sync_http`, metered, and the meter's counts at `/_meter`."""
    from flask import jsonify

    from sandbox.meter import meter_process

    meter = meter_process()
    from functions_framework import create_app

    app = create_app("sync_http", str(ROOT / "main.py"))  # type: ignore[no-untyped-call]

    def counts() -> Any:
        return jsonify({**asdict(meter.counts), "by_collection": dict(meter.by_collection)})

    app.add_url_rule(METER_PATH, "meter", counts, methods=["GET"])
    app.run("127.0.0.1", port, threaded=False)


if __name__ == "__main__":
    serve(int(sys.argv[1]))
