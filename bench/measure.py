"""What the benchmarks share: the sandbox in a process of its own, the sync run as the CLI in
another, measured from outside (wall time, user and system CPU, peak RSS), and the floors the
APIs allow."""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
ACCOUNT = "demo"
# Teamleader pages hold 100 records; Google's batch create takes 200 persons.
TEAMLEADER_PAGE = 100
GOOGLE_BATCH = 200
# Creating the "Teamleader" group: the one group call a first run cannot do without.
GOOGLE_GROUP_CALLS = 1
TEAMLEADER_CALLS_PER_MINUTE = 200


@dataclass
class Measured:
    """One process, measured from outside."""

    wall_s: float
    user_s: float
    sys_s: float
    max_rss_mib: float
    report: dict[str, Any]
    # Every report printed (a team's run prints one per Google user).
    reports: list[dict[str, Any]] = field(default_factory=list)

    @property
    def cpu_s(self) -> float:
        return self.user_s + self.sys_s


def machine() -> dict[str, Any]:
    """Where and when a figure was measured."""
    return {
        "date": datetime.now(tz=UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def first_run_shape(contacts: int) -> tuple[int, int]:
    """The companies and the bulk-imported contacts of the benches' first runs: one company per
    ten contacts, 12% of the contacts sharing one updated_at (an import)."""
    return contacts // 10, contacts * 3 // 25


def add_latency_options(parser: argparse.ArgumentParser, *, teamleader_ms: float, people_ms: float) -> None:
    """The sandbox's latency a call, as options with these defaults."""
    parser.add_argument("--teamleader-latency-ms", type=float, default=teamleader_ms)
    parser.add_argument("--people-latency-ms", type=float, default=people_ms)


def latency_options(args: argparse.Namespace) -> dict[str, float]:
    """The sandbox's options for the latency asked on the command line."""
    return {"teamleader_latency_ms": args.teamleader_latency_ms, "people_latency_ms": args.people_latency_ms}


def floors(contacts: int, companies: int, eligible: int) -> dict[str, int]:
    """The fewest calls a first run can make: every contact and company listed once, every
    company read once with the people who work there (`contacts.list` does not say who works
    where, so no cheaper way exists), and every eligible person created in full batches."""
    return {
        "teamleader": math.ceil(contacts / TEAMLEADER_PAGE) + math.ceil(companies / TEAMLEADER_PAGE) + companies,
        "google": math.ceil(eligible / GOOGLE_BATCH) + GOOGLE_GROUP_CALLS,
    }


def python_env(**extra: str) -> dict[str, str]:
    """This environment for a Python process of the sync, writing its bytecode cache as Python
    does by default (and a deployed function's instance after its first start): this machine
    sets PYTHONDONTWRITEBYTECODE, which any value, "0" too, turns on, and which would have every
    process compile the sync's modules again."""
    env = {**os.environ, **extra}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


class SandboxProcess:
    """`python -m sandbox` with seeded data, in a process of its own; its settings file and
    the sync's state in a temporary directory."""

    def __init__(
        self,
        contacts: int,
        companies: int,
        *,
        seed: int = 7,
        bulk_import: int = 0,
        options: dict[str, float],
        env: dict[str, str] | None = None,
    ) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="sync-bench-"))
        args = [
            sys.executable,
            "-m",
            "sandbox",
            f"--contacts={contacts}",
            f"--companies={companies}",
            f"--seed={seed}",
            f"--bulk-import={bulk_import}",
            f"--write-env={self.directory}",
        ]
        args += [f"--{name.replace('_', '-')}={value}" for name, value in options.items()]
        self._process = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        assert self._process.stdout is not None
        printed = ""
        for line in self._process.stdout:
            printed += line
            if line.startswith("}"):
                break
        self.info: dict[str, Any] = json.loads(printed)
        self.env = python_env()
        for line in (self.directory / "sync.env").read_text().splitlines():
            name, _, value = line.partition("=")
            self.env[name] = value
        # The sync keeps its own calls within the limit it is told: the sandbox's, here.
        self.env["SYNC_TEAMLEADER_CALLS_PER_MINUTE"] = str(options.get("rate_limit", TEAMLEADER_CALLS_PER_MINUTE))
        # Settings of the bench's own (another state store, say).
        self.env.update(env or {})
        self.sync(["accounts", "add", ACCOUNT])

    def __enter__(self) -> SandboxProcess:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self._process.terminate()
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            # Millions of stored persons (200 users' first run) take the sandbox long to let go.
            self._process.kill()
            self._process.wait()

    def add_google_user(self, user: str) -> None:
        """Another Google user of the connection's team: registered, connected, its token stored."""
        from sync.secrets.localfile import LocalFileSecrets
        from sync.state.connections import new_destination

        self.sync(["accounts", "add", ACCOUNT, "--user", user])
        token = self.control("people", "add_user", {"user": user})["refresh_token"]
        secrets = LocalFileSecrets(self.env["SYNC_SECRETS_FILE"])
        secrets.write(new_destination(ACCOUNT, user).google_secret, json.dumps({"refresh_token": token}))

    def control(self, server: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """A sandbox control endpoint (`/_sandbox/...`) of one server."""
        url = self.info[f"{server}_url"] + "/_sandbox/" + path
        answer = httpx.post(url, json=body, timeout=60) if body is not None else httpx.get(url, timeout=60)
        answer.raise_for_status()
        return answer.json() if answer.content else None

    def sync(self, args: list[str], *, meter_to: Path | None = None) -> Measured:
        """`python -m sync ARGS` against this sandbox, measured from outside; with `meter_to`,
        its Firestore operations and secret accesses counted into that file
        (`sandbox.meter`)."""
        started = time.perf_counter()
        command = ["sandbox.meter", str(meter_to), "--"] if meter_to else ["sync"]
        process = subprocess.Popen(
            [sys.executable, "-m", *command, *args],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert process.stdout is not None
        out = process.stdout.read()
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        if process.returncode != 0:
            raise RuntimeError(f"sync {' '.join(args)} exited {process.returncode}: {out[-2000:]}")
        # Not a terminal: the CLI prints each report as indented JSON after plain progress lines.
        reports = _json_objects(out)
        # ru_maxrss is in KiB on Linux.
        return Measured(
            wall, usage.ru_utime, usage.ru_stime, usage.ru_maxrss / 1024, reports[0] if reports else {}, reports
        )


def _json_objects(out: str) -> list[dict[str, Any]]:
    """The JSON objects that start a line of the output, in order."""
    decoder, found, at = json.JSONDecoder(), [], 0
    while (start := ("\n" + out).find("\n{", at)) != -1:
        value, end = decoder.raw_decode(out, start)
        found.append(value)
        at = end
    return found


def write_json(path: Path | None, figures: dict[str, Any]) -> None:
    """Keep the figures, with the machine they were measured on."""
    if path is not None:
        path.write_text(json.dumps({"machine": machine(), **figures}, indent=2, default=_plain))


def _plain(value: Any) -> Any:
    if isinstance(value, Measured):
        return asdict(value)
    raise TypeError(type(value).__name__)
