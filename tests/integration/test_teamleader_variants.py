"""Teamleader Focus where its documentation allows more than one answer: each is a sandbox
switch, and the sync is held to the same end state under every one."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from sandbox.datagen import generate
from sandbox.stack import SandboxStack
from sync.errors import TeamleaderError
from sync.state.port import StateStore
from tests.harness import Harness
from tests.integration.test_companies import organizations, synced_with_a_busy_company
from tests.integration.test_engine import assert_exact


@pytest.mark.parametrize("page_cap", [100, 50])
def test_paging_survives_a_smaller_page_cap(
    stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path, page_cap: int
) -> None:
    """The largest page is not documented: whatever the server caps pages at, every listing
    is read to its end, at the cost of at most one call more a listing."""
    stack.teamleader.page_cap = page_cap
    harness = Harness.create(stack, sqlite_state, generate(700, 80, seed=33, bulk_import=160), tmp_path)
    first = harness.run()
    assert first.status == "ok" and first.companies_read >= 80
    assert_exact(harness)
    log = stack.servers["teamleader"].log
    log.clear()
    stack.clock.advance(3600)
    harness.run()
    # Nothing changed: one (empty) page a listing, whatever the cap.
    assert len(log.calls("/contacts.list")) + len(log.calls("/companies.list")) == 2
    stack.clock.advance(5)
    targets = sorted(harness.expected_ids())[:120]
    for target in targets:
        stack.clock.advance(1)
        stack.teamleader.edit_contact("acme", target, last_name="Gepagineerd")
    log.clear()
    assert harness.run().updated == 120
    # 120 changed contacts a second apart: pages of the cap, each overlapping the last by one
    # contact; the cap is known from the first run, so no page more.
    assert len(log.calls("/contacts.list")) == -(-120 // (page_cap - 1))
    full = harness.run(mode="full")
    assert (full.created, full.deleted) == (0, 0)
    assert_exact(harness)


@pytest.mark.parametrize("integration_version", ["2018-06-01", "2021-01-01", "2023-09-26"])
def test_the_api_version_is_pinned_and_tags_compare_without_case(
    stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path, integration_version: str
) -> None:
    """Teamleader answers each integration in the version current when it was created unless a
    call names one: an old integration lowercases tags and names addresses otherwise. The sync
    names its version, so a `Klant` scope keeps its contacts and addresses reach Google."""
    stack.teamleader.integration_version = integration_version
    harness = Harness.create(stack, sqlite_state, generate(200, 0, seed=36), tmp_path)
    for teamleader_id in sorted(harness.expected_ids())[:40]:
        stack.teamleader.edit_contact("acme", teamleader_id, tags=["Klant", "vip"])
    contacts = stack.teamleader.accounts["acme"].contacts
    scoped = [t for t in harness.expected_ids() if "klant" in {tag.casefold() for tag in contacts[t]["tags"]}]
    assert len(scoped) > 40
    harness.destination.tags = ["Klant"]
    sqlite_state.put_account(harness.account)
    report = harness.run()
    assert report.created == len(scoped) and set(harness.stamped_ids()) == set(scoped)
    with_address = [tid for tid in scoped if stack.teamleader.accounts["acme"].contacts[tid].get("addresses")]
    assert with_address and all("addresses" in harness.person_of(tid) for tid in with_address)
    # The scope written in lower case is the same scope.
    harness.destination.tags = ["klant"]
    sqlite_state.put_account(harness.account)
    stack.clock.advance(5)
    assert (harness.run(mode="full").deleted, len(harness.stamped_ids())) == (0, len(scoped))


@pytest.mark.parametrize("rate_window", ["sliding", "fixed"])
@pytest.mark.parametrize("rate_headers", ["documented", "reset_only", "retry_after", "bare"])
def test_the_rate_limit_is_waited_out_whatever_headers_come(
    stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path, rate_headers: str, rate_window: str
) -> None:
    """Remaining and Reset are documented on each response, yet a 429 may carry only a reset,
    only Retry-After, or nothing, and a reset may end a sliding or a fixed minute: the sync
    waits as told, or backs off, and never comes straight back. With the documented headers
    it paces itself and is never refused."""
    stack.teamleader.rate_limit = 30
    stack.teamleader.rate_headers = rate_headers
    stack.teamleader.rate_window = rate_window
    harness = Harness.create(stack, sqlite_state, generate(1500, 300, seed=38), tmp_path)
    started = stack.clock.now()
    report = harness.run()
    assert report.status == "ok"
    assert_exact(harness)
    calls = stack.servers["teamleader"].log.calls("/")
    refused = [c for c in calls if c.status == 429]
    assert report.teamleader_rate_limited == len(refused)
    windows = (stack.clock.now() - started) / 60
    # Never faster than the limit allows (a fixed minute lets its 30 go at its end and the next
    # 30 at the next one's start), and not much slower either.
    assert len(calls) - len(refused) <= 30 * (math.ceil(windows) + 1)
    assert len(calls) - len(refused) >= 30 * (windows - 2)
    if rate_headers == "documented":
        assert refused == []
    elif rate_headers in ("reset_only", "retry_after"):
        assert len(refused) <= windows + 1  # one refusal a window, then the wait it names
    else:
        assert len(refused) <= 6 * (windows + 1)  # a back-off doubling from 2 s reaches a minute


@pytest.mark.parametrize("status", [400, 403, 500])
def test_a_company_that_cannot_be_read_is_reported_and_read_again(
    stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path, status: int
) -> None:
    """One company Teamleader cannot serve never stops an account: it is kept as it was,
    named in the report with its reason, and read again at the next run, which brings its
    change to its people once it can be read."""
    harness, company, people = synced_with_a_busy_company(stack, sqlite_state, tmp_path, 39)
    stack.teamleader.put_company("acme", {**company, "name": "Onleesbaar NV"})
    stack.teamleader.unreadable_companies[company["id"]] = status
    other = sorted(harness.expected_ids() - people)[0]
    stack.teamleader.edit_contact("acme", other, last_name="Gewijzigd")
    for mode in ("incremental", "full"):
        # Long enough for the cursor to step past the company's change: only its name in the
        # bookmark brings it back.
        stack.clock.advance(600)
        report = harness.run(mode=mode)
        assert report.status == "ok"
        assert list(report.unreadable_companies) == [company["id"]]
        # A server error is reported as what it became after every retry: unavailable.
        assert report.unreadable_companies[company["id"]].endswith(str(503 if status == 500 else status))
        assert all("Onleesbaar NV" not in organizations(harness, tid) for tid in people)
    assert harness.person_of(other)["names"][0]["familyName"] == "Gewijzigd"
    del stack.teamleader.unreadable_companies[company["id"]]
    stack.clock.advance(600)
    report = harness.run()
    assert (report.unreadable_companies, report.updated) == ({}, len(people))
    assert all("Onleesbaar NV" in organizations(harness, tid) for tid in people)
    assert_exact(harness)


def test_companies_failing_one_after_another_stop_the_run_as_an_outage(
    stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path
) -> None:
    """Server errors on every company read are Teamleader being down, not broken records: the
    run stops (the next one goes on) rather than marking every company unreadable."""
    harness, _, _ = synced_with_a_busy_company(stack, sqlite_state, tmp_path, 40)
    for company_id in stack.teamleader.accounts["acme"].companies:
        stack.teamleader.unreadable_companies[company_id] = 500
    with pytest.raises(TeamleaderError):
        harness.run(mode="full")
    stack.teamleader.unreadable_companies.clear()
    assert harness.run(mode="full").status == "ok"
    assert_exact(harness)


def test_without_rate_headers_the_sync_keeps_to_the_documented_limit(
    stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path
) -> None:
    """Where answers carry no rate headers at all, the sync's own count of its calls in the
    sliding minute keeps it within the limit it is told, and Teamleader never refuses it."""
    stack.teamleader.rate_limit = 30
    stack.teamleader.rate_headers = "bare"
    harness = Harness.create(stack, sqlite_state, generate(800, 150, seed=41), tmp_path)
    harness.settings = harness.settings.model_copy(update={"teamleader_calls_per_minute": 30})
    report = harness.run()
    assert report.status == "ok" and report.teamleader_calls > 90
    assert [c for c in stack.servers["teamleader"].log.calls("/") if c.status == 429] == []
    assert_exact(harness)


def titles_at(harness: Harness, teamleader_id: str, company_name: str) -> list[str | None]:
    """The titles the contact's person shows at a company (one per organization of that name)."""
    organizations = harness.person_of(teamleader_id).get("organizations", [])
    return [o.get("title") for o in organizations if o["name"] == company_name]


@pytest.mark.parametrize("link_touches", ["company", "contact", "neither"])
def test_link_changes_reach_google_whatever_updated_at_they_move(
    stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path, link_touches: str
) -> None:
    """Whether linking a contact to a company, unlinking it or changing its position moves the
    company's updated_at, the contact's or neither is undocumented. Moving the company's, it
    reaches Google at the next hourly run (one companies.info, one contacts.list by ids); else
    at the daily full run, which reads every company again: late, never lost. (`contacts.list`
    does not say where a contact works, so a contact read again shows nothing new.)"""
    stack.teamleader.link_touches = link_touches
    harness, company, people = synced_with_a_busy_company(stack, sqlite_state, tmp_path, 45)
    newcomer = sorted(harness.expected_ids() - people)[0]
    leaver, promoted = sorted(people)[:2]
    stack.teamleader.link("acme", newcomer, company["id"], position="Stagiair")
    stack.teamleader.link("acme", leaver, company["id"], linked=False)
    stack.teamleader.link("acme", promoted, company["id"], position="Vennoot")

    def arrived() -> list[bool]:
        return [
            titles_at(harness, newcomer, company["name"]) == ["Stagiair"],
            titles_at(harness, leaver, company["name"]) == [],
            titles_at(harness, promoted, company["name"]) == ["Vennoot"],
        ]

    stack.clock.advance(600)
    log = stack.servers["teamleader"].log
    log.clear()
    hourly = harness.run()
    assert hourly.status == "ok"
    if link_touches == "company":
        assert arrived() == [True, True, True] and hourly.updated == 3
        assert len(log.calls("/companies.info")) == 1
    else:
        assert arrived() == [False, False, False]
    stack.clock.advance(600)
    full = harness.run(mode="full")
    assert full.status == "ok" and arrived() == [True, True, True]
    assert_exact(harness)
