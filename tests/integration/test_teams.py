"""Teams: one Teamleader connection read once for every Google user of the team, each with its
own group, scope, id map and standing; a user's failure is theirs alone; two runs never write
to one Google user at once, even for two connections."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from google.cloud import firestore

from sandbox.datagen import generate
from sandbox.stack import SandboxStack
from sync.secrets.localfile import LocalFileSecrets
from sync.state.connections import user_lease_key
from sync.state.firestore import FirestoreState
from sync.state.port import StateStore
from tests.harness import Harness
from tests.integration.test_runner import make_runner

VIP = 60


def teamleader_calls(stack: SandboxStack, account: str) -> int:
    return sum(1 for call in stack.servers["teamleader"].log.calls("/") if call.account == account)


def group_ids(stack: SandboxStack, user: str, group: str = "Teamleader") -> list[str]:
    """The Teamleader ids of the persons in a user's group (duplicates show twice)."""
    return [c["value"] for p in stack.people.members(user, group) for c in p.fields.get("clientData", [])]


def tag_vips(stack: SandboxStack, account: str, harness: Harness) -> set[str]:
    """Tag a few contacts VIP; every contact that carries the tag now (some did already)."""
    for teamleader_id in sorted(harness.expected_ids())[:VIP]:
        stack.teamleader.edit_contact(account, teamleader_id, tags=["VIP"])
    contacts = stack.teamleader.accounts[account].contacts
    return {tid for tid, c in contacts.items() if "vip" in {tag.casefold() for tag in c.get("tags") or []}}


def rename_a_company(stack: SandboxStack, state: StateStore, index: int, name: str) -> set[str]:
    """Rename the company with the most synced people but `index`; the contacts it reaches."""
    known = sorted(state.all_companies("acme"), key=lambda c: (-len(c.contacts), c.company_id))
    company = known[index]
    stored = stack.teamleader.accounts["acme"].companies[company.company_id]
    stack.teamleader.put_company("acme", {**stored, "name": name})
    return set(company.contacts)


def organizations(stack: SandboxStack, user: str, teamleader_id: str) -> list[str]:
    for person in stack.people.members(user, "Teamleader"):
        if person.fields["clientData"][0]["value"] == teamleader_id:
            return [o.get("name") for o in person.fields.get("organizations", [])]
    raise AssertionError(f"{teamleader_id} is not in the group")


def test_one_read_serves_a_team_one_revoked_one_scoped_one_added_later(
    stack: SandboxStack, any_state: StateStore, tmp_path: Path
) -> None:
    data = generate(400, 25, seed=61)
    # The same CRM read for one Google user alone: what the team's run must not exceed.
    solo = Harness.create(stack, any_state, data, tmp_path, "solo")
    tag_vips(stack, "solo", solo)
    solo.run()
    one_user_calls = teamleader_calls(stack, "solo")
    solo.account.enabled = False
    any_state.put_account(solo.account)

    team = Harness.create(stack, any_state, data, tmp_path, "acme")
    vips = tag_vips(stack, "acme", team)
    bob = team.add_destination("bob@sandbox.example", tags=["vip"], group_name="VIPs")
    carol = team.add_destination("carol@sandbox.example")
    first = make_runner(team).run()
    assert first.status == "ok"
    assert teamleader_calls(stack, "acme") == one_user_calls
    everyone = team.expected_ids()
    for user in ("acme@sandbox.example", "carol@sandbox.example"):
        assert sorted(group_ids(stack, user)) == sorted(everyone)
    assert sorted(group_ids(stack, "bob@sandbox.example", "VIPs")) == sorted(vips & everyone)

    # carol's grant is revoked: her run stops alone, the others take a company's new name.
    stack.people.revoke("carol@sandbox.example")
    reached_first = rename_a_company(stack, any_state, 0, "Eerste Naam BV") & everyone
    stack.clock.advance(3600)
    second = make_runner(team).run()
    (outcome,) = second.accounts
    statuses = {d.destination: d.status for d in outcome.destinations}
    assert statuses == {"default": "ok", bob.name: "ok", carol.name: "needs_reauth"}
    assert (second.status, outcome.status) == ("degraded", "degraded")
    record = any_state.account("acme")
    assert record is not None and record.status == "ok"
    assert [d.status for d in record.targets] == ["ok", "ok", "needs_reauth"]
    assert "reconnect" in (record.targets[2].reason or "")
    assert all("Eerste Naam BV" in organizations(stack, "acme@sandbox.example", t) for t in reached_first)

    # Another company is renamed and a contact edited while carol waits for a person, and
    # dave joins the team.
    reached_second = rename_a_company(stack, any_state, 1, "Tweede Naam BV") & everyone
    edited = sorted(everyone - reached_first - reached_second)[0]
    stack.teamleader.edit_contact("acme", edited, last_name="Rustig")
    stack.clock.advance(3600)
    dave = team.add_destination("dave@sandbox.example")
    stack.servers["teamleader"].log.clear()
    third = make_runner(team).run()
    statuses = {d.destination: d.status for d in third.accounts[0].destinations}
    assert statuses == {"default": "ok", bob.name: "ok", dave.name: "ok"}
    report = third.accounts[0].report
    assert report is not None
    lanes = {r["destination"]: r for r in report["destinations"]}
    # dave catches up from his own empty bookmark, with one listing of the CRM for all; the
    # others decide only what changed.
    assert lanes[dave.name]["created"] == len(everyone)
    assert sorted(group_ids(stack, "dave@sandbox.example")) == sorted(everyone)
    assert len(stack.servers["teamleader"].log.calls("/contacts.list")) <= one_user_calls
    assert lanes["default"]["read"] < len(everyone) / 4
    assert lanes["default"]["updated"] == len(reached_second) + 1

    # carol connects again: she catches up on both renames, reading only what she missed.
    token = stack.people.issue_refresh_token("carol@sandbox.example")
    team.secrets.write(carol.google_secret, json.dumps({"refresh_token": token}))
    record = any_state.account("acme")
    assert record is not None
    record.targets[2].status = "ok"  # what `connect google --user` does
    any_state.put_account(record)
    team.account = record
    fourth = make_runner(team).run(account="acme")
    assert fourth.status == "ok"
    report = fourth.accounts[0].report
    assert report is not None
    carols = next(r for r in report["destinations"] if r["destination"] == carol.name)
    # The people of the two renamed companies (queued on her bookmark), not everyone.
    assert carols["read"] < len(everyone) / 2 and carols["created"] == 0
    assert sorted(group_ids(stack, "carol@sandbox.example")) == sorted(everyone)
    assert all("Eerste Naam BV" in organizations(stack, "carol@sandbox.example", t) for t in reached_first)
    assert all("Tweede Naam BV" in organizations(stack, "carol@sandbox.example", t) for t in reached_second)
    person = next(
        p
        for p in stack.people.members("carol@sandbox.example", "Teamleader")
        if p.fields["clientData"][0]["value"] == edited
    )
    assert person.fields["names"][0]["familyName"] == "Rustig"


def store_as_before_teams(state: StateStore, record: dict[str, Any], cursor: dict[str, Any]) -> None:
    """Write an account's record and bookmarks as versions before teams stored them: one
    cursor for both sides, no destinations, the Google side's fields on the record."""
    if isinstance(state, FirestoreState):
        document = state._account("acme")
        document.set({"record": record, "cursor": cursor, "source_cursor": firestore.DELETE_FIELD}, merge=True)
        return
    db: Any = state._db  # type: ignore[attr-defined]
    db.execute("UPDATE accounts SET cursor = ?, source = NULL WHERE account = 'acme'", (json.dumps(cursor),))
    db.execute("UPDATE registry SET data = ? WHERE account = 'acme'", (json.dumps(record),))


def test_an_existing_account_becomes_a_connection_with_one_destination(
    stack: SandboxStack, any_state: StateStore, tmp_path: Path
) -> None:
    """A record and state stored before connections had destinations: the next run finds its
    id map and bookmarks where they were, and re-creates nothing in Google."""
    harness = Harness.create(stack, any_state, generate(250, 15, seed=62), tmp_path)
    assert harness.run().created == len(harness.expected_ids())
    stored = any_state.account_state("acme")
    legacy_cursor = {**stored.cursor, **(stored.source_cursor or {})}
    legacy = {
        "account_id": "acme",
        "enabled": True,
        "group_name": "Teamleader",
        "tags": [],
        "default_region": None,
        "teamleader_secret": "acme-teamleader-tokens",
        "google_secret": "acme-google-tokens",
        "status": "ok",
        "last_run": None,
        "last_status": None,
    }
    store_as_before_teams(any_state, legacy, legacy_cursor)
    record = any_state.account("acme")
    assert record is not None and [(d.name, d.state_key, d.google_secret) for d in record.targets] == [
        ("default", "acme", "acme-google-tokens")
    ]
    harness.account = record
    stack.servers["teamleader"].log.clear()
    again = harness.run()
    assert (again.created, again.updated, again.deleted) == (0, 0, 0)
    assert again.companies_read == 0, "the companies bookmark was found where it was"
    assert len(stack.servers["teamleader"].log.calls("/contacts.list")) <= 1
    assert sorted(harness.stamped_ids()) == sorted(harness.expected_ids())
    assert any_state.account_state("acme").source_cursor


def test_two_connections_never_write_to_one_google_user_at_once(
    stack: SandboxStack, firestore_state: StateStore, tmp_path: Path
) -> None:
    """acme and globex both write to shared@ (each in its own group). While acme's run holds
    shared@, globex's run serves its other user and reports shared@ busy."""
    acme = Harness.create(stack, firestore_state, generate(120, 5, seed=63), tmp_path, "acme")
    globex = Harness.create(stack, firestore_state, generate(90, 5, seed=64), tmp_path, "globex")
    acme.account.targets.clear()
    shared_acme = acme.add_destination("shared@sandbox.example", group_name="Acme")
    shared_globex = globex.add_destination("shared@sandbox.example", group_name="Globex")
    # One user however the address is written.
    assert shared_acme.lease_key == shared_globex.lease_key == user_lease_key(" Shared@Sandbox.EXAMPLE", "")
    held = stack.servers["people"].hold("/token", 1)
    results: list[Any] = []
    first = threading.Thread(target=lambda: results.append(make_runner(acme).run(account="acme")))
    first.start()
    try:
        assert held.arrived.wait(30), "acme's run never asked for shared@'s token"
        during = make_runner(globex).run(account="globex")
    finally:
        held.release()  # the token answer is lost: acme's run stops for shared@, or retries
        first.join(60)
    statuses = {d.destination: d.status for d in during.accounts[0].destinations}
    assert statuses == {"default": "ok", shared_globex.name: "busy"}
    assert group_ids(stack, "shared@sandbox.example", "Globex") == []
    assert not first.is_alive() and results
    assert make_runner(acme).run(account="acme").status == "ok"
    stack.clock.advance(3600)  # Google's lists show acme's persons by now
    after = make_runner(globex).run(account="globex")
    assert after.status == "ok"
    assert sorted(group_ids(stack, "shared@sandbox.example", "Globex")) == sorted(globex.expected_ids())
    assert sorted(group_ids(stack, "shared@sandbox.example", "Acme")) == sorted(acme.expected_ids())
    # globex's first run for shared@ took up none of acme's persons as its own.
    adopted = {e.teamleader_id for e in firestore_state.all_entries(shared_globex.state_key)}
    assert adopted <= {c["id"] for c in stack.teamleader.accounts["globex"].contacts.values()}
    # A full run of each deletes nothing of the other's group.
    stack.clock.advance(7200)
    for harness in (acme, globex):
        make_runner(harness).run(account=harness.account.account_id, mode="full")
    assert sorted(group_ids(stack, "shared@sandbox.example", "Acme")) == sorted(acme.expected_ids())
    assert sorted(group_ids(stack, "shared@sandbox.example", "Globex")) == sorted(globex.expected_ids())


def test_a_team_waiting_for_one_user_keeps_its_hour_and_a_new_user_starts_at_the_next_tick(
    stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path
) -> None:
    team = Harness.create(stack, sqlite_state, generate(60, 0, seed=65), tmp_path)
    team.add_destination("erin@sandbox.example")
    stack.people.revoke("erin@sandbox.example")
    runner = make_runner(team)
    assert runner.run(scheduled=True).accounts[0].status == "degraded"
    stack.clock.advance(300)
    # erin waits for a person; the others synced fine: the account's next turn is in an hour.
    assert runner.run(scheduled=True).accounts == []
    finn = team.add_destination("finn@sandbox.example")
    stack.clock.advance(300)
    (outcome,) = runner.run(scheduled=True).accounts
    assert {d.destination: d.status for d in outcome.destinations} == {"default": "ok", finn.name: "ok"}
    assert sorted(group_ids(stack, "finn@sandbox.example")) == sorted(team.expected_ids())
    stack.clock.advance(300)
    assert runner.run(scheduled=True).accounts == []


def test_a_run_for_one_user_of_a_team_serves_that_user_alone(
    stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path
) -> None:
    team = Harness.create(stack, sqlite_state, generate(40, 0, seed=66), tmp_path)
    gwen = team.add_destination("gwen@sandbox.example")
    (outcome,) = make_runner(team).run(account="acme", user="GWEN@sandbox.example").accounts
    assert [d.destination for d in outcome.destinations] == [gwen.name]
    assert sorted(group_ids(stack, "gwen@sandbox.example")) == sorted(team.expected_ids())
    assert group_ids(stack, "acme@sandbox.example") == []


def test_a_teams_run_reads_each_secret_once(
    stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each read of a secret is a billed Secret Manager access: the Google OAuth client serves
    every user of the team, read once."""
    harness = Harness.create(stack, sqlite_state, generate(60, 5, seed=93), tmp_path)
    for n in range(3):
        harness.add_destination(f"member{n}@team.example")
    reads: list[str] = []
    plain = LocalFileSecrets.read

    def counted(secrets: LocalFileSecrets, name: str) -> str:
        reads.append(name)
        return plain(secrets, name)

    monkeypatch.setattr(LocalFileSecrets, "read", counted)
    assert all(report.status == "ok" for report in harness.run_all().destinations)
    # Teamleader's client and tokens, Google's client, and each of the 4 users' tokens.
    assert len(reads) == len(set(reads)) == 3 + 4, reads
