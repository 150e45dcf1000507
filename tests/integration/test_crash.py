"""Property 1: SIGKILL the sync process 20 times over the whole of a first run, then let it
finish. State lives in the real Firestore emulator.

Each kill is aimed at a moment where a protection matters, by holding one request at the
sandbox server until the process is dead: while a company is read; while a batch create is
at Google and not yet applied (its intent is written, nothing was created); after Google
applied a batch create whose answer never arrived; and while contacts are paged once a
cursor exists."""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from google.cloud import firestore

from sandbox.datagen import generate
from sandbox.faults import Hold
from sandbox.stack import SandboxStack
from sync.state.firestore import FirestoreState
from tests.harness import Harness, sandbox_env

CONTACTS = 8000
COMPANIES = 150
LEASE_SECONDS = 1.0
# The moments aimed at after the first two (among companies): creates first, so that a cursor
# exists, then paging among the rest.
CREATES = ["create-before"] * 6 + ["create-after"] * 7
PAGING = ["paging"] * 5
FIRST_CREATES = 7
CREATE = "/v1/people:batchCreateContacts"


@dataclass
class Kill:
    kind: str
    hold: Hold
    cursor_at_kill: bool = False
    open_intents: bool = False
    applied_unanswered: bool = False


def _start(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "sync", "run", "--account", "acme"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _arm(stack: SandboxStack, kind: str, rng: random.Random) -> Hold:
    if kind == "companies":
        return stack.servers["teamleader"].hold("/companies.info", rng.randint(5, 60))
    if kind == "paging":
        return stack.servers["teamleader"].hold("/contacts.list", rng.randint(3, 6))
    return stack.servers["people"].hold(CREATE, rng.randint(1, 2), apply=kind == "create-after")


def test_killed_first_run_resumes_without_duplicates(
    stack: SandboxStack, firestore_emulator: str, tmp_path: Path
) -> None:
    project = f"demo-crash-{uuid.uuid4().hex[:8]}"
    state = FirestoreState(firestore.Client(project=project))
    harness = Harness.create(stack, state, generate(CONTACTS, COMPANIES, seed=31), tmp_path)
    # Start with a valid access token, as after an earlier run. A kill between Teamleader's
    # answer to a refresh and the write of the rotated token loses the account's only refresh
    # token (single-use tokens leave no way around that); this test is about the sync's own
    # state, so it keeps the token refresh out of the kill window.
    tokens = stack.teamleader.issue_tokens("acme")
    harness.secrets.write(
        harness.account.teamleader_secret,
        json.dumps({**tokens, "expires_at": stack.clock.now() + tokens["expires_in"]}),
    )
    stack.servers["people"].faults.latency_ms = 20
    stack.servers["teamleader"].faults.latency_ms = 5
    env = sandbox_env(stack, harness.secrets.path.parent)
    env.update(
        {
            "SYNC_STATE_BACKEND": "firestore",
            "SYNC_FIRESTORE_PROJECT": project,
            "SYNC_CREATE_VISIBILITY_DELAY": "0",
            # A killed run's lease would keep the account for five minutes; here one run
            # follows another, so it lapses after a second (renewed every quarter second).
            "SYNC_LEASE_SECONDS": str(LEASE_SECONDS),
            "FIRESTORE_EMULATOR_HOST": firestore_emulator,
        }
    )
    rng = random.Random(2026)
    create_kills = rng.sample(CREATES, len(CREATES))
    rest = create_kills[FIRST_CREATES:] + PAGING
    plan = ["companies", "companies", *create_kills[:FIRST_CREATES], *rng.sample(rest, len(rest))]
    kills: list[Kill] = []
    entries_before = 0
    for kind in plan:
        hold = _arm(stack, kind, rng)
        process = _start(env)
        while not hold.arrived.wait(0.05):
            assert process.poll() is None, f"the run ended before its {kind} kill: " + (
                process.stderr.read().decode() if process.stderr else ""
            )
        process.kill()
        process.wait()
        hold.release()
        # What the dead run left: a cursor, an open intent, a create applied but unanswered.
        cursor_at_kill = "contacts" in state.account_state("acme").cursor
        kill = Kill(kind, hold, cursor_at_kill, bool(state.intents("acme")), hold.applied)
        kills.append(kill)
        # The next invocation comes once the dead holder's lease has lapsed.
        time.sleep(LEASE_SECONDS + 0.2)
        entries = sum(1 for _ in state.all_entries("acme"))
        assert entries >= entries_before, "a killed run lost checkpointed progress"
        entries_before = entries
    final = _start(env)
    _, err = final.communicate(timeout=300)
    assert final.returncode == 0, err.decode()

    expected = harness.expected_ids()
    ids = harness.stamped_ids()
    assert len(ids) == len(set(ids)), "duplicates in the group"
    assert set(ids) == expected
    user = stack.people.users[harness.seeded.google_user]
    assert len(user.people) == len(expected), "a person was created and later removed as a duplicate"
    assert not state.intents("acme")
    creates = stack.servers["people"].log.calls(CREATE)
    applied = [c for c in creates if c.status == 200] + [k for k in kills if k.applied_unanswered]
    # Each kill may cost the batch in flight and one partly filled batch at the restart.
    minimum = math.ceil(len(expected) / 200)
    assert len(applied) <= minimum + 2 * len(kills)
    # And the kills fell where the protections matter.
    assert len(kills) == 20
    assert sum(k.open_intents for k in kills) >= 5, "too few kills left a create intent open"
    assert sum(k.applied_unanswered for k in kills) >= 5, "too few kills after an applied, unanswered create"
    assert sum(k.applied_unanswered and k.cursor_at_kill for k in kills) >= 3
    assert sum(k.kind == "paging" and k.cursor_at_kill for k in kills) >= 3
    assert sum(k.kind == "companies" for k in kills) == 2

    print(
        f"kills={len(kills)} open-intent={sum(k.open_intents for k in kills)} "
        f"applied-unanswered={sum(k.applied_unanswered for k in kills)} "
        f"batch creates applied={len(applied)} minimum={minimum}"
    )
