"""The page's two OAuth flows, as plain HTTP: Teamleader's sign-in (whose tokens serve to ask
`users.me` who signed in) and Google's web-server flow (state, PKCE S256, offline, consent
every time). The flows' `state` and verifier live in the session (sync/state/page.py)."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx

from sync.config import Settings, url
from sync.errors import SyncError
from sync.google.people import SCOPES
from sync.secrets.port import SecretStore, client_secret_name
from sync.serve.consent import CONSENT_SCOPES, consenting_address


class SignInError(SyncError):
    """A flow that cannot finish; its message is for the person."""


@dataclass
class Person:
    """Who signed in with Teamleader, as `users.me` says."""

    user_id: str
    account_id: str
    name: str
    teams: list[str] = field(default_factory=list)
    tokens: dict[str, Any] = field(default_factory=dict)


def client(settings: Settings, secrets_: SecretStore, kind: str) -> dict[str, str]:
    """An OAuth client's id and secret from the secret store."""
    if kind == "google-web":
        name = settings.google_web_client_secret or client_secret_name(settings.secret_prefix, "google-web")
    else:
        name = client_secret_name(settings.secret_prefix, "teamleader")
    try:
        data: dict[str, str] = json.loads(secrets_.read(name))
    except KeyError:
        raise SignInError("This page is not set up yet (its OAuth client is missing).") from None
    return data


def redirect_uri(settings: Settings, side: str) -> str:
    return f"{url(settings.page_url)}/auth/{side}"


def teamleader_link(settings: Settings, client_id: str, state: str) -> str:
    query = {
        "client_id": client_id,
        "response_type": "code",
        "redirect_uri": redirect_uri(settings, "teamleader"),
        "state": state,
    }
    return f"{url(settings.teamleader_authorize_url)}?{urlencode(query)}"


def new_verifier() -> tuple[str, str]:
    """A PKCE verifier and its S256 challenge."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def google_link(settings: Settings, client_id: str, state: str, challenge: str) -> str:
    query = {
        "client_id": client_id,
        "response_type": "code",
        "redirect_uri": redirect_uri(settings, "google"),
        "scope": " ".join(CONSENT_SCOPES),
        "state": state,
        "access_type": "offline",
        # A refresh token every time, also for a person who connected before.
        "prompt": "consent",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    return f"{url(settings.google_auth_uri)}?{urlencode(query)}"


def _token(http: httpx.Client, token_url: str, form: dict[str, str]) -> dict[str, Any]:
    try:
        answer = http.post(token_url, data={**form, "grant_type": "authorization_code"})
    except httpx.HTTPError:
        raise SignInError("The sign-in service did not answer; try again in a minute.") from None
    if answer.status_code != 200:
        raise SignInError("The sign-in was refused or has expired; start again.")
    body: dict[str, Any] = answer.json()
    return body


def teamleader_person(settings: Settings, secrets_: SecretStore, http: httpx.Client, code: str) -> Person:
    """Exchange the code and ask `users.me` who signed in."""
    tl = client(settings, secrets_, "teamleader")
    tokens = _token(
        http,
        url(settings.teamleader_token_url),
        {
            "client_id": tl["client_id"],
            "client_secret": tl["client_secret"],
            "code": code,
            "redirect_uri": redirect_uri(settings, "teamleader"),
        },
    )
    try:
        me = http.post(
            f"{url(settings.teamleader_api_url)}/users.me",
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
            json={},
        )
        data = me.json()["data"] if me.status_code == 200 else None
    except (httpx.HTTPError, ValueError, KeyError):
        data = None
    if not isinstance(data, dict) or not data.get("id") or not isinstance(data.get("account"), dict):
        raise SignInError("Teamleader did not say who you are; try again in a minute.")
    if "teams" in data:
        teams = [str(t.get("id")) for t in data.get("teams") or [] if isinstance(t, dict)]
    else:
        teams = _teams_by_members(settings, http, str(tokens["access_token"]), str(data["id"]))
    name = f"{data.get('first_name', '')} {data.get('last_name', '')}".strip()
    tokens["expires_at"] = time.time() + float(tokens.get("expires_in", 3600))
    return Person(str(data["id"]), str(data["account"]["id"]), name, teams, tokens)


def _teams_by_members(settings: Settings, http: httpx.Client, access_token: str, user_id: str) -> list[str]:
    """The teams whose members include the user, for a `users.me` that lists none (the
    archived API blueprint's has no `teams`): teams.list names each team's members."""
    try:
        answer = http.post(
            f"{url(settings.teamleader_api_url)}/teams.list",
            headers={"Authorization": f"Bearer {access_token}"},
            json={"page": {"size": 100, "number": 1}},
        )
        teams = answer.json()["data"] if answer.status_code == 200 else []
    except (httpx.HTTPError, ValueError, KeyError):
        teams = []
    return [
        str(team["id"])
        for team in teams
        if isinstance(team, dict)
        and any(isinstance(m, dict) and m.get("id") == user_id for m in team.get("members") or [])
    ]


def google_grant(
    settings: Settings, secrets_: SecretStore, http: httpx.Client, code: str, verifier: str
) -> tuple[str, str]:
    """Exchange the code (with the PKCE verifier): the consenting address and the refresh
    token, once the contacts permission is known to be granted."""
    web = client(settings, secrets_, "google-web")
    tokens = _token(
        http,
        url(settings.google_token_uri),
        {
            "client_id": web["client_id"],
            "client_secret": web["client_secret"],
            "code": code,
            "code_verifier": verifier,
            "redirect_uri": redirect_uri(settings, "google"),
        },
    )
    granted = set(str(tokens.get("scope", " ".join(CONSENT_SCOPES))).split())
    if not set(SCOPES) <= granted:
        raise SignInError(
            "Google was not allowed to reach your contacts (the box was unticked), so nothing was connected. "
            "Connect again and keep “See, edit, download, and permanently delete your contacts” ticked."
        )
    address = consenting_address(tokens.get("id_token"))
    if address is None:
        raise SignInError(
            "Google did not tell which account you signed in with; connect again and allow your e-mail address."
        )
    if not tokens.get("refresh_token"):
        raise SignInError("Google answered without a lasting permission; connect again.")
    return address, str(tokens["refresh_token"])
