"""Teamleader Focus where its documentation allows more than one answer: each is a sandbox
switch, and the sync is held to the same end state under every one."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.datagen import generate
from sandbox.stack import SandboxStack
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


@pytest.mark.parametrize("missing_status", [404, 400])
def test_a_deleted_company_is_recognised_whatever_its_status(
    stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path, missing_status: int
) -> None:
    """A deleted company read by id answers 404, or 400 "references non-existing resources":
    either, confirmed by a listing, removes it from its people, and no full run stalls."""
    stack.teamleader.missing_status = missing_status
    harness, company, people = synced_with_a_busy_company(stack, sqlite_state, tmp_path, 35)
    stack.teamleader.delete_company("acme", company["id"])
    report = harness.run(mode="full")
    assert report.status == "ok" and report.updated == len(people)
    assert all(company["name"] not in organizations(harness, tid) for tid in people)
    assert sqlite_state.companies("acme").keys() == stack.teamleader.accounts["acme"].companies.keys()
    assert harness.run(mode="full").status == "ok"
