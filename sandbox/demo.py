"""`python -m sandbox demo`: start the sandbox APIs, connect a seeded account as a person would,
and sync it twice with the product's own command line. In seconds by default; `--realistic`
plays Teamleader's real limit and both APIs' latency, to watch what a first run looks like."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sandbox.datagen import generate
from sandbox.stack import SandboxStack

GROUP = "Teamleader"


@dataclass(frozen=True)
class Speed:
    """How fast the sandbox answers, and the limit the sync is told it keeps."""

    calls_per_minute: int
    teamleader_latency_ms: float
    people_latency_ms: float
    note: str


# The sandbox's own limit, told to the sync: nothing waits.
FAST = Speed(100_000, 0.0, 0.0, "the sandbox answers at once and takes 100,000 calls a minute")
# Teamleader's documented limit and the latency the benchmarks call realistic (bench/README.md).
REALISTIC = Speed(200, 120.0, 300.0, "Teamleader's 200 calls a minute, 120 ms a Teamleader call, 300 ms a Google one")


def demo(contacts: int, seed: int, speed: Speed = FAST) -> int:
    """Run the demo; answers the exit status of the last sync."""
    stack = SandboxStack.start(teamleader_options={"rate_limit": speed.calls_per_minute})
    stack.servers["teamleader"].faults.latency_ms = speed.teamleader_latency_ms
    stack.servers["people"].faults.latency_ms = speed.people_latency_ms
    workdir = Path(tempfile.mkdtemp(prefix="sync-demo-"))
    try:
        print(f"sandbox: Teamleader {stack.url('teamleader')}, People {stack.url('people')}", flush=True)
        print(f"speed: {speed.note}", flush=True)
        seeded = stack.connect_account("demo", generate(contacts, seed=seed), workdir)
        settings = {**stack.sync_settings(workdir), "SYNC_TEAMLEADER_CALLS_PER_MINUTE": str(speed.calls_per_minute)}
        env = {**os.environ, **settings}
        sync = [sys.executable, "-m", "sync"]
        subprocess.run([*sync, "accounts", "add", "demo", "--group", GROUP], env=env, check=True)
        status = 0
        for label, note in (
            ("first run", f"{contacts} Teamleader contacts into the '{GROUP}' group"),
            ("second run", "nothing changed in Teamleader, so nothing is written"),
        ):
            print(f"{label}: {note}", flush=True)
            status = subprocess.run([*sync, "run", "--account", "demo"], env=env).returncode
        members = len(stack.people.members(seeded.google_user, GROUP))
        print(f"Google now holds {members} contacts in '{GROUP}'.")
        return status
    finally:
        stack.stop()
