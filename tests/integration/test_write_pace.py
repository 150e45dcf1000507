"""Each Google user's writes stay within the per-user write quota the settings name
(SYNC_GOOGLE_WRITES_PER_MINUTE): the sandbox refuses a write past its quota with 429, and a
run paced to it is never refused."""

from __future__ import annotations

from pathlib import Path

from sandbox.datagen import generate
from sandbox.stack import SandboxStack
from sync.state.port import StateStore
from tests.harness import Harness


def test_a_users_writes_keep_to_the_quota_and_wait_rather_than_be_refused(
    stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path
) -> None:
    team = Harness.create(stack, sqlite_state, generate(1_300, 20, seed=56), tmp_path)
    team.settings = team.settings.model_copy(update={"google_writes_per_minute": 3})
    stack.people.write_quota_per_minute = 3
    started = stack.clock.now()
    report = team.run()
    assert report.status == "ok" and report.created == len(team.expected_ids())
    answers = [c.status for c in stack.servers["people"].log.calls("/v1/") if c.method != "GET"]
    assert 429 not in answers
    # The group and seven batches: three a minute, so two minutes waited at least.
    assert len(answers) >= 7 and stack.clock.now() - started >= 120
