"""The sync function as a warm instance serves it: main.py's `sync_http` in a process of its own
(functions-framework's app, served by werkzeug in one thread: one request at a time, as the
deployed function's concurrency of 1), every Firestore client and secret read of that process
metered (`sandbox.meter`). Each request is measured from outside: the process's CPU seconds
(/proc/PID/stat), the wall time, the operations the meter counted while it was answered, and the
calls to both token endpoints the sandbox saw. Alone, the script measures a warm instance's
hourly turns and webhook-driven runs of one connection, after a cold first run (`bench/cost.py`
measures them as part of the month):

    .venv/bin/python bench/warm.py [--contacts 25000] [--teams 1,10] [--json bench/results/warm.json]
    python -m bench.warm serve PORT     (the served process; `WarmFunction` starts it)
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from types import TracebackType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from bench.measure import ACCOUNT, ROOT, SandboxProcess, first_run_shape, write_json

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
            [sys.executable, "-m", "bench.warm", "serve", str(port)],
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


# Requests of each kind measured on the warm instance, after the one that warms it.
WARM_REQUESTS = 3
# What each warm request is summed up by: its medians.
FIGURES = ("reads", "writes", "deletes", "secret_accesses", "secret_versions", "token_calls", "cpu_s", "wall_s")
TOKEN_ENDPOINTS = (("people", "POST /token"), ("teamleader", "POST /oauth2/access_token"))


def token_calls(sandbox: SandboxProcess) -> int:
    """Calls to both token endpoints the sandbox has answered so far."""
    return sum(sandbox.control(server, "log").get(endpoint, 0) for server, endpoint in TOKEN_ENDPOINTS)


def measure_warm(sandbox: SandboxProcess, project: str, contacts: list[str]) -> dict[str, Any]:
    """The hourly turn and the webhook's targeted run as a warm instance of the sync function
    serves them: the tasks the dispatcher makes, sent to `/task`, after one hourly turn that
    warms the instance (its imports, its clients, the secrets it keeps)."""
    from google.cloud import firestore

    from sync.state.firestore import FirestoreState

    client = firestore.Client(project=project)
    state = FirestoreState(client)

    def turn() -> dict[str, str]:
        record = state.account(ACCOUNT)
        return {"task": "tick", "account": ACCOUNT, "after": (record.last_run if record else None) or ""}

    def measured(function: WarmFunction, body: dict[str, str]) -> dict[str, Any]:
        before = token_calls(sandbox)
        figures = function.task(body)
        return {**figures, "token_calls": token_calls(sandbox) - before}

    try:
        with WarmFunction(sandbox.env) as function:
            function.task(turn())
            turns = [measured(function, turn()) for _ in range(WARM_REQUESTS)]
            webhooks = []
            for contact in contacts:
                body = {"account": ACCOUNT, "id": contact, "changes": {"last_name": "Warm Webhook"}}
                sandbox.control("teamleader", "edit_contact", body)
                receive_webhook(project, contact)
                webhooks.append(measured(function, {"task": "hints", "account": ACCOUNT}))
    finally:
        client.close()
    for each in (*turns, *webhooks):
        reports = [outcome["report"] for outcome in each["answer"]["accounts"]]
        assert reports and all(r["status"] == "ok" for r in reports), each["answer"]
    return {"warm unchanged": _median(turns), "warm webhook": _median(webhooks)}


def _median(measured: list[dict[str, Any]]) -> dict[str, Any]:
    """Each figure's median over the requests, and the last one's collections."""
    return {
        **{key: statistics.median(m[key] for m in measured) for key in FIGURES},
        "by_collection": measured[-1]["by_collection"],
        "each": [{key: m[key] for key in FIGURES} for m in measured],
    }


def receive_webhook(project: str, contact_id: str) -> dict[str, Any]:
    """What the webhook receiver does to the state for one delivery (`Receiver`: the address's
    digest, then the hint), metered in this process (FIRESTORE_EMULATOR_HOST set)."""
    from google.cloud import firestore

    from sandbox.meter import Meter
    from sync.config import Settings
    from sync.state.firestore import FirestoreState

    meter = Meter()
    client = meter.install(firestore.Client(project=project))
    try:
        state = FirestoreState(client)
        state.webhook_digest(ACCOUNT)
        state.add_hint(ACCOUNT, "contact", contact_id, Settings().webhook_hint_cap)
    finally:
        client.close()
    return {**vars(meter.counts), "by_collection": {k: v for k, v in meter.by_collection.items() if v}}


def measure(contacts: int, team: int, emulator_host: str) -> dict[str, Any]:
    """A connection with `team` Google users on the Firestore emulator: its cold first run
    (`python -m sync run`), then the warm instance's turns and webhooks."""
    from sandbox.datagen import generate

    companies, bulk = first_run_shape(contacts)
    project = f"demo-warm-{uuid.uuid4().hex[:8]}"
    env = {
        "SYNC_STATE_BACKEND": "firestore",
        "SYNC_FIRESTORE_PROJECT": project,
        "FIRESTORE_EMULATOR_HOST": emulator_host,
    }
    with SandboxProcess(contacts, companies, bulk_import=bulk, options={"rate_limit": 1_000_000}, env=env) as sandbox:
        for n in range(1, team):
            sandbox.add_google_user(f"member{n}@team.example")
        first = sandbox.sync(["run", "--account", ACCOUNT])
        assert first.reports and all(r["status"] == "ok" for r in first.reports), first.reports
        eligible = sorted(generate(contacts, companies, seed=7, bulk_import=bulk).eligible_ids())
        changed = random.Random(contacts).sample(eligible, math.ceil(len(eligible) / 100))[:WARM_REQUESTS]
        runs = measure_warm(sandbox, project, changed)
    return {"contacts": contacts, "companies": companies, "team": team, "runs": runs}


def print_runs(figures: dict[str, Any]) -> None:
    print(f"\n{figures['contacts']:,} contacts, {figures['companies']:,} companies, a team of {figures['team']}")
    print(f"{'run':<15} {'reads':>6} {'writes':>6} {'secret reads':>12} {'token calls':>11} {'CPU s':>6} {'wall s':>6}")
    for label, run in figures["runs"].items():
        print(
            f"{label:<15} {run['reads']:>6g} {run['writes']:>6g} {run['secret_accesses']:>12g} "
            f"{run['token_calls']:>11g} {run['cpu_s']:>6.2f} {run['wall_s']:>6.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=25_000)
    parser.add_argument("--teams", default="1,10", help="Google users of the connection, one measurement each")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    results = each_team(args.teams, lambda team, host: measure(args.contacts, team, host), print_runs)
    write_json(args.json, {"results": results})


def each_team(
    teams: str, measure_team: Callable[[int, str], dict[str, Any]], show: Callable[[dict[str, Any]], None]
) -> list[dict[str, Any]]:
    """`measure_team(team, emulator_host)` for each team size of `teams` ("1,10"), on one
    Firestore emulator, each one's figures shown as they come."""
    from sandbox.emulator import FirestoreEmulator

    results = []
    with FirestoreEmulator() as emulator:
        # This process's own client (the receiver's part) talks to the emulator too.
        os.environ["FIRESTORE_EMULATOR_HOST"] = emulator.host
        for team in (int(t) for t in teams.split(",")):
            results.append(measure_team(team, emulator.host))
            show(results[-1])
    return results


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
    if sys.argv[1:2] == ["serve"]:
        serve(int(sys.argv[2]))
    else:
        main()
