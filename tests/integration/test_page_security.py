"""The page's security, one test per protection: the session cookie, sessions that expire,
CSRF on every POST, single-use OAuth state, no redirect elsewhere, a person's own destination
and an admin's own account only, the headers of every answer, and error pages without traces."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sandbox.stack import SandboxStack
from sync.serve.page.security import COOKIE
from tests.page_site import (
    PAGE_URL,
    Site,
    browser,
    connect_google,
    csrf,
    local,
    make_site,
    post,
    sign_in,
    through,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def site(stack: SandboxStack, tmp_path: Path, clock: Clock) -> Site:
    return make_site(stack, tmp_path, contacts=10, accounts="acme,globex", clock=clock)


def test_the_session_cookie_holds_a_random_id_only_out_of_scripts_reach(site: Site) -> None:
    start = browser(site).get("/auth/teamleader/start", base_url=PAGE_URL)
    cookie = start.headers["Set-Cookie"]
    value = re.match(rf"{COOKIE}=([^;]+);", cookie)
    assert value and len(value.group(1)) >= 40
    attributes = {part.strip().split("=")[0].lower(): part for part in cookie.split(";")[1:]}
    assert {"httponly", "secure", "samesite"} <= set(attributes)
    assert attributes["samesite"].strip() == "SameSite=Lax"
    assert "expires" not in attributes and "max-age" not in attributes


def test_a_session_lives_in_the_store_until_its_expiry(site: Site, clock: Clock) -> None:
    bram = sign_in(site, "u-bram")
    assert bram.get("/card", base_url=PAGE_URL).status_code == 200
    clock.now += site.settings.session_hours * 3600 + 1
    assert bram.get("/card", base_url=PAGE_URL).status_code == 303


def test_signing_in_gives_a_new_session_id(site: Site) -> None:
    client = browser(site)
    start = client.get("/auth/teamleader/start", base_url=PAGE_URL)
    planted = client.get_cookie(COOKIE, domain="page.test").value
    back = through(start.headers["Location"], sandbox_user="u-bram")
    client.get(local(back), base_url=PAGE_URL)
    assert client.get_cookie(COOKIE, domain="page.test").value != planted
    assert site.state.session(planted, 0) is None


def test_every_post_needs_the_sessions_csrf_token(site: Site) -> None:
    bram = sign_in(site, "u-bram")
    connect_google(bram, "bram@acme.example")
    form = {"group": "Hijacked", "scope": "all", "enabled": "on"}
    assert bram.post("/card", data=form, base_url=PAGE_URL).status_code == 403
    assert bram.post("/card", data={**form, "csrf": "x" * 43}, base_url=PAGE_URL).status_code == 403
    assert bram.post("/signout", base_url=PAGE_URL).status_code == 403
    destination = site.state.account("acme").destination("bram@acme.example")  # type: ignore[union-attr]
    assert destination is not None and destination.group_name == "Teamleader"
    # Another person's token is no good either.
    ada = sign_in(site, "u-ada")
    assert bram.post("/card", data={**form, "csrf": csrf(ada)}, base_url=PAGE_URL).status_code == 403


def test_an_oauth_state_is_single_use_and_bound_to_its_session(site: Site) -> None:
    client = browser(site)
    start = client.get("/auth/teamleader/start", base_url=PAGE_URL)
    back = local(through(start.headers["Location"], sandbox_user="u-bram"))
    # Another browser cannot finish this sign-in.
    assert browser(site).get(back, base_url=PAGE_URL).status_code == 400
    assert client.get(back, base_url=PAGE_URL).status_code == 303
    assert client.get(back, base_url=PAGE_URL).status_code == 400
    # Google's too: a redirect replayed (its code even unused) is refused, nothing stored.
    start = client.get("/auth/google/start", base_url=PAGE_URL)
    google_back = local(through(start.headers["Location"], sandbox_user="bram@acme.example"))
    # Another browser, signed in as someone else, cannot finish it.
    assert sign_in(site, "u-ada").get(google_back, base_url=PAGE_URL).status_code == 400
    site.run_now = False
    assert client.get(google_back, base_url=PAGE_URL).status_code == 303
    replayed = local(through(start.headers["Location"], sandbox_user="bram@acme.example"))
    assert client.get(replayed, base_url=PAGE_URL).status_code == 400


def test_no_answer_redirects_to_another_host(site: Site) -> None:
    bram = sign_in(site, "u-bram")
    allowed = (PAGE_URL, site.stack.url("teamleader"), site.stack.url("people"), "/")
    for path in ("/", "/card?next=https://evil.example", "/auth/google/start", "/auth/teamleader?state=x&code=y"):
        answer = bram.get(path, base_url=PAGE_URL)
        location = answer.headers.get("Location", "/")
        assert location.startswith(allowed), location
        assert "evil.example" not in location


def test_a_person_changes_only_their_own_destination(site: Site) -> None:
    ada = sign_in(site, "u-ada")
    connect_google(ada, "ada@acme.example")
    bram = sign_in(site, "u-bram")
    # Bram has no destination: nothing of Ada's is his to see or change, whatever he sends.
    card = bram.get("/card", base_url=PAGE_URL).text
    assert "ada@acme.example" not in card
    ada_name = site.state.account("acme").destination("ada@acme.example").name  # type: ignore[union-attr]
    answer = post(
        bram, "/card", {"group": "Bram's", "scope": "all", "destination": ada_name, "user": "ada@acme.example"}
    )
    assert answer.status_code == 404
    assert post(bram, "/card/sync", {"destination": ada_name}).status_code == 400
    destination = site.state.account("acme").destination("ada@acme.example")  # type: ignore[union-attr]
    assert destination is not None and destination.group_name == "Teamleader" and destination.enabled


def test_an_admin_reaches_only_their_own_account(site: Site) -> None:
    ada = sign_in(site, "u-ada")
    connect_google(ada, "ada@acme.example")
    eva = sign_in(site, "u-eva")  # connects globex, and is its admin
    assert eva.get("/admin", base_url=PAGE_URL).status_code == 200
    ada_name = site.state.account("acme").destination("ada@acme.example").name  # type: ignore[union-attr]
    assert post(eva, "/admin/off", {"destination": ada_name}).status_code == 404
    assert "ada@acme.example" not in eva.get("/admin", base_url=PAGE_URL).text
    assert site.state.account("acme").destination("ada@acme.example").enabled  # type: ignore[union-attr]
    post(eva, "/admin/rules", {"who": "people", "people": "u-eva", "domains": "globex.example"})
    assert site.state.page_rules("acme").who == "all"  # type: ignore[union-attr]
    # Ada, admin of acme, turns her own account's person off.
    assert post(ada, "/admin/off", {"destination": ada_name}).status_code == 303
    assert not site.state.account("acme").destination("ada@acme.example").enabled  # type: ignore[union-attr]


def test_only_listed_people_may_turn_it_on_when_the_rule_says_so(site: Site) -> None:
    ada = sign_in(site, "u-ada")
    assert 'value="u-chloe" > Chloé Dubois' in ada.get("/admin", base_url=PAGE_URL).text
    post(ada, "/admin/rules", {"who": "people", "person": "u-chloe"})
    bram = sign_in(site, "u-bram")
    assert bram.get("/auth/google/start", base_url=PAGE_URL).status_code == 403
    chloe = sign_in(site, "u-chloe")
    assert chloe.get("/auth/google/start", base_url=PAGE_URL).status_code == 303


def test_every_answer_carries_the_security_headers(site: Site) -> None:
    bram = sign_in(site, "u-bram")
    for answer in (
        browser(site).get("/", base_url=PAGE_URL),
        bram.get("/card", base_url=PAGE_URL),
        bram.get("/nowhere", base_url=PAGE_URL),
        bram.post("/card", base_url=PAGE_URL),
    ):
        policy = answer.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy
        assert "script-src" not in policy and "default-src 'none'" in policy
        assert answer.headers["Referrer-Policy"] == "no-referrer"
        assert answer.headers["Strict-Transport-Security"].startswith("max-age=")
        assert "<script" not in answer.text and "style=" not in answer.text


def test_an_error_page_shows_no_stack_trace(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    bram = sign_in(site, "u-bram")

    def broken(account: str) -> None:
        raise RuntimeError("secret detail /home/x/sync/state.py")

    monkeypatch.setattr(site.state, "account", broken)
    answer = bram.get("/card", base_url=PAGE_URL)
    assert answer.status_code == 500 and "error " in answer.text
    assert "Traceback" not in answer.text and "secret detail" not in answer.text
    assert answer.headers["Content-Security-Policy"]


def test_signing_out_ends_the_session_in_the_store(site: Site) -> None:
    bram = sign_in(site, "u-bram")
    session_id = bram.get_cookie(COOKIE, domain="page.test").value
    assert post(bram, "/signout", {}).status_code == 303
    assert site.state.session(session_id, 0) is None
    assert bram.get("/card", base_url=PAGE_URL).status_code == 303
