"""Both consent flows as the people's page will start and finish them: the authorize links
(Google's with state and a PKCE S256 challenge), and the code exchanges with the identity
that follows (Teamleader's `users.me`, Google's userinfo).

The browser tests drive these links with a redirect catcher standing in for the people's page."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from sandbox.people import CONTACTS_SCOPE
from sandbox.stack import GOOGLE_CLIENT, TEAMLEADER_CLIENT, SandboxStack

# What the page asks Google for: to know who signs in, and their contacts.
GOOGLE_SCOPES = ("openid", "https://www.googleapis.com/auth/userinfo.email", CONTACTS_SCOPE)
TEAMLEADER_PATH = "/teamleader"
GOOGLE_PATH = "/google"


@dataclass
class Flow:
    """One consent started: its link, and what finishing it needs."""

    link: str
    redirect_uri: str
    state: str
    verifier: str = ""


def teamleader_flow(stack: SandboxStack, redirect_uri: str) -> Flow:
    """A Teamleader sign-in link (its scopes are fixed by the integration: none are asked)."""
    state = secrets.token_urlsafe(12)
    query = {"client_id": TEAMLEADER_CLIENT[0], "response_type": "code", "redirect_uri": redirect_uri, "state": state}
    return Flow(f"{stack.url('teamleader')}/oauth2/authorize?{urlencode(query)}", redirect_uri, state)


def google_flow(stack: SandboxStack, redirect_uri: str, login_hint: str | None = None) -> Flow:
    """A Google consent link for `GOOGLE_SCOPES`, offline, with state and PKCE."""
    state = secrets.token_urlsafe(12)
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = {
        "client_id": GOOGLE_CLIENT[0],
        "response_type": "code",
        "redirect_uri": redirect_uri,
        "scope": " ".join(GOOGLE_SCOPES),
        "state": state,
        "access_type": "offline",
        "prompt": "consent",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **({"login_hint": login_hint} if login_hint else {}),
    }
    return Flow(f"{stack.url('people')}/o/oauth2/auth?{urlencode(query)}", redirect_uri, state, verifier)


def finish_teamleader(stack: SandboxStack, flow: Flow, code: str) -> dict[str, Any]:
    """The tokens for the code, and `me`: who signed in, as users.me answers."""
    tokens = _exchange(
        stack.url("teamleader") + "/oauth2/access_token",
        {"code": code, "client_id": TEAMLEADER_CLIENT[0], "client_secret": TEAMLEADER_CLIENT[1]},
        flow,
    )
    me = httpx.post(
        stack.url("teamleader") + "/users.me",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
        json={},
        timeout=10,
    )
    me.raise_for_status()
    return {**tokens, "me": me.json()["data"]}


def finish_google(stack: SandboxStack, flow: Flow, code: str) -> dict[str, Any]:
    """The tokens for the code (with the PKCE verifier), and `userinfo`: who consented."""
    tokens = _exchange(
        stack.url("people") + "/token",
        {
            "code": code,
            "client_id": GOOGLE_CLIENT[0],
            "client_secret": GOOGLE_CLIENT[1],
            "code_verifier": flow.verifier,
        },
        flow,
    )
    info = httpx.get(
        stack.url("people") + "/v1/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}, timeout=10
    )
    info.raise_for_status()
    return {**tokens, "userinfo": info.json()}


def _exchange(url: str, form: dict[str, str], flow: Flow) -> dict[str, Any]:
    answer = httpx.post(
        url, data={**form, "grant_type": "authorization_code", "redirect_uri": flow.redirect_uri}, timeout=10
    )
    if answer.status_code != 200:
        raise RuntimeError(f"the token endpoint refused the code: {answer.status_code} {answer.text}")
    tokens: dict[str, Any] = answer.json()
    return tokens
