"""The people's page fuzzed through functions-framework's app for `main.page_http`: any
method, path, cookie, CSRF token, content type and body. Never a 5xx or a trace, the security
headers on every answer, and nothing changed by a POST without the session's CSRF token."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sandbox.stack import SandboxStack
from sync.serve.page.security import COOKIE
from sync.state.connections import AccountRecord, destination_name, new_destination
from sync.state.page import PageRules, Session
from tests.integration.test_fuzz_public import FUZZ, Served, _app, _check_quiet, bodies, content_types, header_text
from tests.page_site import PAGE_URL, Site, make_site

PATHS = [
    "/",
    "/card",
    "/card/sync",
    "/admin",
    "/admin/rules",
    "/admin/off",
    "/admin/recipients",
    "/signout",
    "/auth/teamleader",
    "/auth/teamleader/start",
    "/auth/google",
    "/auth/google/start",
    "/assets/page.css",
    "/static/page.css",
]
FIELDS = ["csrf", "group", "scope", "tags", "region", "enabled", "remove", "who", "team", "teams", "people", "domains"]
FIELDS += ["destination", "state", "code", "error", "q", "next", "recipients", "admin", "domain", "listed"]
ADA = "ada@acme.example"
# Values the forms know (the removal's choices, the switch, Ada's destination), besides any text.
CHOICES = ["now", "later", "keep", "on", "all", destination_name(ADA)]


@pytest.fixture
def page(stack: SandboxStack, tmp_path: Path) -> Iterator[tuple[Served, Site]]:
    app, module = _app("page_http")
    site = make_site(stack, tmp_path, contacts=5)
    site.run_now = False
    # Ada's own destination, connected: turning it off (and removing now) reaches Google.
    ada = new_destination("acme", ADA)
    ada.teamleader_user = "u-ada"
    site.state.put_account(AccountRecord("acme", destinations=[ada]))
    token = stack.people.issue_refresh_token(ADA)
    site.secrets.write(ada.google_secret, json.dumps({"refresh_token": token, "client": "google-web"}))
    site.state.put_page_rules(PageRules("acme", admins=["u-ada"], owners={"u-ada": ada.name}))
    site.state.put_session(Session("good-session", 4e9, "u-ada", "acme", "Ada Peeters", csrf="good-csrf"))
    module._page = site.app
    served = Served(app)
    logging.getLogger().addHandler(served.log)
    yield served, site
    logging.getLogger().removeHandler(served.log)


@FUZZ
@given(
    method=st.sampled_from(["GET", "POST", "POST", "PUT", "DELETE", "HEAD", "OPTIONS"]),
    path=st.sampled_from(PATHS) | st.text(max_size=60).map(lambda text: "/" + quote(text)),
    cookie=st.sampled_from(["good-session", "", "expired", "x" * 300]) | header_text,
    token=st.sampled_from(["good-csrf", "", "bad"]) | header_text,
    form=st.dictionaries(st.sampled_from(FIELDS), st.sampled_from(CHOICES) | st.text(max_size=120), max_size=6),
    query=st.dictionaries(st.sampled_from(FIELDS), header_text, max_size=3),
    raw=st.none() | bodies,
    content_type=content_types,
)
def test_the_page_never_fails_and_changes_nothing_without_the_csrf_token(
    page: tuple[Served, Site],
    method: str,
    path: str,
    cookie: str,
    token: str,
    form: dict[str, str],
    query: dict[str, str],
    raw: bytes | None,
    content_type: str,
) -> None:
    served, site = page
    before = (site.state.page_rules("acme"), site.state.accounts(), len(site.started))
    with served.app.test_client() as client:
        if cookie:
            client.set_cookie(COOKIE, cookie, domain="page.test")
        if raw is None:
            answer = client.open(
                path, method=method, base_url=PAGE_URL, query_string=query, data={**form, "csrf": token}
            )
        else:
            answer = client.open(
                path, method=method, base_url=PAGE_URL, query_string=query, data=raw, content_type=content_type or None
            )
    text = answer.get_data(as_text=True)
    assert answer.status_code < 500, text[:300]
    assert "Traceback" not in text
    # functions-framework's own app answers /static/… (the page's stylesheet is under /assets)
    # and paths its route does not match (a newline): those answers never reach the page.
    if answer.status_code not in (413, 408) and (path in PATHS[:-1] or "Teamleader → Google" in text):
        assert "frame-ancestors 'none'" in answer.headers.get("Content-Security-Policy", ""), (path, answer.status_code)
    if method not in ("GET", "HEAD", "OPTIONS") and not (
        cookie == "good-session" and token == "good-csrf" and raw is None
    ):
        assert (site.state.page_rules("acme"), site.state.accounts(), len(site.started)) == before
    _check_quiet(served)


def test_the_stylesheet_reaches_the_browser_through_the_function(page: tuple[Served, Site]) -> None:
    served, _ = page
    with served.app.test_client() as client:
        home = client.get("/", base_url=PAGE_URL).get_data(as_text=True)
        sheet = client.get("/assets/page.css", base_url=PAGE_URL)
    assert 'href="/assets/page.css"' in home
    assert sheet.status_code == 200 and b"font-family" in sheet.get_data()
