"""Google's OAuth: the token endpoint (with PKCE), OpenID's userinfo, and the bearer tokens every
API call is checked against, each with the scopes it was granted. The consent that hands out
codes is in `consent`."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from typing import Any
from urllib.parse import parse_qs

from sandbox.httpserver import Request, Response
from sandbox.people.base import PeopleBase
from sandbox.people.records import (
    CONTACTS_READONLY_SCOPE,
    CONTACTS_SCOPE,
    EMAIL_SCOPES,
    PROFILE_SCOPES,
    GoogleError,
    GoogleUser,
    _reason,
)

USERINFO_PATHS = ("/v1/userinfo", "/oauth2/v3/userinfo")


class GoogleOAuth(PeopleBase):
    """The token and userinfo endpoints, and the check of each call's bearer token."""

    def issue_refresh_token(self, user_id: str, scope: str = CONTACTS_SCOPE) -> str:
        """A refresh token as a completed consent flow would hand it out, for `scope`."""
        token = "g-rt-" + secrets.token_urlsafe(24)
        self._refresh_tokens[token] = user_id
        self._token_scopes[token] = scope
        return token

    def _bearer(self, request: Request) -> tuple[str, str]:
        """The user and granted scopes of the request's live access token."""
        token = request.bearer() or ""
        entry = self._access_tokens.get(token)
        if entry is None or entry[1] <= self.clock.now():
            raise GoogleError(
                "UNAUTHENTICATED",
                "Request had invalid authentication credentials. Expected OAuth 2 access token.",
            )
        return entry[0], self._token_scopes.get(token, CONTACTS_SCOPE)

    def _authenticate(self, request: Request) -> GoogleUser:
        user_id, scope = self._bearer(request)
        granted = set(scope.split())
        # A person who unticked the contacts box holds a token the People API refuses.
        if CONTACTS_SCOPE not in granted and not (request.method == "GET" and CONTACTS_READONLY_SCOPE in granted):
            raise GoogleError(
                "PERMISSION_DENIED",
                "Request had insufficient authentication scopes.",
                [_reason("ACCESS_TOKEN_SCOPE_INSUFFICIENT")],
            )
        return self.users[user_id]

    # ---- OAuth ----

    def _token(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        client_id = form.get("client_id", "")
        if self.clients.get(client_id) != form.get("client_secret"):
            return Response(401, {"error": "invalid_client", "error_description": "The OAuth client was not found."})
        with self._lock:
            if form.get("grant_type") == "refresh_token":
                refresh = None
                user_id = self._refresh_tokens.get(form.get("refresh_token", ""))
                granted = self._token_scopes.get(form.get("refresh_token", ""), CONTACTS_SCOPE)
            elif form.get("grant_type") == "authorization_code":
                entry = self._codes.pop(form.get("code", ""), None)
                if entry is None or entry.redirect_uri != form.get("redirect_uri"):
                    return _invalid_grant("Token has been expired or revoked.")
                problem = entry.verifier_problem(form.get("code_verifier"))
                if problem is not None:
                    return _invalid_grant(problem)
                user_id, granted = entry.user, entry.scope
                refresh = self.issue_refresh_token(user_id, granted)
            else:
                return Response(400, {"error": "unsupported_grant_type"})
            if user_id is None:
                return _invalid_grant("Token has been expired or revoked.")
            access = "g-at-" + secrets.token_urlsafe(24)
            self._access_tokens[access] = (user_id, self.clock.now() + self.access_token_ttl)
            self._token_scopes[access] = granted
        # `scope` names only what was granted: a person may untick a permission.
        answer: dict[str, Any] = {
            "access_token": access,
            "expires_in": self.access_token_ttl,
            "scope": granted,
            "token_type": "Bearer",
        }
        if refresh:
            answer["refresh_token"] = refresh
        if "openid" in granted.split():
            answer["id_token"] = _id_token(user_id, client_id, granted, self.clock.now())
        return Response(200, answer)

    def _userinfo(self, request: Request) -> Response:
        """OpenID Connect's userinfo for the bearer token's user: what its scopes let it see."""
        try:
            user_id, scope = self._bearer(request)
        except GoogleError:
            return Response(
                401,
                {"error": "invalid_token", "error_description": "Invalid Credentials"},
                {"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        return Response(200, _claims(user_id, self.users.get(user_id), scope))


def _invalid_grant(description: str) -> Response:
    return Response(400, {"error": "invalid_grant", "error_description": description})


def subject(user_id: str) -> str:
    """The stable `sub` Google gives a user, the same in the ID token and in userinfo."""
    return str(int(hashlib.sha256(user_id.encode()).hexdigest()[:17], 16))


def _claims(user_id: str, user: GoogleUser | None, scope: str) -> dict[str, Any]:
    """The identity claims the granted scopes reveal: the e-mail address only with an email
    scope, the name only with a profile scope."""
    granted = set(scope.split())
    claims: dict[str, Any] = {"sub": subject(user_id)}
    if granted & EMAIL_SCOPES:
        claims.update(email=user_id, email_verified=True)
    if granted & PROFILE_SCOPES and user is not None and user.name:
        claims["name"] = user.name
    return claims


def _id_token(user_id: str, client_id: str, scope: str, now: float) -> str:
    """An OpenID token as Google's token endpoint gives it, its signature a placeholder: the
    sync reads its claims from the token endpoint itself and does not verify it."""

    def segment(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    claims = {
        "iss": "https://accounts.google.com",
        "aud": client_id,
        **_claims(user_id, None, scope),
        "iat": int(now),
        "exp": int(now) + 3600,
    }
    return f"{segment({'alg': 'RS256', 'typ': 'JWT'})}.{segment(claims)}.c2FuZGJveA"
