"""Companies on their people's contacts: name, position and phone on the first run; a company
changed, deleted or unreachable in Teamleader reaches exactly its people, crash or not."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from sandbox.datagen import generate
from sandbox.stack import SandboxStack
from sync.engine import streams
from sync.errors import GoogleError
from sync.mapping import format_phone
from sync.ports import Checkpoint
from sync.state.port import StateStore
from tests.harness import Harness


def employees(stack: SandboxStack, harness: Harness, company_id: str) -> set[str]:
    """The synced contacts linked to a company in Teamleader."""
    contacts = stack.teamleader.accounts["acme"].contacts.values()
    linked = {c["id"] for c in contacts if any(link["company"]["id"] == company_id for link in c["companies"])}
    return linked & harness.expected_ids()


def busiest_company(stack: SandboxStack, harness: Harness) -> dict[str, Any]:
    companies = stack.teamleader.accounts["acme"].companies.values()
    return max(companies, key=lambda c: (len(employees(stack, harness, c["id"])), c["id"]))


def synced_with_a_busy_company(
    stack: SandboxStack, state: StateStore, tmp: Path, seed: int
) -> tuple[Harness, dict[str, Any], set[str]]:
    """An account after its first run, its company with the most synced people, and them."""
    harness = Harness.create(stack, state, generate(300, 20, seed=seed), tmp)
    harness.run()
    company = busiest_company(stack, harness)
    people = employees(stack, harness, company["id"])
    assert len(people) >= 5
    stack.clock.advance(5)
    return harness, company, people


def rename_in_a_run_that_dies(stack: SandboxStack, harness: Harness, company: dict[str, Any], name: str) -> None:
    """Rename a company, then run while Google refuses every update: the run fails after it
    has stored the company and before any of its people are written."""
    stack.teamleader.put_company("acme", {**company, "name": name})
    people_api = stack.servers["people"]
    people_api.faults.update({"outage_path": "/v1/people:batchUpdateContacts", "outage_next": 1000})
    with pytest.raises(GoogleError):
        harness.run()
    people_api.faults.update({"outage_path": "", "outage_next": 0})


def organizations(harness: Harness, teamleader_id: str) -> list[str]:
    return sorted(o["name"] for o in harness.person_of(teamleader_id).get("organizations", []))


def test_people_show_their_companies_position_and_phone(
    stack: SandboxStack, any_state: StateStore, tmp_path: Path
) -> None:
    harness = Harness.create(stack, any_state, generate(400, 25, seed=41), tmp_path)
    report = harness.run()
    # The first listing cannot know Teamleader's page cap: it ends on a page shorter than the
    # longest seen, one call more, which re-reads the last second's companies.
    assert report.status == "ok" and 25 <= report.companies_read <= 27
    companies = stack.teamleader.accounts["acme"].companies
    checked = 0
    for teamleader_id in sorted(harness.expected_ids()):
        contact = stack.teamleader.accounts["acme"].contacts[teamleader_id]
        person = harness.person_of(teamleader_id)
        expected = sorted(companies[link["company"]["id"]]["name"] for link in contact["companies"])
        assert sorted(o["name"] for o in person.get("organizations", [])) == expected
        for link in contact["companies"]:
            company = companies[link["company"]["id"]]
            org = next(o for o in person["organizations"] if o["name"] == company["name"])
            assert org.get("title") == link["position"]
            country = company["addresses"][0]["address"]["country"]
            phone = format_phone(company["telephones"][0]["number"], country)
            assert {"value": phone, "type": company["name"]} in [
                {"value": p["value"], "type": p["type"]} for p in person["phoneNumbers"]
            ]
            checked += 1
    assert checked > 100


def test_a_renamed_company_updates_exactly_its_people(
    stack: SandboxStack, any_state: StateStore, tmp_path: Path
) -> None:
    harness, company, people = synced_with_a_busy_company(stack, any_state, tmp_path, 42)
    stack.teamleader.put_company("acme", {**company, "name": "Renamed & Zonen"})
    stack.servers["teamleader"].log.clear()
    report = harness.run()
    assert (report.updated, report.created, report.deleted) == (len(people), 0, 0)
    assert all("Renamed & Zonen" in organizations(harness, tid) for tid in people)
    # One list of contacts, one of companies, one info of the company, one look-up of its people.
    assert len(stack.servers["teamleader"].log.calls("/")) <= 4
    again = harness.run()
    assert (again.updated, again.read) == (0, 0)


@pytest.mark.parametrize("missing_status", [404, 400])
def test_a_deleted_company_leaves_its_people_at_the_next_full_run(
    stack: SandboxStack, any_state: StateStore, tmp_path: Path, missing_status: int
) -> None:
    """No list shows a deletion: the daily full run asks after every company it knows. A
    deleted company read by id answers 404, or 400 "references non-existing resources":
    either, confirmed by a listing, removes it from its people, and no full run stalls."""
    stack.teamleader.missing_status = missing_status
    harness, company, people = synced_with_a_busy_company(stack, any_state, tmp_path, 43)
    stack.teamleader.delete_company("acme", company["id"])
    report = harness.run(mode="full")
    assert report.status == "ok" and report.updated == len(people)
    assert all(company["name"] not in organizations(harness, tid) for tid in people)
    assert {c.company_id for c in any_state.all_companies("acme")} == stack.teamleader.accounts["acme"].companies.keys()
    assert harness.run(mode="full").status == "ok"


def test_a_company_change_survives_a_failed_run(
    stack: SandboxStack, firestore_state: StateStore, tmp_path: Path
) -> None:
    """The company record and the people it reaches are stored in one write: a run that dies
    before writing them to Google leaves them queued, and the next run writes them."""
    harness, company, people = synced_with_a_busy_company(stack, firestore_state, tmp_path, 44)
    rename_in_a_run_that_dies(stack, harness, company, "Nieuwe Naam BV")
    assert all("Nieuwe Naam BV" not in organizations(harness, tid) for tid in people)
    # Every linked contact is queued: which of them Google holds is decided when they are read.
    assert people <= set(firestore_state.account_state("acme").cursor["recheck"])
    report = harness.run()
    assert report.status == "ok" and report.updated == len(people)
    assert all("Nieuwe Naam BV" in organizations(harness, tid) for tid in people)
    assert not firestore_state.account_state("acme").cursor.get("recheck")


def test_a_full_pass_cut_short_goes_on_where_it_stopped(
    stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path
) -> None:
    """A full run that meets its deadline among the companies must not start them over next
    time, or an account with more companies than one budget reads would never finish one."""
    harness = Harness.create(stack, sqlite_state, generate(400, 300, seed=45), tmp_path)
    harness.run()
    gone = busiest_company(stack, harness)
    people = employees(stack, harness, gone["id"])
    stack.teamleader.delete_company("acme", gone["id"])
    log = stack.servers["teamleader"].log
    log.clear()
    original = stack.clock.now
    readings = {"n": 0}

    def slow_clock() -> float:  # each reading of the clock costs a second of budget
        readings["n"] += 1
        return original() + readings["n"]

    stack.clock.now = slow_clock  # type: ignore[method-assign]
    partial = harness.run(mode="full", deadline=original() + 1300)
    stack.clock.now = original  # type: ignore[method-assign]
    assert partial.status == "partial"
    first_half = len(log.calls("/companies.info"))
    assert 0 < first_half < 299
    assert "companies_full" in (sqlite_state.account_state("acme").source_cursor or {})
    log.clear()
    done = harness.run(mode="full")
    assert done.status == "ok"
    # The rest of the companies, the ones on the page it stopped in, and the deleted one.
    assert first_half + len(log.calls("/companies.info")) <= 299 + 100 + 1
    assert "companies_full" not in (sqlite_state.account_state("acme").source_cursor or {})
    assert all(gone["name"] not in organizations(harness, tid) for tid in people)
    assert {c.company_id for c in sqlite_state.all_companies("acme")} == stack.teamleader.accounts[
        "acme"
    ].companies.keys()


def test_a_change_reaching_too_many_people_reads_every_contact_instead(
    stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A queue longer than a full read costs is dropped for the full read, in the same write
    as the company: the stored queue stays small, and nobody the change reaches is missed."""
    harness, company, people = synced_with_a_busy_company(stack, sqlite_state, tmp_path, 46)
    monkeypatch.setattr(streams, "MAX_QUEUED", 3)
    rename_in_a_run_that_dies(stack, harness, company, "Overal Bekend NV")
    stored = sqlite_state.account_state("acme").cursor
    assert "contacts" not in stored and not stored["recheck"]
    report = harness.run()
    assert report.status == "ok" and report.updated == len(people)
    assert report.read >= len(stack.teamleader.accounts["acme"].contacts)
    assert all("Overal Bekend NV" in organizations(harness, tid) for tid in people)
    again = harness.run()
    assert (again.read, again.updated) == (0, 0)


def test_a_queued_contact_changed_later_hides_no_earlier_change(
    stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path
) -> None:
    """Contacts a company change queues are read by id before the listing; one of them
    changed after other contacts must not move the listing's start past those others."""
    harness, company, people = synced_with_a_busy_company(stack, sqlite_state, tmp_path, 47)
    employee = sorted(people)[0]
    other = sorted(harness.expected_ids() - people)[0]
    stack.teamleader.edit_contact("acme", other, last_name="Earlier")
    stack.clock.advance(5)
    stack.teamleader.edit_contact("acme", employee, last_name="Later")
    stack.teamleader.put_company("acme", {**company, "name": "Hernoemd BV"})
    report = harness.run()
    assert report.status == "ok"
    assert harness.person_of(employee)["names"][0]["familyName"] == "Later"
    assert harness.person_of(other)["names"][0]["familyName"] == "Earlier"


def test_companies_stored_before_the_index_keep_their_people(
    stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path
) -> None:
    """State stored before the stores indexed who works where: the first run after writes
    every company again, so that a contact mapped by need keeps its companies."""
    harness, company, people = synced_with_a_busy_company(stack, sqlite_state, tmp_path, 47)
    # As the state was: no index of who works where, no mark that it was built.
    with sqlite3.connect(tmp_path / "state.sqlite3") as raw:
        raw.execute("DELETE FROM company_people")
    source = dict(sqlite_state.account_state("acme").source_cursor or {})
    assert source.pop("companies_indexed")
    sqlite_state.commit("acme", Checkpoint(source_cursor=source))
    edited = sorted(people)[0]
    stack.teamleader.edit_contact("acme", edited, last_name="Nieuw")
    report = harness.run()
    assert report.status == "ok" and report.updated == 1
    assert company["name"] in organizations(harness, edited)
    assert (sqlite_state.account_state("acme").source_cursor or {}).get("companies_indexed")
