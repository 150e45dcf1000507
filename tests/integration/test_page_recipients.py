"""The admin's page sets who receives the contacts: every member of a Google Group, listed
Workspace users, or each person's own consent; an address delegation cannot reach is refused in
a sentence; only an admin, of their own connection, with the session's CSRF token."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.stack import SandboxStack
from sync.state.connections import AccountRecord
from tests.page_site import PAGE_URL, Site, connect_google, csrf, make_site, post, sign_in


@pytest.fixture
def site(stack: SandboxStack, tmp_path: Path) -> Site:
    return make_site(stack, tmp_path, accounts="acme,globex")


def acme(site: Site) -> AccountRecord:
    record = site.state.account("acme")
    assert record is not None
    return record


def test_an_admin_sets_a_group_then_listed_users_then_consent_again(site: Site) -> None:
    ada = sign_in(site, "u-ada")
    group = {"recipients": "group", "group": "sales@acme.com", "admin": "it@acme.com"}
    assert post(ada, "/admin/recipients", group).status_code == 303
    record = acme(site)
    assert (record.workspace_domain, record.team_group, record.directory_admin) == (
        "acme.com",
        "sales@acme.com",
        "it@acme.com",
    )
    page = ada.get("/admin", base_url=PAGE_URL).text
    assert 'value="sales@acme.com"' in page and 'value="group" checked' in page
    listed = {"recipients": "listed", "domain": "acme.com", "listed": "ann@acme.com, bob@acme.com"}
    assert post(ada, "/admin/recipients", listed).status_code == 303
    record = acme(site)
    assert record.team_group is None
    assert [d.user for d in record.targets if d.delegated and d.enabled] == ["ann@acme.com", "bob@acme.com"]
    assert post(ada, "/admin/recipients", {"recipients": "consent"}).status_code == 303
    record = acme(site)
    assert record.workspace_domain is None and not any(d.enabled for d in record.targets if d.delegated)


@pytest.mark.parametrize(
    "form",
    [
        {"recipients": "group", "group": "sales@acme.com", "admin": "joe@gmail.com"},
        {"recipients": "listed", "domain": "acme.com", "listed": "ann@acme.com joe@gmail.com"},
    ],
)
def test_an_address_outside_the_workspace_is_refused_in_a_sentence(site: Site, form: dict[str, str]) -> None:
    ada = sign_in(site, "u-ada")
    refused = post(ada, "/admin/recipients", form)
    assert refused.status_code == 400
    assert "joe@gmail.com is not a user of acme.com: domain-wide delegation reaches only" in refused.text
    assert acme(site).workspace_domain is None and not any(d.delegated for d in acme(site).targets)


def test_only_an_admin_of_the_connection_with_the_csrf_token(site: Site) -> None:
    ada = sign_in(site, "u-ada")
    form = {"recipients": "group", "group": "sales@acme.com", "admin": "it@acme.com"}
    assert ada.post("/admin/recipients", data=form, base_url=PAGE_URL).status_code == 403
    bram = sign_in(site, "u-bram")
    connect_google(bram, "bram@acme.example")
    assert post(bram, "/admin/recipients", form).status_code == 403
    eva = sign_in(site, "u-eva")  # connects globex, and is its admin: her change is globex's
    theirs = {**form, "group": "sales@globex.com", "admin": "it@globex.com"}
    answer = eva.post("/admin/recipients", data={**theirs, "csrf": csrf(eva, "/admin")}, base_url=PAGE_URL)
    assert answer.status_code == 303
    assert acme(site).team_group is None
    globex = site.state.account("globex")
    assert globex is not None and globex.team_group == "sales@globex.com"
    assert post(ada, "/admin/recipients", {"recipients": "everyone"}).status_code == 400
