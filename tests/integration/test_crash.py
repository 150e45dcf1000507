"""Property 1: SIGKILL the sync process at random moments of a 5,000-contact first run, 20
times, then let it finish. State lives in the real Firestore emulator."""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys
import time
import uuid
from pathlib import Path

from google.cloud import firestore

from sandbox.datagen import generate
from sandbox.stack import SandboxStack
from sync.state.firestore import FirestoreState
from tests.harness import Harness, sandbox_env

KILLS = 20
CONTACTS = 5000
LEASE_SECONDS = 1.0


def _calls(stack: SandboxStack) -> int:
    return sum(len(stack.servers[name].log.calls()) for name in ("teamleader", "people"))


def _kill_at_random_moment(stack: SandboxStack, process: subprocess.Popen[bytes], rng: random.Random) -> bool:
    """Kill the process after a random number (1 to 7) of its API calls have been answered,
    then a random moment more (shorter than one People call). Counting calls rather than
    seconds keeps the kill inside the run whatever the machine's speed: a process is never
    let through more than about two batches of reading and one create. False if the process
    ended first."""
    target = _calls(stack) + rng.randint(1, 7)
    while _calls(stack) < target:
        if process.poll() is not None:
            return False
        time.sleep(0.005)
    time.sleep(rng.uniform(0.0, 0.12))
    if process.poll() is not None:
        return False
    process.kill()
    process.wait()
    return True


def _start(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "sync", "run", "--account", "acme"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def test_killed_first_run_resumes_without_duplicates(
    stack: SandboxStack, firestore_emulator: str, tmp_path: Path
) -> None:
    project = f"demo-crash-{uuid.uuid4().hex[:8]}"
    state = FirestoreState(firestore.Client(project=project))
    harness = Harness.create(stack, state, generate(CONTACTS, 0, seed=31), tmp_path)
    # Start with a valid access token, as after an earlier run. A kill between Teamleader's
    # answer to a refresh and the write of the rotated token loses the account's only refresh
    # token (single-use tokens leave no way around that); this test is about the sync's own
    # state, so it keeps the token refresh out of the kill window.
    tokens = stack.teamleader.issue_tokens("acme")
    harness.secrets.write(
        harness.account.teamleader_secret,
        json.dumps({**tokens, "expires_at": stack.clock.now() + tokens["expires_in"]}),
    )
    # Slow the APIs a little so that a run lasts long enough to be killed inside.
    stack.servers["people"].faults.latency_ms = 150
    stack.servers["teamleader"].faults.latency_ms = 40
    env = sandbox_env(stack, harness.secrets.path)
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
    kills = 0
    finished_early = 0
    entries_before = 0
    while kills < KILLS:
        process = _start(env)
        if _kill_at_random_moment(stack, process, rng):
            kills += 1
            # The next invocation comes once the dead holder's lease has lapsed.
            time.sleep(LEASE_SECONDS + 0.2)
        else:
            finished_early += 1
            assert process.returncode == 0, process.stderr.read().decode() if process.stderr else ""
            break
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
    creates = [c for c in stack.servers["people"].log.calls("/v1/people:batchCreateContacts") if c.status == 200]
    # Each kill may cost the batch in flight and one partly filled batch at the restart.
    assert len(creates) <= math.ceil(len(expected) / 200) + 2 * kills
    assert kills == KILLS and finished_early == 0
    print(f"kills={kills} batch creates={len(creates)} minimum={math.ceil(len(expected) / 200)}")
