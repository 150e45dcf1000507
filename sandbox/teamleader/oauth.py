"""Teamleader's OAuth: the token endpoint with its single-use rotating refresh tokens, and the
bearer tokens every API call is checked against. Each token acts for one user of one account;
the consent that hands out codes is in `consent`."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import parse_qs

from sandbox.httpserver import Request, Response
from sandbox.teamleader.base import TeamleaderBase
from sandbox.teamleader.model import ApiError, TeamleaderAccount, TeamleaderUser


class TeamleaderOAuth(TeamleaderBase):
    """The token endpoint, and the check of each call's bearer token."""

    def _authenticate(self, request: Request) -> TeamleaderAccount:
        token = request.bearer() or ""
        entry = self._access_tokens.get(token)
        if entry is None:
            raise ApiError(401, "Access token is invalid")
        account_id, expires = entry
        if expires <= self.clock.now():
            raise ApiError(401, "Access token expired")
        if not self._user_may_act(self.user_of_token(token)):
            raise ApiError(401, "Access token is invalid")
        return self.accounts[account_id]

    def user_of_token(self, token: str) -> TeamleaderUser | None:
        """Who an access or refresh token acts for: the user who consented, or the account's
        first user (its admin) for a token issued without one, as `issue_tokens` does; None
        for an unknown token, or an account that has no users yet."""
        entry = self._access_tokens.get(token)
        account_id = entry[0] if entry else self._refresh_tokens.get(token)
        if account_id is None:
            return None
        users = self.accounts[account_id].users
        return users.get(self._token_users.get(token, "")) or next(iter(users.values()), None)

    def _user_may_act(self, user: TeamleaderUser | None) -> bool:
        # Undocumented: whether a deactivated user's tokens go on working. Refused by default,
        # as a user who can no longer sign in is no longer there to act for.
        return user is None or user.status == "active" or self.deactivated_tokens == "work"

    # ---- OAuth ----

    def _new_tokens(self, account_id: str, user_id: str | None = None) -> dict[str, Any]:
        access = "tl-at-" + secrets.token_urlsafe(24)
        refresh = "tl-rt-" + secrets.token_urlsafe(24)
        self._access_tokens[access] = (account_id, self.clock.now() + self.access_token_ttl)
        self._refresh_tokens[refresh] = account_id
        if user_id is not None:
            self._token_users[access] = self._token_users[refresh] = user_id
        return {
            "token_type": "Bearer",
            "expires_in": self.access_token_ttl,
            "access_token": access,
            "refresh_token": refresh,
        }

    def _token(self, request: Request) -> Response:
        content_type = request.headers.get("content-type", "")
        if "json" in content_type:
            form = {k: str(v) for k, v in request.json().items()}
        else:
            form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        client_id = form.get("client_id", "")
        if client_id not in self.clients or self.clients[client_id] != form.get("client_secret"):
            refused = {"error": "invalid_client", "message": "Client authentication failed"}
            return Response(self.client_refusal_status, refused)
        with self._lock:
            grant = form.get("grant_type")
            if grant == "refresh_token":
                refresh = form.get("refresh_token", "")
                if refresh not in self._refresh_tokens or not self._user_may_act(self.user_of_token(refresh)):
                    return _invalid_grant("The refresh token is invalid.")
                account_id = self._refresh_tokens.pop(refresh)
                return Response(200, self._new_tokens(account_id, self._token_users.pop(refresh, None)), wrote=True)
            if grant == "authorization_code":
                entry = self._codes.pop(form.get("code", ""), None)
                if entry is None or entry[2] < self.clock.now():
                    return _invalid_grant("Authorization code is invalid or expired")
                if entry[1] != form.get("redirect_uri"):
                    return _invalid_grant("Redirect URI does not match")
                return Response(200, self._new_tokens(entry[0], entry[3]), wrote=True)
        return Response(400, {"error": "unsupported_grant_type"})


def _invalid_grant(description: str) -> Response:
    return Response(400, {"error": "invalid_grant", "error_description": description})
