"""The guard against mass deletion, and a changed scope taking effect on every contact."""

from __future__ import annotations

from pathlib import Path

from sandbox.datagen import generate
from sandbox.stack import SandboxStack
from sync.engine.guard import DELETION_FLOOR
from sync.state.port import StateStore
from tests.harness import Harness
from tests.integration.test_engine import assert_exact
from tests.integration.test_runner import make_runner


def tag(harness: Harness, teamleader_ids: list[str], *tags: str) -> None:
    for teamleader_id in teamleader_ids:
        harness.stack.teamleader.edit_contact("acme", teamleader_id, tags=list(tags))


def test_a_scope_that_suddenly_matches_nothing_is_held_not_mirrored(
    stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path
) -> None:
    """A mistyped tag scope matches no contact: the run stops before deleting more than half
    of the account's persons, the account waits for a person (hourly runs pass it by), and
    only a run told to allow deletions goes on."""
    harness = Harness.create(stack, sqlite_state, generate(400, 0, seed=42), tmp_path)
    harness.destination.tags = ["Klant"]
    sqlite_state.put_account(harness.account)
    tag(harness, sorted(harness.expected_ids()), "Klant")
    assert make_runner(harness).run().status == "ok"
    synced = len(harness.stamped_ids())
    assert synced > 200
    harness.destination.tags = ["Klnt"]
    sqlite_state.put_account(harness.account)
    stack.clock.advance(3600)
    invocation = make_runner(harness).run()
    (outcome,) = invocation.accounts
    assert (invocation.status, outcome.status) == ("failed", "held")
    assert outcome.report is not None and "--allow-deletions" in (outcome.report["destinations"][0]["problem"] or "")
    # Half the persons at most (deletions queued when it stopped are not sent), then it stopped.
    deleted = outcome.report["destinations"][0]["deleted"]
    assert synced - len(harness.stamped_ids()) == deleted <= synced // 2
    assert sqlite_state.account("acme").targets[0].status == "held"  # type: ignore[union-attr]
    stack.clock.advance(3600)
    assert make_runner(harness).run().accounts == []  # not due: it waits for a person
    assert len(harness.stamped_ids()) == synced - deleted
    allowed = make_runner(harness).run(account="acme", allow_deletions=True)
    assert allowed.status == "ok"
    assert harness.stamped_ids() == []
    assert sqlite_state.account("acme").status == "ok"  # type: ignore[union-attr]


def test_a_narrower_scope_applies_to_every_contact_without_a_hold(
    stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path
) -> None:
    """A scope changed on purpose takes effect on every contact at the next run, edited in
    Teamleader or not; leaving out less than half of them needs nobody's permission."""
    harness = Harness.create(stack, sqlite_state, generate(300, 0, seed=43), tmp_path)
    eligible = sorted(harness.expected_ids())
    kept, left_out = eligible[: len(eligible) * 2 // 3], eligible[len(eligible) * 2 // 3 :]
    tag(harness, kept, "Klant")
    tag(harness, left_out, "Lead")
    assert harness.run().created == len(eligible)
    stack.clock.advance(3600)
    # Now the cursor steps past every contact: no listing reads them again.
    assert harness.run().read > 0 and harness.run().read == 0
    harness.destination.tags = ["klant"]
    report = harness.run()
    assert (report.status, report.deleted, report.created) == ("ok", len(left_out), 0)
    assert sorted(harness.stamped_ids()) == kept
    # The scope's key was stored: the next run is incremental again.
    log = stack.servers["teamleader"].log
    log.clear()
    stack.clock.advance(3600)
    assert harness.run().read == 0
    assert len(log.calls("/contacts.list")) == 1


def test_contacts_gone_from_teamleader_en_masse_are_held_in_a_full_run(
    stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path
) -> None:
    """Every contact gone from the connected Teamleader account (the wrong account connected,
    or a bulk delete) looks the same to the sync: held, unless a person allows it. A few
    deletions never are."""
    harness = Harness.create(stack, sqlite_state, generate(200, 0, seed=44), tmp_path)
    harness.run()
    synced = sorted(harness.stamped_ids())
    for teamleader_id in synced[:DELETION_FLOOR]:
        stack.teamleader.delete_contact("acme", teamleader_id)
    stack.clock.advance(3600)
    assert harness.run(mode="full").deleted == DELETION_FLOOR
    for teamleader_id in synced[DELETION_FLOOR:]:
        stack.teamleader.delete_contact("acme", teamleader_id)
    stack.clock.advance(3600)
    held = harness.run(mode="full")
    persons = len(synced) - DELETION_FLOOR
    assert held.status == "held" and held.deleted <= max(DELETION_FLOOR, persons // 2)
    assert len(harness.stamped_ids()) == persons - held.deleted
    allowed = harness.run(mode="full", max_deletion_share=None)
    assert allowed.status == "ok" and harness.stamped_ids() == []
    assert_exact(harness)
