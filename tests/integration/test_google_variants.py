"""The People API where it may answer otherwise than our sandbox's defaults: each undocumented
behaviour is a sandbox switch, and the sync is held to the same end state under every answer."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from sandbox.datagen import generate
from sandbox.people import BATCH_ERROR_DETAILS
from sandbox.stack import SandboxStack
from sync.mapping import CLIENT_DATA_KEY
from sync.state.port import StateStore
from tests.harness import Harness
from tests.integration.test_engine import assert_exact
from tests.integration.test_runner import make_runner


def synced(stack: SandboxStack, state: StateStore, tmp: Path, contacts: int = 150) -> tuple[Harness, list[str]]:
    harness = Harness.create(stack, state, generate(contacts, 0, seed=23), tmp)
    harness.run()
    stack.clock.advance(5)
    return harness, sorted(harness.expected_ids())


@pytest.mark.parametrize("shape", BATCH_ERROR_DETAILS)
def test_one_refused_update_never_blocks_the_others(
    stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path, shape: str
) -> None:
    stack.people.batch_error_details = shape
    harness, ids = synced(stack, sqlite_state, tmp_path)
    edited, bad = ids[:30], ids[7]
    for teamleader_id in edited:
        stack.teamleader.edit_contact("acme", teamleader_id, last_name=f"Nieuw {teamleader_id[:4]}")
    stack.teamleader.edit_contact("acme", bad, first_name="Ω" * 1500)
    report = harness.run()
    assert report.status == "ok"
    assert (report.updated, report.failed) == (29, 1)
    assert report.failures[0]["teamleader_id"] == bad and "too long" in report.failures[0]["reason"]
    for teamleader_id in set(edited) - {bad}:
        assert harness.person_of(teamleader_id)["names"][0]["familyName"] == f"Nieuw {teamleader_id[:4]}"


@pytest.mark.parametrize("missing_ok", [False, True])
@pytest.mark.parametrize("shape", BATCH_ERROR_DETAILS)
def test_a_delete_of_a_person_already_gone_counts_as_done(
    stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path, shape: str, missing_ok: bool
) -> None:
    stack.people.batch_error_details = shape
    stack.people.delete_missing_ok = missing_ok
    harness, ids = synced(stack, sqlite_state, tmp_path)
    leaving = ids[:6]
    stack.people.delete_person_by_hand(harness.seeded.google_user, _resource_of(harness, leaving[2]))
    for teamleader_id in leaving:
        stack.teamleader.edit_contact("acme", teamleader_id, status="deactivated")
    report = harness.run()
    assert (report.status, report.deleted, report.failed) == ("ok", 6, 0)
    assert_exact(harness)


@pytest.mark.parametrize("shape", BATCH_ERROR_DETAILS)
def test_an_update_of_a_person_deleted_by_hand_creates_it_again(
    stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path, shape: str
) -> None:
    stack.people.batch_error_details = shape
    harness, ids = synced(stack, sqlite_state, tmp_path)
    gone = ids[4]
    stack.people.delete_person_by_hand(harness.seeded.google_user, _resource_of(harness, gone))
    for teamleader_id in ids[:10]:
        stack.teamleader.edit_contact("acme", teamleader_id, last_name="Opnieuw")
    report = harness.run()
    assert (report.status, report.updated, report.created, report.failed) == ("ok", 9, 1, 0)
    assert harness.person_of(gone)["names"][0]["familyName"] == "Opnieuw"
    assert_exact(harness)


def test_created_persons_are_matched_by_their_stamp_not_their_place(
    stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path
) -> None:
    stack.people.shuffle_created = True
    harness = Harness.create(stack, sqlite_state, generate(500, 0, seed=24), tmp_path)
    assert harness.run().created == len(harness.expected_ids())
    people = stack.people.users[harness.seeded.google_user].people
    wrong = [
        entry.teamleader_id
        for entry in sqlite_state.all_entries("acme")
        if entry.state == "synced"
        and {"key": CLIENT_DATA_KEY, "value": entry.teamleader_id}
        not in people[entry.resource_name or ""].fields["clientData"]
    ]
    assert wrong == []
    stack.clock.advance(5)
    target = sorted(harness.expected_ids())[11]
    stack.teamleader.edit_contact("acme", target, last_name="Juist")
    assert harness.run().updated == 1
    assert harness.person_of(target)["names"][0]["familyName"] == "Juist"


@pytest.mark.parametrize("limit_status", ["FAILED_PRECONDITION", "INVALID_ARGUMENT"])
def test_a_full_google_account_marks_no_contact_failed_and_syncs_once_freed(
    stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path, limit_status: str
) -> None:
    """The account's contact limit is the account's refusal, however Google words it: the
    run stops creating, says so plainly, and the next run after space is freed syncs the rest."""
    stack.people.max_contacts = 30
    stack.people.limit_status = limit_status
    stack.people.batch_error_details = "none"
    harness = Harness.create(stack, sqlite_state, generate(85, 0, seed=25), tmp_path)
    eligible = len(harness.expected_ids())
    assert eligible > 30
    runner = make_runner(harness)
    outcome = runner.run(account="acme").accounts[0]
    assert outcome.report is not None
    assert outcome.status == "partial" and outcome.report["destinations"][0]["failed"] == 0
    created = outcome.report["destinations"][0]["created"]
    assert created <= 30 and outcome.report["destinations"][0]["not_created"] == eligible - created
    problem = f"Google account full: {created} of {eligible} eligible contacts synced; free space or narrow the tags"
    assert outcome.report["destinations"][0]["problem"] == problem
    record = sqlite_state.account("acme")
    assert record is not None and record.targets[0].reason == problem
    assert not [e for e in sqlite_state.all_entries("acme") if e.state == "failed"]
    if limit_status == "FAILED_PRECONDITION":  # says it is the account's: not halved
        assert len(stack.servers["people"].log.calls("/v1/people:batchCreateContacts")) == 1

    stack.people.max_contacts = 25_000
    stack.clock.advance(3600)
    again = runner.run(account="acme").accounts[0]
    assert again.status == "ok" and again.report is not None and again.report["destinations"][0]["problem"] is None
    assert_exact(harness)


def test_full_runs_retry_what_google_refused(stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path) -> None:
    stack.people.max_field_length = 300
    harness = Harness.create(stack, sqlite_state, generate(60, 0, seed=26), tmp_path)
    long_name = sorted(harness.expected_ids())[3]
    stack.teamleader.edit_contact("acme", long_name, last_name="Van den Bossche-" * 20)
    assert harness.run().failed == 1
    assert harness.run().failed == 0  # unchanged: not sent again
    stack.people.max_field_length = 1024  # whatever Google refused, it takes it now
    full = harness.run(mode="full")
    assert (full.created, full.failed) == (1, 0)
    assert_exact(harness)


def test_creates_settled_as_never_made_survive_a_run_that_dies(
    stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path
) -> None:
    harness = Harness.create(stack, sqlite_state, generate(400, 0, seed=27), tmp_path)
    # The first create batch reaches Google and is dropped unapplied: its answer never comes.
    stack.servers["people"].hold("/v1/people:batchCreateContacts").release()
    first = harness.run(create_visibility_delay=60)
    assert first.uncertain == 200
    stack.clock.advance(120)  # the lists would show them by now: they were never made
    teamleader = stack.servers["teamleader"]
    teamleader.faults.update({"outage_path": "/companies.list", "outage_next": 1000})
    with pytest.raises(Exception, match="unavailable"):
        harness.run(create_visibility_delay=60)
    teamleader.faults.update({"outage_path": "", "outage_next": 0})
    assert not sqlite_state.intents("acme")
    third = harness.run(create_visibility_delay=60)
    assert third.created == 200
    assert_exact(harness)
    assert Counter(harness.all_stamped_ids()) == Counter(harness.expected_ids())


def _resource_of(harness: Harness, teamleader_id: str) -> str:
    return next(
        str(p.resource_name)
        for p in harness.group_members()
        if {"key": CLIENT_DATA_KEY, "value": teamleader_id} in p.fields.get("clientData", [])
    )


def test_a_token_endpoint_outage_is_transient_and_only_a_refused_grant_disconnects(
    stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # google-auth retries a failed refresh itself, sleeping real seconds between attempts.
    monkeypatch.setattr("google.auth._exponential_backoff.time.sleep", stack.clock.advance)
    harness = Harness.create(stack, sqlite_state, generate(40, 0, seed=28), tmp_path)
    runner = make_runner(harness)
    people = stack.servers["people"]
    people.faults.update({"outage_path": "/token", "outage_next": 5})
    assert runner.run(account="acme").accounts[0].status == "ok", "five 503s are waited out"
    # An hour on, the access token a warm instance kept has run out: the run needs the endpoint.
    stack.clock.advance(3600)
    people.faults.update({"outage_next": 1000})
    outcome = runner.run(account="acme").accounts[0]
    assert (outcome.status, outcome.error) == ("failed", "GoogleError 503")
    record = sqlite_state.account("acme")
    assert record is not None and record.targets[0].status == "failing"
    assert [r.account_id for r in runner.due_accounts()] == ["acme"], "still served every hour"
    people.faults.update({"outage_next": 0})
    assert runner.run(account="acme").accounts[0].status == "ok", "no reconnecting needed"
    stack.people.revoke(harness.seeded.google_user)
    revoked = runner.run(account="acme").accounts[0]
    assert revoked.status == "needs_reauth"
    assert revoked.error == "Google refused the refresh token (invalid_grant); reconnect the account"


@pytest.mark.parametrize("batch_get_lags", [False, True])
def test_reads_that_lag_the_writes_duplicate_nothing(
    stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path, batch_get_lags: bool
) -> None:
    """Whether batchGet sees a write at once is undocumented: when it lags like the lists, a
    full run right after the first must not take the new persons for deleted by hand."""
    stack.people.propagation_delay = 600
    stack.people.batch_get_lags = batch_get_lags
    harness = Harness.create(stack, sqlite_state, generate(300, 0, seed=29), tmp_path)
    harness.run(create_visibility_delay=900)
    stack.clock.advance(30)
    full = harness.run(mode="full", create_visibility_delay=900)
    assert (full.created, full.deleted) == (0, 0)
    stack.clock.advance(1000)
    harness.run(mode="full", create_visibility_delay=900)
    assert Counter(harness.all_stamped_ids()) == Counter(harness.expected_ids())
    # A person really deleted by hand is created again once Google's reads can be trusted.
    gone = sorted(harness.expected_ids())[0]
    stack.people.delete_person_by_hand(harness.seeded.google_user, _resource_of(harness, gone))
    stack.clock.advance(1000)
    assert harness.run(mode="full", create_visibility_delay=900).created == 1
    assert Counter(harness.all_stamped_ids()) == Counter(harness.expected_ids())
