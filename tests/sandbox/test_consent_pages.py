"""The sandboxes' consent pages followed with plain HTTP, form by form as a browser posts them:
who may sign in, what a refusal and an unticked box bring back, PKCE, and who the tokens say
signed in (Teamleader's users.me, Google's userinfo and ID token)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from sandbox.cast import seed_cast
from sandbox.consent_flow import Flow, finish_google, finish_teamleader, google_flow, teamleader_flow
from sandbox.people import CONTACTS_SCOPE
from sandbox.stack import GOOGLE_CLIENT, TEAMLEADER_CLIENT, SandboxStack

REDIRECT = "http://127.0.0.1:9/back"


class _Form(HTMLParser):
    """The fields a browser would post from a page's form: hidden ones, and the radio buttons
    and checkboxes a person may pick (with whether each starts checked)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.action = ""
        self.hidden: dict[str, str] = {}
        self.boxes: list[tuple[str, str, str, bool]] = []  # type, name, value, checked
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.action = a["action"]
        elif tag == "input" and a.get("type") == "hidden":
            self.hidden[a["name"]] = a["value"]
        elif tag == "input":
            self.boxes.append((a["type"], a["name"], a["value"], "checked" in a))


@pytest.fixture
def cast(stack: SandboxStack) -> Iterator[SandboxStack]:
    seed_cast(stack)
    stack.teamleader.interactive_consent = True
    stack.people.interactive_consent = True
    yield stack


def _post(base: str, page: httpx.Response, **chosen: str | list[str]) -> httpx.Response:
    form = _Form(page.text)
    return httpx.post(base + form.action, data={**form.hidden, **chosen}, follow_redirects=False)


def _redirect(answer: httpx.Response) -> dict[str, str]:
    assert answer.status_code == 302, answer.text
    location = answer.headers["location"]
    assert location.startswith(REDIRECT + "?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def _sign_in(stack: SandboxStack, user: str, decision: str = "allow") -> tuple[Flow, httpx.Response]:
    """A person opens Teamleader's link, picks `user`, and answers the approval page."""
    flow = teamleader_flow(stack, REDIRECT)
    base = stack.url("teamleader")
    sign_in = httpx.get(flow.link)
    assert sign_in.status_code == 200 and sign_in.headers["content-type"].startswith("text/html")
    approval = _post(base, sign_in, user=user)
    if approval.status_code != 200:
        return flow, approval
    return flow, _post(base, approval, decision=decision)


def _refresh(stack: SandboxStack, service: str, refresh_token: str) -> httpx.Response:
    """A refresh-token grant at the service's token endpoint, as its client."""
    client_id, secret = TEAMLEADER_CLIENT if service == "teamleader" else GOOGLE_CLIENT
    path = "/oauth2/access_token" if service == "teamleader" else "/token"
    form = {"grant_type": "refresh_token", "client_id": client_id, "client_secret": secret}
    return httpx.post(stack.url(service) + path, data={**form, "refresh_token": refresh_token})


def _me(stack: SandboxStack, access_token: str, **json_body: Any) -> httpx.Response:
    return httpx.post(
        stack.url("teamleader") + "/users.me", headers={"Authorization": f"Bearer {access_token}"}, json=json_body
    )


def test_teamleader_sign_in_lists_every_account_and_the_code_acts_for_the_one_who_signed_in(
    cast: SandboxStack,
) -> None:
    page = httpx.get(teamleader_flow(cast, REDIRECT).link)
    users = [value for kind, name, value, _ in _Form(page.text).boxes if kind == "radio" and name == "user"]
    assert users == ["u-ada", "u-bram", "u-chloe", "u-dirk", "u-eva"]
    assert "Chloé Dubois (chloe@acme.example)" in page.text and "Account globex" in page.text
    flow, back = _sign_in(cast, "u-bram")
    query = _redirect(back)
    assert query["state"] == flow.state
    me = finish_teamleader(cast, flow, query["code"])["me"]
    sales = next(t.id for t in cast.teamleader.accounts["acme"].teams.values() if t.name == "Sales")
    assert me["id"] == "u-bram" and me["account"] == {"type": "account", "id": "acme"}
    assert (me["first_name"], me["last_name"], me["email"]) == ("Bram", "Janssens", "bram@acme.example")
    assert me["email_verification_status"] == "confirmed" and me["teams"] == [{"type": "team", "id": sales}]
    assert {"language", "function", "time_zone", "telephones", "preferences"} <= set(me)


def test_users_me_tells_users_of_one_account_and_of_another_apart(cast: SandboxStack) -> None:
    answers = {}
    for account, user in (("acme", "u-chloe"), ("acme", "u-ada"), ("globex", "u-eva")):
        tokens = cast.teamleader.issue_tokens(account, user)
        answers[user] = _me(cast, tokens["access_token"]).json()["data"]
    assert [a["id"] for a in answers.values()] == ["u-chloe", "u-ada", "u-eva"]
    assert [a["account"]["id"] for a in answers.values()] == ["acme", "acme", "globex"]
    assert len(answers["u-chloe"]["teams"]) == 2 and answers["u-chloe"]["first_name"] == "Chloé"
    # A token issued for the account alone, as before users existed, acts for its admin.
    admin = cast.teamleader.issue_tokens("acme")
    assert _me(cast, admin["access_token"]).json()["data"]["id"] == "u-ada"
    refreshed = _refresh(cast, "teamleader", cast.teamleader.issue_tokens("globex", "u-eva")["refresh_token"]).json()
    assert _me(cast, refreshed["access_token"]).json()["data"]["id"] == "u-eva"


def test_an_account_without_users_still_answers_users_me_and_the_archived_shape_has_no_teams(
    stack: SandboxStack,
) -> None:
    stack.teamleader.add_account("solo")
    stack.teamleader.me_lists_teams = False
    me = _me(stack, stack.teamleader.issue_tokens("solo")["access_token"]).json()["data"]
    assert me["account"]["id"] == "solo" and "teams" not in me
    assert _me(stack, stack.teamleader.issue_tokens("solo")["access_token"], extra=1).status_code == 400
    stack.teamleader.accounts["solo"].scopes = {"contacts"}
    refused = _me(stack, stack.teamleader.issue_tokens("solo")["access_token"])
    assert refused.status_code == 403 and "users" in refused.json()["errors"][0]["title"]


def test_a_deactivated_user_cannot_sign_in_and_their_tokens_stop_working(cast: SandboxStack) -> None:
    _, refused = _sign_in(cast, "u-dirk")
    assert refused.status_code == 403 and "location" not in refused.headers
    assert "deactivated" in refused.text and "Dirk Maes" in refused.text
    tokens = cast.teamleader.issue_tokens("acme", "u-bram")
    cast.teamleader.set_user_status("acme", "u-bram", "deactivated")
    assert _me(cast, tokens["access_token"]).status_code == 401
    assert _refresh(cast, "teamleader", tokens["refresh_token"]).json()["error"] == "invalid_grant"
    cast.teamleader.deactivated_tokens = "work"
    assert _me(cast, tokens["access_token"]).status_code == 200


def test_teamleader_deny_and_a_missing_choice(cast: SandboxStack) -> None:
    flow, denied = _sign_in(cast, "u-eva", decision="deny")
    assert _redirect(denied) == {"state": flow.state, "error": "access_denied"}
    nobody = _post(cast.url("teamleader"), httpx.get(flow.link))
    assert nobody.status_code == 400 and "Choose the user" in nobody.text


def test_the_shortcuts_still_answer_at_once_with_pages_on(cast: SandboxStack) -> None:
    flow = teamleader_flow(cast, REDIRECT)
    assert "code" in _redirect(httpx.get(flow.link + "&sandbox_account=globex"))
    assert _redirect(httpx.get(flow.link + "&sandbox_deny=1"))["error"] == "access_denied"
    code = _redirect(httpx.get(flow.link + "&sandbox_user=u-chloe"))["code"]
    assert finish_teamleader(cast, flow, code)["me"]["id"] == "u-chloe"
    google = google_flow(cast, REDIRECT)
    assert "code" in _redirect(httpx.get(google.link + "&sandbox_user=eva@globex.example"))


def test_users_list_and_teams_list(cast: SandboxStack) -> None:
    api = httpx.Client(
        base_url=cast.url("teamleader"),
        headers={"Authorization": f"Bearer {cast.teamleader.issue_tokens('acme')['access_token']}"},
    )
    everyone = api.post("/users.list", json={}).json()["data"]
    assert [u["first_name"] for u in everyone] == ["Ada", "Bram", "Chloé", "Dirk"]
    active = api.post("/users.list", json={"filter": {"status": ["active"]}, "sort": [{"field": "last_name"}]})
    assert [u["last_name"] for u in active.json()["data"]] == ["Dubois", "Janssens", "Peeters"]
    assert {u["status"] for u in active.json()["data"]} == {"active"}
    teams = {t["name"]: t for t in api.post("/teams.list", json={}).json()["data"]}
    assert sorted(teams) == ["Management", "Sales", "Support"]
    assert teams["Sales"]["team_lead"] == {"type": "user", "id": "u-bram"}
    # Documented: a deactivated lead is answered as null.
    assert teams["Support"]["team_lead"] is None
    assert [m["id"] for m in teams["Support"]["members"]] == ["u-chloe", "u-dirk"]
    info = api.post("/users.info", json={"id": "u-dirk"}).json()["data"]
    assert info["status"] == "deactivated"
    assert api.post("/users.list", json={"filter": {"status": ["gone"]}}).status_code == 400


def test_pages_escape_what_comes_from_outside(cast: SandboxStack) -> None:
    cast.teamleader.add_user("globex", "<script>alert(1)</script>", "O'Neil", 'x"@globex.example')
    flow = teamleader_flow(cast, REDIRECT)
    link = flow.link.replace(f"state={flow.state}", "state=%22%3E%3Cb%3Ebold")
    page = httpx.get(link)
    assert "<script>" not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<b>bold" not in page.text and _Form(page.text).hidden["state"] == '"><b>bold'
    assert "default-src 'none'" in page.headers["content-security-policy"]


def _consent(stack: SandboxStack, user: str, ticked: list[str], hint: str | None = None) -> tuple[Flow, httpx.Response]:
    """A person opens Google's link, chooses `user`, ticks `ticked` and clicks Continue."""
    flow = google_flow(stack, REDIRECT, login_hint=hint)
    base = stack.url("people")
    consent = _post(base, httpx.get(flow.link), user=user)
    assert consent.status_code == 200, consent.text
    return flow, _post(base, consent, decision="allow", grant=ticked)


def test_google_chooser_and_unticked_boxes(cast: SandboxStack) -> None:
    flow = google_flow(cast, REDIRECT, login_hint="bram@acme.example")
    chooser = _Form(httpx.get(flow.link).text)
    assert [(v, checked) for _, _, v, checked in chooser.boxes] == [
        ("ada@acme.example", False),
        ("bram@acme.example", True),
        ("chloe@gmail.example", False),
        ("eva@globex.example", False),
    ]
    consent = _post(cast.url("people"), httpx.get(flow.link), user="bram@acme.example")
    # One box, for contacts, unticked: openid and the e-mail address come with signing in.
    assert [(kind, v, checked) for kind, _, v, checked in _Form(consent.text).boxes] == [
        ("checkbox", CONTACTS_SCOPE, False)
    ]
    assert "See, edit, download, and permanently delete your contacts" in consent.text


def test_an_unticked_contacts_box_leaves_it_out_of_the_token_and_the_api_refuses(cast: SandboxStack) -> None:
    flow, back = _consent(cast, "chloe@gmail.example", ticked=[])
    tokens = finish_google(cast, flow, _redirect(back)["code"])
    assert tokens["scope"].split() == ["openid", "https://www.googleapis.com/auth/userinfo.email"]
    assert tokens["userinfo"]["email"] == "chloe@gmail.example"
    groups = httpx.get(
        cast.url("people") + "/v1/contactGroups", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert groups.status_code == 403 and groups.json()["error"]["status"] == "PERMISSION_DENIED"
    refreshed = _refresh(cast, "people", tokens["refresh_token"]).json()
    assert CONTACTS_SCOPE not in refreshed["scope"].split()


def test_a_ticked_box_grants_contacts_and_a_forged_one_grants_nothing_more(cast: SandboxStack) -> None:
    flow, back = _consent(cast, "eva@globex.example", ticked=[CONTACTS_SCOPE, "https://mail.google.com/"])
    tokens = finish_google(cast, flow, _redirect(back)["code"])
    assert tokens["scope"].split()[-1] == CONTACTS_SCOPE and "mail.google.com" not in tokens["scope"]
    assert tokens["refresh_token"].startswith("g-rt-")
    groups = httpx.get(
        cast.url("people") + "/v1/contactGroups", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert groups.status_code == 200


def test_cancel_on_google_is_access_denied(cast: SandboxStack) -> None:
    flow = google_flow(cast, REDIRECT)
    consent = _post(cast.url("people"), httpx.get(flow.link), user="ada@acme.example")
    assert _redirect(_post(cast.url("people"), consent, decision="deny")) == {
        "error": "access_denied",
        "state": flow.state,
    }


def _exchange(stack: SandboxStack, code: str, **extra: str) -> httpx.Response:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    form.update(client_id=GOOGLE_CLIENT[0], client_secret=GOOGLE_CLIENT[1], **extra)
    return httpx.post(stack.url("people") + "/token", data=form)


@pytest.mark.parametrize(("verifier", "status"), [("the flow's", 200), (None, 400), ("not-the-verifier", 400)])
def test_pkce_a_missing_or_wrong_verifier_is_invalid_grant(
    cast: SandboxStack, verifier: str | None, status: int
) -> None:
    flow, back = _consent(cast, "ada@acme.example", ticked=[CONTACTS_SCOPE])
    sent = {"code_verifier": flow.verifier if verifier == "the flow's" else verifier} if verifier else {}
    answer = _exchange(cast, _redirect(back)["code"], **sent)
    assert answer.status_code == status
    assert answer.json().get("error") == (None if status == 200 else "invalid_grant")


def test_pkce_plain_and_no_challenge_at_all(stack: SandboxStack) -> None:
    stack.people.add_user("ada@acme.example")
    base = stack.url("people") + f"/o/oauth2/auth?client_id={GOOGLE_CLIENT[0]}&redirect_uri={REDIRECT}"
    plain = _redirect(httpx.get(base + "&code_challenge=abc-plain-verifier-of-some-length"))["code"]
    assert _exchange(stack, plain, code_verifier="abc-plain-verifier-of-some-length").status_code == 200
    assert _exchange(stack, _redirect(httpx.get(base))["code"]).status_code == 200
    assert httpx.get(base + "&code_challenge=x&code_challenge_method=S512").status_code == 400


def test_userinfo_and_the_id_token_name_the_same_person(cast: SandboxStack) -> None:
    flow, back = _consent(cast, "bram@acme.example", ticked=[CONTACTS_SCOPE])
    tokens = finish_google(cast, flow, _redirect(back)["code"])
    payload = tokens["id_token"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    info = tokens["userinfo"]
    assert info == {"sub": claims["sub"], "email": "bram@acme.example", "email_verified": True}
    assert claims["aud"] == GOOGLE_CLIENT[0]
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert httpx.get(cast.url("people") + "/oauth2/v3/userinfo", headers=bearer).json() == info
    stranger = httpx.get(cast.url("people") + "/v1/userinfo", headers={"Authorization": "Bearer g-at-forged"})
    assert stranger.status_code == 401 and stranger.json()["error"] == "invalid_token"


def test_interactive_consent_is_switched_through_the_control_endpoint(stack: SandboxStack) -> None:
    for name in ("teamleader", "people"):
        answer = httpx.post(stack.url(name) + "/_sandbox/interactive_consent", json={"on": True})
        assert answer.json() == {"interactive_consent": True}
    assert stack.teamleader.interactive_consent and stack.people.interactive_consent
