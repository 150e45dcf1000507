"""Teamleader's OAuth for one account: the access token, refreshed with the rotating refresh
token, each rotated token handed to `on_rotate` (stored) before the new access token is used,
so a token is never lost to a crash between refreshing and storing."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from sync.errors import OAUTH_CLIENT_REFUSALS, ReauthRequiredError, TeamleaderError, TokenStoreError
from sync.teamleader.tokens import TeamleaderTokens


class TransientError(Exception):
    """A failure worth retrying: 5xx or a transport error on an idempotent read."""


class TeamleaderAuth:
    """The account's tokens and the OAuth client they are refreshed with."""

    def __init__(
        self,
        http: httpx.Client,
        token_url: str,
        client: tuple[str, str],
        tokens: TeamleaderTokens,
        on_rotate: Callable[[TeamleaderTokens], None],
        clock: Callable[[], float] = time.time,
        reload: Callable[[], TeamleaderTokens] | None = None,
        reload_client: Callable[[], tuple[str, str]] | None = None,
    ) -> None:
        self._http = http
        self._token_url = token_url
        self._client = client
        self.tokens = tokens
        self._on_rotate = on_rotate
        self._clock = clock
        # Given when `tokens` were kept from an earlier run in this process: another may have
        # rotated them since, so the stored ones are read before any refresh (a refresh token
        # used twice is refused, and the connection would need reconnecting).
        self._reload = reload
        # Given when the client's id and secret were kept from an earlier run: an operator may
        # have rotated the secret since, so a refused client is read again once before failing.
        self._reload_client = reload_client

    def access_token(self) -> str:
        """A valid access token, refreshed first when it is missing or about to expire."""
        if self.tokens.expiring(self._clock()):
            self._refresh()
        assert self.tokens.access_token is not None
        return self.tokens.access_token

    def expire(self) -> None:
        """Drop the access token (refused by the API): the next call refreshes."""
        self.tokens = TeamleaderTokens(self.tokens.refresh_token)

    def _refresh(self) -> None:
        """Trade the refresh token for a new pair; store the new refresh token first."""
        if self._reload is not None:
            stored, self._reload = self._reload(), None
            if stored.refresh_token != self.tokens.refresh_token:
                # Rotated elsewhere since: the stored pair is the live one.
                self.tokens = stored
                if not self.tokens.expiring(self._clock()):
                    return
        answer = self._ask()
        # The integration's client refused (401, or 400 as OAuth allows for a client sent in the
        # body): its secret may have been rotated since this instance read it.
        refused_client = answer.status_code in (400, 401) and _error(answer) in OAUTH_CLIENT_REFUSALS
        if refused_client and self._reload_client is not None:
            stored_client, self._reload_client = self._reload_client(), None
            if stored_client != self._client:
                self._client = stored_client
                answer = self._ask()
        if answer.status_code in (400, 401):
            error = _error(answer)
            if error in OAUTH_CLIENT_REFUSALS:
                # The deployment's client, not the person's grant: a reconnect would not help.
                raise TeamleaderError(answer.status_code, str(error))
            if error in ("invalid_grant", "invalid_request", "") or answer.status_code == 400:
                raise ReauthRequiredError("Teamleader", str(error or answer.status_code))
            raise TeamleaderError(answer.status_code, str(error))
        if answer.status_code >= 500 or answer.status_code == 429:
            raise TransientError(f"token endpoint {answer.status_code}")
        if answer.status_code != 200:
            raise TeamleaderError(answer.status_code, "token endpoint refused the request")
        body = answer.json()
        rotated = TeamleaderTokens(
            refresh_token=body["refresh_token"],
            access_token=body["access_token"],
            expires_at=self._clock() + float(body.get("expires_in", 3600)),
        )
        try:
            self._on_rotate(rotated)
        except Exception as exc:
            raise TokenStoreError("the rotated Teamleader refresh token could not be stored") from exc
        self.tokens = rotated

    def _ask(self) -> httpx.Response:
        return self._http.post(
            self._token_url,
            data={
                "grant_type": "refresh_token",
                "client_id": self._client[0],
                "client_secret": self._client[1],
                "refresh_token": self.tokens.refresh_token,
            },
        )


def json_object(answer: httpx.Response) -> dict[str, Any]:
    """An answer's JSON body when it is an object; empty otherwise (no body, HTML, a list)."""
    try:
        body = answer.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _error(answer: httpx.Response) -> str:
    return str(json_object(answer).get("error", ""))
