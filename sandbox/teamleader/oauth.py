"""Teamleader's OAuth: the consent that hands out a code, the token endpoint with its
single-use rotating refresh tokens, and the bearer tokens every API call is checked against."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import parse_qs, urlencode

from sandbox.httpserver import Request, Response
from sandbox.teamleader.base import TeamleaderBase
from sandbox.teamleader.model import ApiError, TeamleaderAccount


class TeamleaderOAuth(TeamleaderBase):
    """The consent and token endpoints, and the check of each call's bearer token."""

    def _authenticate(self, request: Request) -> TeamleaderAccount:
        token = request.bearer()
        entry = self._access_tokens.get(token or "")
        if entry is None:
            raise ApiError(401, "Access token is invalid")
        account_id, expires = entry
        if expires <= self.clock.now():
            raise ApiError(401, "Access token expired")
        return self.accounts[account_id]

    # ---- OAuth ----

    def _new_tokens(self, account_id: str) -> dict[str, Any]:
        access = "tl-at-" + secrets.token_urlsafe(24)
        refresh = "tl-rt-" + secrets.token_urlsafe(24)
        self._access_tokens[access] = (account_id, self.clock.now() + self.access_token_ttl)
        self._refresh_tokens[refresh] = account_id
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
            return Response(401, {"error": "invalid_client", "message": "Client authentication failed"})
        with self._lock:
            grant = form.get("grant_type")
            if grant == "refresh_token":
                account_id = self._refresh_tokens.pop(form.get("refresh_token", ""), None)
                if account_id is None:
                    return _invalid_grant("The refresh token is invalid.")
                return Response(200, self._new_tokens(account_id), wrote=True)
            if grant == "authorization_code":
                entry = self._codes.pop(form.get("code", ""), None)
                if entry is None or entry[2] < self.clock.now():
                    return _invalid_grant("Authorization code is invalid or expired")
                if entry[1] != form.get("redirect_uri"):
                    return _invalid_grant("Redirect URI does not match")
                return Response(200, self._new_tokens(entry[0]), wrote=True)
        return Response(400, {"error": "unsupported_grant_type"})

    def _authorize(self, request: Request) -> Response:
        """Consent without a person: approve for the account named, or the only one."""
        client_id = request.arg("client_id")
        redirect_uri = request.arg("redirect_uri") or ""
        if client_id not in self.clients or not redirect_uri:
            raise ApiError(400, "Unknown client or missing redirect_uri")
        if self.redirect_uris is not None and redirect_uri not in self.redirect_uris:
            if self.redirect_mismatch == "error_page":
                raise ApiError(400, "The redirect URI is not registered for this integration")
            mismatch = {
                "error": "invalid_request",
                "error_description": "redirect_uri mismatch",
                "state": request.arg("state") or "",
            }
            return Response(302, None, {"Location": f"{redirect_uri}?{urlencode(mismatch)}"})
        account_id = request.arg("sandbox_account") or next(iter(self.accounts), None)
        query: dict[str, str] = {"state": request.arg("state") or ""}
        if account_id is None or request.arg("sandbox_deny"):
            query["error"] = "access_denied"
        else:
            code = secrets.token_urlsafe(16)
            self._codes[code] = (account_id, redirect_uri, self.clock.now() + 600)
            query["code"] = code
        return Response(302, None, {"Location": f"{redirect_uri}?{urlencode(query)}"})


def _invalid_grant(description: str) -> Response:
    return Response(400, {"error": "invalid_grant", "error_description": description})
