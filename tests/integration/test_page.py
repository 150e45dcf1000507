"""The people's page end to end against the sandbox, through Flask's test client: an admin
connects the account and sets the rules, people connect their own Google accounts, see their
counts and skipped contacts, turn it off with removal; and the refusals, each in a sentence."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sandbox.stack import SandboxStack
from tests.page_site import PAGE_URL, Site, connect_google, group_size, make_site, post, sign_in


@pytest.fixture
def site(stack: SandboxStack, tmp_path: Path) -> Site:
    return make_site(stack, tmp_path)


def test_the_first_allowed_person_connects_the_account_and_is_its_admin(site: Site) -> None:
    ada = sign_in(site, "u-ada")
    assert ada.last.status_code == 303 and ada.last.headers["Location"].endswith("/card")
    record = site.state.account("acme")
    rules = site.state.page_rules("acme")
    assert record is not None and rules is not None and rules.admins == ["u-ada"]
    assert "refresh_token" in site.secrets.read(record.teamleader_secret)
    card = ada.get("/card", base_url=PAGE_URL).text
    assert "Connect Google" in card and 'href="/admin"' in card
    # A second person of the account is no admin, and does not reconnect it.
    bram = sign_in(site, "u-bram")
    assert bram.get("/admin", base_url=PAGE_URL).status_code == 403
    assert site.state.page_rules("acme") == rules


def test_a_person_of_an_account_not_allowed_to_connect_is_refused(site: Site) -> None:
    eva = sign_in(site, "u-eva")
    assert eva.last.status_code == 403
    assert "is not connected to this service" in eva.last.text
    assert site.state.account("globex") is None
    assert eva.get("/card", base_url=PAGE_URL).status_code == 303


def test_people_connect_google_see_their_card_and_one_turns_off_with_removal(site: Site) -> None:
    ada = sign_in(site, "u-ada")
    sales = site.team_id("acme", "Sales")
    rules = post(ada, "/admin/rules", {"who": "teams", "team": sales, "domains": "acme.example"})
    assert rules.status_code == 303
    bram = sign_in(site, "u-bram")
    assert connect_google(bram, "bram@acme.example").status_code == 303
    assert connect_google(ada, "ada@acme.example").status_code == 303
    assert ("acme", "bram@acme.example") in site.started
    in_google = group_size(site, "bram@acme.example")
    assert in_google > 0
    card = bram.get("/card", base_url=PAGE_URL).text
    assert f"{in_google} contacts" in card
    skipped = re.findall(r"<tr><td>([^<]+)</td><td>([^<]+)</td></tr>", card)
    assert skipped and all(reason for _, reason in skipped)
    name = skipped[0][0]
    found = bram.get("/card", query_string={"q": name.split()[-1]}, base_url=PAGE_URL).text
    assert name in found and f"{in_google} contacts" in found
    assert "No skipped contact" in bram.get("/card", query_string={"q": "Nobody Zzz"}, base_url=PAGE_URL).text

    admin = ada.get("/admin", base_url=PAGE_URL).text
    assert f'value="{sales}" checked> Sales' in admin and "Support" in admin
    assert "bram@acme.example" in admin and f"<td>{in_google}</td>" in admin
    assert "<td>Bram Janssens</td>" in admin
    assert "Teamleader calls in the last run" in admin

    chloe = sign_in(site, "u-chloe")
    refused = connect_google(chloe, "chloe@gmail.example")
    assert refused.status_code == 403 and "only Google addresses of acme.example" in refused.text
    assert site.state.account("acme").destination("chloe@gmail.example") is None  # type: ignore[union-attr]

    off = post(bram, "/card", {"group": "Teamleader", "scope": "all", "region": "", "remove": "now"})
    assert off.status_code == 303 and "notice=removed" in off.headers["Location"]
    assert group_size(site, "bram@acme.example") == 0
    assert not [
        g
        for g in site.stack.people.users["bram@acme.example"].groups.values()
        if g.name == "Teamleader" and g.deleted_at is None
    ]
    assert group_size(site, "ada@acme.example") == in_google


def test_a_person_outside_the_allowed_team_is_refused_in_a_sentence(site: Site) -> None:
    ada = sign_in(site, "u-ada")
    post(ada, "/admin/rules", {"who": "teams", "team": site.team_id("acme", "Support"), "domains": ""})
    bram = sign_in(site, "u-bram")
    card = bram.get("/card", base_url=PAGE_URL).text
    assert "only members of chosen teams" in card
    assert bram.get("/auth/google/start", base_url=PAGE_URL).status_code == 403


def test_a_consent_without_the_contacts_permission_stores_nothing(site: Site) -> None:
    bram = sign_in(site, "u-bram")
    answer = connect_google(bram, "bram@acme.example", scope="openid https://www.googleapis.com/auth/userinfo.email")
    assert answer.status_code == 400 and "not allowed to reach your contacts" in answer.text
    record = site.state.account("acme")
    assert record is not None and record.targets == []
    assert site.started == []


def test_a_tag_scope_and_settings_are_saved_on_ones_own_card(site: Site) -> None:
    bram = sign_in(site, "u-bram")
    connect_google(bram, "bram@acme.example")
    saved = post(bram, "/card", {"enabled": "on", "group": "CRM", "scope": "tags", "tags": "vip, expo", "region": "be"})
    assert saved.status_code == 303
    destination = site.state.account("acme").destination("bram@acme.example")  # type: ignore[union-attr]
    assert destination is not None
    assert (destination.group_name, destination.tags, destination.default_region) == ("CRM", ["vip", "expo"], "BE")
    assert post(bram, "/card/sync", {}).status_code == 303
    # At most once a minute, also from another sign-in.
    assert post(bram, "/card/sync", {}).status_code == 429
    assert post(sign_in(site, "u-bram"), "/card/sync", {}).status_code == 429


def test_a_person_who_connects_another_google_account_stops_the_first(site: Site) -> None:
    site.run_now = False
    bram = sign_in(site, "u-bram")
    connect_google(bram, "bram@acme.example")
    site.stack.people.add_user("bram.private@acme.example")
    connect_google(bram, "bram.private@acme.example")
    record = site.state.account("acme")
    assert record is not None
    assert [(d.user, d.enabled) for d in record.targets] == [
        ("bram@acme.example", False),
        ("bram.private@acme.example", True),
    ]
    # Connected again: a new consent in the record, so warm instances read the new token.
    consent = record.targets[0].google_consent
    connect_google(bram, "bram@acme.example")
    again = site.state.account("acme")
    assert again is not None and again.targets[0].google_consent not in (None, consent)


def test_teams_are_found_when_users_me_lists_none(site: Site) -> None:
    site.stack.teamleader.me_lists_teams = False
    ada = sign_in(site, "u-ada")
    post(ada, "/admin/rules", {"who": "teams", "team": site.team_id("acme", "Sales"), "domains": ""})
    assert sign_in(site, "u-bram").get("/auth/google/start", base_url=PAGE_URL).status_code == 303


def test_a_held_run_is_shown_and_its_owner_confirms_the_deletions(site: Site) -> None:
    site.run_now = False
    bram = sign_in(site, "u-bram")
    connect_google(bram, "bram@acme.example")
    assert post(bram, "/card/confirm", {}).status_code == 400
    record = site.state.account("acme")
    assert record is not None
    destination = record.targets[0]
    destination.status, destination.reason = "held", "held before deleting 812 contacts: confirm"
    site.state.put_account(record)
    card = bram.get("/card", base_url=PAGE_URL).text
    assert "held before deleting 812 contacts" in card and "Confirm the deletions" in card
    assert post(bram, "/card/confirm", {}).status_code == 303
    assert site.confirmed == ["bram@acme.example"]


def test_the_operator_stores_the_pages_google_client_from_a_file(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from sync.secrets.localfile import LocalFileSecrets
    from sync.serve.cli.main import main

    env = {"SYNC_SQLITE_PATH": str(tmp_path / "s.sqlite3"), "SYNC_SECRETS_FILE": str(tmp_path / "secrets.json")}
    downloaded = tmp_path / "web.json"
    downloaded.write_text('{"web": {"client_id": "web-id", "client_secret": "web-secret"}}')
    result = CliRunner().invoke(main, ["page-client", "--client-file", str(downloaded)], env=env)
    assert result.exit_code == 0, result.output
    stored = LocalFileSecrets(tmp_path / "secrets.json").read("google-web-oauth-client")
    assert "web-id" in stored and "web-secret" in stored and "web-secret" not in result.output
