"""The sync engine end to end: real clients over real HTTP against the sandbox, state on the
real Firestore emulator (and on SQLite, where both must behave alike)."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import pytest

from sandbox.datagen import generate
from sandbox.stack import SandboxStack
from sync.engine import writer
from sync.errors import TeamleaderError
from sync.state.port import StateStore
from tests.harness import Harness


def writes(stack: SandboxStack) -> int:
    log = stack.servers["people"].log
    return sum(1 for c in log.calls("/v1/") if c.method in ("POST", "PATCH", "DELETE", "PUT"))


def assert_exact(harness: Harness) -> None:
    """The group holds exactly the eligible contacts, each once, as Teamleader has them."""
    ids = harness.stamped_ids()
    assert Counter(ids).most_common(1)[0][1] == 1 if ids else True, "a contact is in Google twice"
    assert len(harness.all_stamped_ids()) == len(ids), "a stamped person lives outside the group"
    assert set(ids) == harness.expected_ids()


def test_first_run_is_exact_and_a_second_run_writes_nothing(
    stack: SandboxStack, any_state: StateStore, tmp_path: Path
) -> None:
    harness = Harness.create(stack, any_state, generate(700, 40, seed=11), tmp_path)
    first = harness.run()
    assert first.status == "ok"
    assert first.created == len(harness.expected_ids())
    assert first.skipped == 700 - first.created
    assert sum(first.skip_reasons.values()) == first.skipped
    assert_exact(harness)
    # Google's calls: the group created outright (not looked for first), the persons already
    # carrying a Teamleader id listed once (never a duplicate), then full batches.
    people = stack.servers["people"].log
    assert len(people.calls("/v1/contactGroups", method="POST")) == 1
    assert people.calls("/v1/contactGroups", method="GET") == []
    assert len(people.calls("/v1/people/me/connections")) == 1
    assert len(people.calls("/v1/people:batchCreateContacts")) == math.ceil(first.created / 200)
    one = next(iter(harness.expected_ids()))
    contact = stack.teamleader.accounts["acme"].contacts[one]
    person = harness.person_of(one)
    assert person["names"] == [{"givenName": contact["first_name"].strip(), "familyName": contact["last_name"].strip()}]

    stack.servers["people"].log.clear()
    stack.servers["teamleader"].log.clear()
    second = harness.run()
    # Property 4: nothing changed, so zero writes to Google and at most two calls to Teamleader.
    assert writes(stack) == 0
    assert len(stack.servers["teamleader"].log.calls("/")) <= 2
    assert (second.created, second.updated, second.deleted) == (0, 0, 0)
    # Contacts edited only in what Google does not show are read again, compared, not written.
    stack.clock.advance(5)
    touched = sorted(harness.expected_ids())[:20]
    for teamleader_id in touched:
        stack.teamleader.edit_contact("acme", teamleader_id, remarks="called back on Tuesday")
    third = harness.run()
    assert (third.read, third.unchanged) == (20, 20)
    assert writes(stack) == 0


def test_after_a_bulk_import_an_unchanged_run_reads_one_page(
    stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path
) -> None:
    """Property 4 when the newest second holds 3,000 contacts (a bulk import, the last thing
    that happened in Teamleader)."""
    harness = Harness.create(stack, sqlite_state, generate(3200, 0, seed=19, bulk_import=3000), tmp_path)
    harness.run()
    stack.servers["teamleader"].log.clear()
    stack.servers["people"].log.clear()
    second = harness.run()
    assert len(stack.servers["teamleader"].log.calls("/")) <= 2
    assert writes(stack) == 0 and second.read == 0
    stack.clock.advance(1)
    target = sorted(harness.expected_ids())[0]
    stack.teamleader.edit_contact("acme", target, last_name="After the import")
    assert harness.run().updated == 1
    assert harness.person_of(target)["names"][0]["familyName"] == "After the import"


def test_changes_deactivations_and_ineligibility_are_mirrored(
    stack: SandboxStack, any_state: StateStore, tmp_path: Path
) -> None:
    harness = Harness.create(stack, any_state, generate(300, 10, seed=5), tmp_path)
    harness.run()
    synced = sorted(harness.expected_ids())
    tl = stack.teamleader
    stack.clock.advance(5)
    tl.edit_contact("acme", synced[0], last_name="Renamed-Ø")
    tl.edit_contact("acme", synced[1], status="deactivated")
    tl.edit_contact("acme", synced[2], emails=[], telephones=[])
    report = harness.run()
    assert (report.updated, report.deleted) == (1, 2)
    assert harness.person_of(synced[0])["names"][0]["familyName"] == "Renamed-Ø"
    assert report.skip_reasons["deactivated in Teamleader"] == 1
    assert report.skip_reasons["no phone, mobile or e-mail"] == 1
    assert_exact(harness)
    stack.clock.advance(5)
    tl.edit_contact("acme", synced[1], status="active")
    assert harness.run().created == 1
    assert_exact(harness)


def test_one_invalid_contact_does_not_stop_its_batch(
    stack: SandboxStack, firestore_state: StateStore, tmp_path: Path
) -> None:
    """Property 6."""
    data = generate(120, 0, seed=3)
    harness = Harness.create(stack, firestore_state, data, tmp_path)
    bad = sorted(harness.expected_ids())[7]
    stack.teamleader.edit_contact("acme", bad, first_name="Ω" * 1500)
    first = harness.run()
    assert first.failed == 1
    assert first.failures[0]["teamleader_id"] == bad
    assert "too long" in first.failures[0]["reason"]
    assert set(harness.stamped_ids()) == harness.expected_ids() - {bad}
    # Recorded with Google's reason, and not sent again while it is unchanged.
    stack.servers["people"].log.clear()
    stack.clock.advance(2)
    stack.teamleader.edit_contact("acme", sorted(harness.expected_ids())[0], last_name="Touched")
    again = harness.run()
    assert again.still_failing == 0 or again.failed == 0
    assert again.failed == 0
    stack.clock.advance(2)
    stack.teamleader.edit_contact("acme", bad, first_name="Olga")
    fixed = harness.run()
    assert fixed.created == 1
    assert_exact(harness)


def test_a_refusal_that_names_no_contact_is_halved_down_to_the_culprit(
    stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path
) -> None:
    """Google's batch error may not say which contact it refused: the batch is halved until
    the culprit is alone, the others are created in the same run."""
    stack.people.batch_error_details = "none"
    harness = Harness.create(stack, sqlite_state, generate(150, 0, seed=3), tmp_path)
    eligible = sorted(harness.expected_ids())
    bad = eligible[len(eligible) // 3]
    stack.teamleader.edit_contact("acme", bad, first_name="Ω" * 1500)
    report = harness.run()
    assert report.status == "ok"
    assert report.failed == 1 and report.failures[0]["teamleader_id"] == bad
    assert "too long" in report.failures[0]["reason"]
    assert set(harness.stamped_ids()) == harness.expected_ids() - {bad}
    creates = stack.servers["people"].log.calls("/v1/people:batchCreateContacts")
    # One refused batch, then two halves per level down to the culprit.
    assert len(creates) <= 1 + 2 * math.ceil(math.log2(len(eligible)))


def test_unchanged_failure_is_not_retried(stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path) -> None:
    harness = Harness.create(stack, sqlite_state, generate(30, 0, seed=3), tmp_path)
    bad = sorted(harness.expected_ids())[0]
    stack.teamleader.edit_contact("acme", bad, last_name="x" * 2000)
    harness.run()
    # Re-reading the same contact (the cursor re-reads the newest second) costs no write.
    stack.servers["people"].log.clear()
    report = harness.run()
    assert writes(stack) == 0
    assert report.still_failing == 1


def test_lost_answer_to_an_applied_create_never_duplicates(
    stack: SandboxStack, firestore_state: StateStore, tmp_path: Path
) -> None:
    """Property 2: the connection drops after Google applied a batch create, and Google's
    lists lag writes by minutes."""
    stack.people.propagation_delay = 300
    harness = Harness.create(stack, firestore_state, generate(500, 0, seed=9), tmp_path)
    # Google applies the first batch create and its answer never arrives.
    stack.servers["people"].hold("/v1/people:batchCreateContacts", apply=True).release()
    first = harness.run(create_visibility_delay=900)
    assert first.uncertain == 200
    expected = harness.expected_ids()
    assert Counter(harness.all_stamped_ids()) == Counter(expected)  # Google applied it once

    stack.clock.advance(60)  # lists still lag: the creates stay uncertain and are not re-sent
    second = harness.run(create_visibility_delay=900)
    assert second.uncertain == 200 and second.created == 0
    assert Counter(harness.all_stamped_ids()) == Counter(expected)

    stack.clock.advance(300)  # now Google lists them: adopted, not created again
    third = harness.run(create_visibility_delay=900)
    assert third.uncertain == 0 and third.created == 0
    assert_exact(harness)
    stack.clock.advance(3600)
    harness.run(create_visibility_delay=900)
    assert_exact(harness)


def test_bulk_import_and_edits_while_paging_lose_nothing(
    stack: SandboxStack, firestore_state: StateStore, tmp_path: Path
) -> None:
    """Property 3: 3,000 contacts share one updated_at, and contacts are edited and deleted
    in Teamleader while the run is paging."""
    data = generate(3300, 0, seed=21, bulk_import=3000)
    harness = Harness.create(stack, firestore_state, data, tmp_path)
    tl = stack.teamleader
    bulk_ids = [c["id"] for c in data.contacts[:3000]]
    eligible = sorted(set(bulk_ids) & data.eligible_ids())
    edited: list[str] = []

    def edit_while_paging(calls: int) -> None:
        # Every few pages, edit a contact from early in the bulk block (it moves to the end of
        # the listing, shifting every later offset) and delete another.
        if calls % 4 == 0 and len(edited) < 12:
            target = eligible[len(edited) * 3]
            tl.edit_contact("acme", target, last_name=f"Edited {calls}")
            edited.append(target)
            tl.delete_contact("acme", eligible[len(edited) * 3 + 1])

    tl.during_list = edit_while_paging
    harness.run()
    tl.during_list = None
    harness.run()  # the next hourly run, with nothing new
    # Everything the incremental runs can know is in Google: each contact once, as edited.
    deleted = set(bulk_ids) - set(tl.accounts["acme"].contacts)
    assert len(deleted) == len(edited) == 12
    ids = harness.stamped_ids()
    assert len(ids) == len(set(ids)), "a contact is in Google twice"
    assert set(ids) - deleted == harness.expected_ids()
    for teamleader_id in edited:
        wanted = tl.accounts["acme"].contacts[teamleader_id]["last_name"]
        assert harness.person_of(teamleader_id)["names"][0]["familyName"] == wanted
    # Deletions are listed nowhere: the full run mirrors them.
    harness.run(mode="full")
    assert_exact(harness)


@pytest.mark.parametrize("inclusive", [True, False])
def test_both_readings_of_updated_since_sync_everything(
    stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path, inclusive: bool
) -> None:
    stack.teamleader.updated_since_inclusive = inclusive
    harness = Harness.create(stack, sqlite_state, generate(450, 0, seed=2, bulk_import=250), tmp_path)
    harness.run()
    assert_exact(harness)
    stack.clock.advance(1)
    target = sorted(harness.expected_ids())[3]
    stack.teamleader.edit_contact("acme", target, first_name="Changed")
    assert harness.run().updated == 1


def test_etag_churn_and_throttling_on_both_sides(
    stack: SandboxStack, firestore_state: StateStore, tmp_path: Path
) -> None:
    """Property 5."""
    harness = Harness.create(stack, firestore_state, generate(600, 0, seed=4), tmp_path)
    stack.servers["teamleader"].faults.update(
        {
            "throttle_rate": 0.2,
            "throttle_next": 3,
            "outage_path": "/contacts.list",
            "outage_next": 3,
            "outage_status": 429,
        }
    )
    stack.servers["people"].faults.update({"throttle_rate": 0.2, "throttle_next": 3})
    harness.run()
    assert_exact(harness)
    for api, path in (("teamleader", "/oauth2"), ("teamleader", "/contacts.list"), ("people", "/")):
        assert len([c for c in stack.servers[api].log.calls(path) if c.status == 429]) >= 3
    targets = sorted(harness.expected_ids())[:250]
    stack.clock.advance(5)
    for i, target in enumerate(targets):
        stack.teamleader.edit_contact("acme", target, last_name=f"Churned {i}")
    stack.people.etag_churn_next = 40
    stack.people.write_quota_per_minute = 5
    report = harness.run()
    assert report.updated == 250 and report.failed == 0
    for i, target in enumerate(targets):
        assert harness.person_of(target)["names"][0]["familyName"] == f"Churned {i}"
    assert_exact(harness)


def test_hand_deletions_in_google_are_repaired(stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path) -> None:
    harness = Harness.create(stack, sqlite_state, generate(250, 0, seed=8), tmp_path)
    harness.run()
    user = harness.seeded.google_user
    ids = sorted(harness.expected_ids())
    gone = harness.group_members()[0]
    stack.people.delete_person_by_hand(user, gone.resource_name)
    stack.people.delete_group_by_hand(user, "Teamleader")
    stack.clock.advance(5)
    stack.teamleader.edit_contact("acme", ids[0], last_name="After the group was deleted")
    harness.run()
    # The group is back with everyone in it; the person deleted by hand comes back in full mode.
    harness.run(mode="full")
    assert_exact(harness)


def test_contacts_deleted_in_teamleader_are_deleted_in_full_mode(
    stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path
) -> None:
    harness = Harness.create(stack, sqlite_state, generate(200, 0, seed=12), tmp_path)
    harness.run()
    victims = sorted(harness.expected_ids())[:5]
    for victim in victims:
        stack.teamleader.delete_contact("acme", victim)
    assert harness.run().deleted == 0  # Teamleader lists no deletions: only full mode sees them
    assert harness.run(mode="full").deleted == 5
    assert_exact(harness)


def test_deactivations_hidden_from_unfiltered_lists_are_caught_in_full_mode(
    stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path
) -> None:
    stack.teamleader.list_includes_deactivated = False
    harness = Harness.create(stack, sqlite_state, generate(200, 0, seed=13), tmp_path)
    harness.run()
    victim = sorted(harness.expected_ids())[0]
    stack.clock.advance(3)
    stack.teamleader.edit_contact("acme", victim, status="deactivated")
    harness.run(mode="full")
    assert_exact(harness)


def test_dry_run_plans_without_writing(stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path) -> None:
    harness = Harness.create(stack, sqlite_state, generate(150, 0, seed=14), tmp_path)
    report = harness.run(dry_run=True)
    assert report.created == len(harness.expected_ids())
    assert writes(stack) == 0
    assert sqlite_state.account_state("acme").cursor == {}
    assert harness.run().created == report.created


def test_a_run_that_dies_keeps_its_queued_writes_ahead_of_the_cursor(
    stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Skips are checkpointed while creates still wait for a full batch; the cursor stored
    then must stay before those creates, or a run that dies loses them until the full run."""
    monkeypatch.setattr(writer, "SKIP_FLUSH", 5)
    harness = Harness.create(stack, sqlite_state, generate(600, 0, seed=16), tmp_path)
    teamleader = stack.servers["teamleader"]

    def outage_after_the_second_page(calls: int) -> None:
        if calls == 2:
            teamleader.faults.update({"outage_path": "/contacts.list", "outage_next": 1000})

    stack.teamleader.during_list = outage_after_the_second_page
    with pytest.raises(TeamleaderError):
        harness.run()
    assert harness.stamped_ids() == [], "no batch was full when the run died"
    assert "contacts" in sqlite_state.account_state("acme").cursor
    stack.teamleader.during_list = None
    teamleader.faults.update({"outage_path": "", "outage_next": 0})
    assert harness.run().status == "ok"
    assert_exact(harness)


def test_time_budget_stops_between_batches_and_the_next_run_resumes(
    stack: SandboxStack, firestore_state: StateStore, tmp_path: Path
) -> None:
    harness = Harness.create(stack, firestore_state, generate(900, 0, seed=15), tmp_path)
    stack.servers["people"].faults.latency_ms = 0
    calls = {"n": 0}
    original = stack.clock.now

    def slow_clock() -> float:  # each reading of the clock costs a second of budget
        calls["n"] += 1
        return original() + calls["n"]

    harness.stack.clock.now = slow_clock  # type: ignore[method-assign]
    partial = harness.run(deadline=original() + 400)
    harness.stack.clock.now = original  # type: ignore[method-assign]
    assert partial.status == "partial"
    assert 0 < len(harness.stamped_ids()) < len(harness.expected_ids())
    done = harness.run()
    assert done.status == "ok"
    assert_exact(harness)
