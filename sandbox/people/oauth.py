"""Google's OAuth: the consent that hands out a code, the token endpoint, and the bearer
tokens every API call is checked against."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from typing import Any
from urllib.parse import parse_qs

from sandbox.httpserver import Request, Response
from sandbox.people.base import PeopleBase
from sandbox.people.records import CONTACTS_SCOPE, GoogleError, GoogleUser


class GoogleOAuth(PeopleBase):
    """The consent and token endpoints, and the check of each call's bearer token."""

    def issue_refresh_token(self, user_id: str) -> str:
        """A refresh token as a completed consent flow would hand it out."""
        token = "g-rt-" + secrets.token_urlsafe(24)
        self._refresh_tokens[token] = user_id
        return token

    def _authenticate(self, request: Request) -> GoogleUser:
        entry = self._access_tokens.get(request.bearer() or "")
        if entry is None or entry[1] <= self.clock.now():
            raise GoogleError(
                "UNAUTHENTICATED",
                "Request had invalid authentication credentials. Expected OAuth 2 access token.",
            )
        return self.users[entry[0]]

    # ---- OAuth ----

    def _token(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        client_id = form.get("client_id", "")
        if self.clients.get(client_id) != form.get("client_secret"):
            return Response(401, {"error": "invalid_client", "error_description": "The OAuth client was not found."})
        with self._lock:
            if form.get("grant_type") == "refresh_token":
                user_id = self._refresh_tokens.get(form.get("refresh_token", ""))
                refresh = None
            elif form.get("grant_type") == "authorization_code":
                entry = self._codes.pop(form.get("code", ""), None)
                user_id = entry[0] if entry and entry[1] == form.get("redirect_uri") else None
                refresh = self.issue_refresh_token(user_id) if user_id else None
                granted = entry[2] if entry else CONTACTS_SCOPE
            else:
                return Response(400, {"error": "unsupported_grant_type"})
            if user_id is None:
                return Response(
                    400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
                )
            access = "g-at-" + secrets.token_urlsafe(24)
            self._access_tokens[access] = (user_id, self.clock.now() + self.access_token_ttl)
        answer: dict[str, Any] = {
            "access_token": access,
            "expires_in": self.access_token_ttl,
            "scope": CONTACTS_SCOPE,
            "token_type": "Bearer",
        }
        if refresh:
            answer["refresh_token"] = refresh
            answer["scope"] = granted
            if "openid" in granted.split():
                answer["id_token"] = _id_token(user_id, form.get("client_id", ""), self.clock.now())
        return Response(200, answer)

    def _authorize(self, request: Request) -> Response:
        """Consent without a person: approve for the user named, else the one hinted at (as
        Google signs in the hinted account), else the first."""
        redirect_uri = request.arg("redirect_uri") or ""
        if request.arg("client_id") not in self.clients or not redirect_uri:
            raise GoogleError("INVALID_ARGUMENT", "Unknown client or missing redirect_uri.")
        hint = request.arg("login_hint")
        user_id = request.arg("sandbox_user") or (hint if hint in self.users else next(iter(self.users), None))
        if user_id is None:
            raise GoogleError("NOT_FOUND", "No sandbox user to consent for.")
        code = secrets.token_urlsafe(16)
        self._codes[code] = (user_id, redirect_uri, request.arg("scope") or CONTACTS_SCOPE)
        state = request.arg("state") or ""
        return Response(302, None, {"Location": f"{redirect_uri}?code={code}&state={state}"})


def _id_token(user_id: str, client_id: str, now: float) -> str:
    """An OpenID token as Google's token endpoint gives it, its signature a placeholder: the
    sync reads its claims from the token endpoint itself and does not verify it."""

    def segment(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    claims = {
        "iss": "https://accounts.google.com",
        "aud": client_id,
        "sub": hashlib.sha256(user_id.encode()).hexdigest()[:21],
        "email": user_id,
        "email_verified": True,
        "iat": int(now),
        "exp": int(now) + 3600,
    }
    return f"{segment({'alg': 'RS256', 'typ': 'JWT'})}.{segment(claims)}.c2FuZGJveA"
