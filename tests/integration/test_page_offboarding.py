"""Who makes a person leave, on the page and in Teamleader, and what the page shows of it: a
person turning their own sync off (keep, remove after the grace period, remove now) or
connecting another Google account, the admin turning a person off, a user deactivated in
Teamleader; turned on again before the grace period ends, the copy stays."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from sandbox.stack import SandboxStack
from sync.serve.offboarding import REVOKED
from sync.serve.runner import Runner
from sync.serve.runner.departures import DEACTIVATED
from sync.state.connections import DestinationRecord, destination_name, user_lease_key
from tests.page_site import PAGE_URL, Site, connect_google, group_size, make_site, post, sign_in

HOUR = 3600.0
BRAM, ADA = "bram@acme.example", "ada@acme.example"


class Later:
    """The wall clock, moved forward by the test."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@pytest.fixture
def later() -> Later:
    return Later()


@pytest.fixture
def site(stack: SandboxStack, tmp_path: Path, later: Later) -> Site:
    return make_site(stack, tmp_path, clock=later)


def tick(site: Site, later: Later, **options: Any) -> Any:
    """A scheduled tick (or a named run) at the test's time."""
    runner = Runner(site.settings, site.state, site.secrets, clock=later)
    return runner.run(**options) if options else runner.run(scheduled=True)


def of(site: Site, user: str) -> DestinationRecord:
    record = site.state.account("acme")
    destination = record.destination(user) if record else None
    assert destination is not None
    return destination


def turn_off(client: Any, remove: str) -> Any:
    return post(client, "/card", {"group": "Teamleader", "scope": "all", "region": "", "remove": remove})


def test_a_person_turning_off_chooses_keep_later_or_now_and_turning_on_again_keeps_the_copy(
    site: Site, later: Later
) -> None:
    bram = sign_in(site, "u-bram")
    connect_google(bram, BRAM)
    in_google = group_size(site, BRAM)
    assert in_google > 0
    kept = turn_off(bram, "keep")
    assert "notice=off" in kept.headers["Location"] and of(site, BRAM).leaving_since is None
    post(bram, "/card", {"group": "Teamleader", "scope": "all", "region": "", "enabled": "on"})
    leaving = turn_off(bram, "later")
    assert leaving.status_code == 303 and "notice=later" in leaving.headers["Location"]
    assert of(site, BRAM).leaving_reason == "turned off on the page by its person"
    card = bram.get("/card", base_url=PAGE_URL).text
    assert "removed in 24 hours" in card and "its contacts are removed from Google after" in card
    # On again within the grace period: the removal is called off and the copy stays.
    later.offset = 20 * HOUR
    bram = sign_in(site, "u-bram")  # a sign-in lasts 12 hours
    post(bram, "/card", {"group": "Teamleader", "scope": "all", "region": "", "enabled": "on"})
    assert of(site, BRAM).leaving_since is None and of(site, BRAM).enabled
    later.offset = 30 * HOUR
    tick(site, later)
    assert group_size(site, BRAM) == in_google
    # Off for good: past the grace period, the next tick removes the copy, and the card says so.
    turn_off(bram, "later")
    later.offset = 30 * HOUR + 24.5 * HOUR
    tick(site, later)
    bram = sign_in(site, "u-bram")
    assert group_size(site, BRAM) == 0
    assert f"{in_google} contacts removed from Google on" in bram.get("/card", base_url=PAGE_URL).text
    assert turn_off(bram, "bogus").status_code == 400


def test_a_person_who_kept_the_copy_when_turning_off_can_remove_it_later(site: Site) -> None:
    bram = sign_in(site, "u-bram")
    connect_google(bram, BRAM)
    in_google = group_size(site, BRAM)
    assert "notice=off" in turn_off(bram, "keep").headers["Location"]
    assert of(site, BRAM).leaving_since is None and group_size(site, BRAM) == in_google
    removed = turn_off(bram, "now")
    assert removed.status_code == 303 and f"notice=removed&n={in_google}" in removed.headers["Location"]
    assert group_size(site, BRAM) == 0 and of(site, BRAM).removed_persons == in_google


def test_the_admin_turns_a_person_off_for_later_or_now_and_reaches_only_their_own(site: Site, later: Later) -> None:
    ada = sign_in(site, "u-ada")
    bram = sign_in(site, "u-bram")
    connect_google(bram, BRAM)
    connect_google(ada, ADA)
    in_google = group_size(site, BRAM)
    # Not an admin: refused, and nothing leaves.
    assert post(bram, "/admin/off", {"destination": destination_name(ADA), "remove": "now"}).status_code == 403
    assert of(site, ADA).leaving_since is None and group_size(site, ADA) == in_google
    # A name that is none of the admin's account's destinations: not found.
    assert post(ada, "/admin/off", {"destination": destination_name("eva@globex.example")}).status_code == 404
    assert post(ada, "/admin/off", {"destination": destination_name(BRAM), "remove": "x"}).status_code == 400
    off = post(ada, "/admin/off", {"destination": destination_name(BRAM)})
    assert off.status_code == 303 and of(site, BRAM).leaving_reason == "turned off by the admin"
    assert not of(site, BRAM).enabled and group_size(site, BRAM) == in_google
    admin = ada.get("/admin", base_url=PAGE_URL).text
    assert "left (turned off by the admin); its contacts are removed from Google after" in admin
    # Leaving already, Bram can still be removed now; for later, only Ada can be turned off.
    assert admin.count('value="now"') == 2 and admin.count('value="later"') == 1
    now = post(ada, "/admin/off", {"destination": destination_name(ADA), "remove": "now"})
    assert now.status_code == 303 and f"notice=removed&n={in_google}" in now.headers["Location"]
    assert group_size(site, ADA) == 0 and group_size(site, BRAM) == in_google
    admin = ada.get(now.headers["Location"], base_url=PAGE_URL).text
    assert f"{in_google} contacts removed." in admin and f"{in_google} contacts removed from Google on" in admin
    assert admin.count('value="now"') == 1
    later.offset = 25 * HOUR
    tick(site, later)
    assert group_size(site, BRAM) == 0


@pytest.mark.parametrize("deactivated_tokens", ["refused", "work"])
def test_a_user_deactivated_in_teamleader_leaves_and_their_copy_goes_after_the_grace_period(
    site: Site, later: Later, deactivated_tokens: str
) -> None:
    site.stack.teamleader.deactivated_tokens = deactivated_tokens
    ada = sign_in(site, "u-ada")  # connects the account: the connection's token is hers
    bram = sign_in(site, "u-bram")
    connect_google(ada, ADA)
    connect_google(bram, BRAM)
    in_google = group_size(site, BRAM)
    site.stack.teamleader.set_user_status("acme", "u-bram", "deactivated")
    tick(site, later, account="acme")
    assert (of(site, BRAM).leaving_reason, of(site, BRAM).enabled) == (DEACTIVATED, False)
    assert of(site, ADA).leaving_since is None and group_size(site, BRAM) == in_google
    later.offset = 23 * HOUR
    tick(site, later)
    assert group_size(site, BRAM) == in_google
    later.offset = 24.5 * HOUR
    tick(site, later)
    assert group_size(site, BRAM) == 0 and group_size(site, ADA) == in_google


def test_connecting_another_google_account_removes_the_first_ones_copy_after_the_grace_period(
    site: Site, later: Later
) -> None:
    bram = sign_in(site, "u-bram")
    connect_google(bram, BRAM)
    in_google = group_size(site, BRAM)
    site.stack.people.add_user("bram.private@acme.example")
    connect_google(bram, "bram.private@acme.example")
    assert of(site, BRAM).leaving_reason == "replaced on the page by another Google account of its person"
    later.offset = 25 * HOUR
    tick(site, later)
    assert group_size(site, BRAM) == 0 and group_size(site, "bram.private@acme.example") == in_google
    bram = sign_in(site, "u-bram")
    # Connected again: the first one is on again, its removal record cleared.
    connect_google(bram, BRAM)
    assert of(site, BRAM).removed_at is None and of(site, BRAM).enabled


def test_remove_now_while_a_run_writes_or_with_a_revoked_grant_says_so_and_the_runner_finishes_it(
    site: Site, later: Later
) -> None:
    bram = sign_in(site, "u-bram")
    connect_google(bram, BRAM)
    in_google = group_size(site, BRAM)
    key = user_lease_key(BRAM, "")
    assert site.state.acquire_lease(key, "a-run", later(), 60)
    busy = turn_off(bram, "now")
    assert busy.status_code == 409 and "the next run removes them" in busy.text
    assert group_size(site, BRAM) == in_google and of(site, BRAM).remove_now
    site.state.release_lease(key, "a-run")
    tick(site, later)
    assert group_size(site, BRAM) == 0 and of(site, BRAM).removed_persons == in_google
    # A grant revoked before the removal: said in a sentence, and tried again by the runner.
    ada = sign_in(site, "u-ada")
    connect_google(ada, ADA)
    site.stack.people.revoke(ADA)
    revoked = turn_off(ada, "now")
    assert revoked.status_code == 200 and "0 contacts removed, but Google no longer accepts" in revoked.text
    assert of(site, ADA).removal_problem == REVOKED and group_size(site, ADA) == in_google
    assert "no longer accepts this account" in ada.get("/card", base_url=PAGE_URL).text
    tried = of(site, ADA).removal_tried_at
    later.offset = 2 * HOUR
    assert tick(site, later).accounts[0].destinations[-1].error == REVOKED
    assert of(site, ADA).removal_tried_at != tried and of(site, ADA).removal_problem == REVOKED


@pytest.mark.parametrize("deactivated_tokens", ["refused", "work"])
def test_the_connections_own_user_deactivated_leaves_once_teamleader_can_be_read(
    site: Site, later: Later, deactivated_tokens: str
) -> None:
    """Ada's token is the connection's. Teamleader may go on accepting a deactivated user's
    token (she leaves at the next run), or refuse it (the connection waits to be reconnected,
    which its status says; then she leaves)."""
    site.stack.teamleader.deactivated_tokens = deactivated_tokens
    ada = sign_in(site, "u-ada")
    connect_google(ada, ADA)
    site.stack.teamleader.set_user_status("acme", "u-ada", "deactivated")
    tick(site, later, account="acme")
    record = site.state.account("acme")
    assert record is not None
    if deactivated_tokens == "refused":
        assert record.status == "needs_reauth" and of(site, ADA).leaving_since is None
        tokens = site.stack.teamleader.issue_tokens("acme", "u-bram")
        site.secrets.write(record.teamleader_secret, json.dumps({"refresh_token": tokens["refresh_token"]}))
        tick(site, later, account="acme")
    assert of(site, ADA).leaving_reason == DEACTIVATED
