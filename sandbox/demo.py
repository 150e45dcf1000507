"""`python -m sandbox demo`: start the sandbox APIs, connect a seeded account as a person would,
and sync it twice with the product's own command line."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from sandbox.datagen import generate
from sandbox.stack import SandboxStack

GROUP = "Teamleader"


def demo(contacts: int, seed: int) -> int:
    """Run the demo; answers the exit status of the last sync."""
    stack = SandboxStack.start(teamleader_options={"rate_limit": 100_000})
    workdir = Path(tempfile.mkdtemp(prefix="sync-demo-"))
    try:
        print(f"sandbox: Teamleader {stack.url('teamleader')}, People {stack.url('people')}", flush=True)
        seeded = stack.connect_account("demo", generate(contacts, seed=seed), workdir)
        env = {**os.environ, **stack.sync_settings(workdir)}
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
