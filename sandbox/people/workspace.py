"""Google Workspace as the sandbox plays it: domains whose admin delegated to a service account,
the JWT-bearer grant that hands out a user's token to it (issuer, subject, scope, audience,
expiry and the signature checked), a signBlob standing in for IAM Credentials, and the Admin
SDK Directory's `members.list` of a group."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote

from sandbox.httpserver import Request, Response
from sandbox.people.base import PeopleBase
from sandbox.people.records import GoogleError, GoogleUser

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
DIRECTORY_MEMBERS_SCOPE = "https://www.googleapis.com/auth/admin.directory.group.member.readonly"
SIGN_BLOB = "/v1/projects/-/serviceAccounts/"
DIRECTORY_GROUPS = "/admin/directory/v1/groups/"
# Google's longest: a JWT assertion may live an hour.
MAX_ASSERTION_SECONDS = 3600
# The audience Google's token endpoint takes, whatever address the grant was sent to (google-auth
# names it so even when the token URI is another).
TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"
MEMBERS_PAGE = 200
# Google's own sentence when the client id or a scope is not delegated.
UNAUTHORIZED = (
    "Client is unauthorized to retrieve access tokens using this method, "
    "or client not authorized for any of the scopes requested."
)


@dataclass
class Workspace:
    """One Workspace domain: its admins, the scopes each service account was delegated, its
    groups (member address → "USER" or "GROUP"), and its suspended users."""

    domain: str
    admins: set[str] = field(default_factory=set)
    delegated: dict[str, set[str]] = field(default_factory=dict)
    groups: dict[str, dict[str, str]] = field(default_factory=dict)
    suspended: set[str] = field(default_factory=set)


class WorkspaceDelegation(PeopleBase):
    """The JWT-bearer grant, signBlob and the Directory's group members."""

    workspaces: dict[str, Workspace]
    # A service account's signing key, held by the stand-in for IAM Credentials only.
    signing_keys: dict[str, bytes]

    # ---- set-up ----

    def add_workspace(self, domain: str, admin: str) -> Workspace:
        """A Workspace domain with one admin (a user of the sandbox)."""
        with self._lock:
            workspace = self.workspaces.setdefault(domain, Workspace(domain))
            workspace.admins.add(admin)
            self.users.setdefault(admin, GoogleUser(admin))
            return workspace

    def add_service_account(self, email: str) -> None:
        """A service account IAM Credentials can sign as."""
        self.signing_keys.setdefault(email, secrets.token_bytes(32))

    def delegate(self, domain: str, service_account: str, scopes: list[str]) -> None:
        """The admin authorises the service account's client id for `scopes` (empty: revokes)."""
        with self._lock:
            if scopes:
                self.workspaces[domain].delegated[service_account] = set(scopes)
            else:
                self.workspaces[domain].delegated.pop(service_account, None)

    def set_group(self, group: str, members: dict[str, str]) -> None:
        """A group of the domain its address is in, and its members (address → USER or GROUP)."""
        with self._lock:
            self.workspaces[_domain(group)].groups[group.casefold()] = dict(members)

    def suspend_user(self, user: str) -> None:
        with self._lock:
            self.workspaces[_domain(user)].suspended.add(user.casefold())

    def delete_workspace_user(self, user: str) -> None:
        """The admin deletes the user: their account is gone and so is every membership."""
        with self._lock:
            self.users.pop(user, None)
            for members in self.workspaces[_domain(user)].groups.values():
                members.pop(user.casefold(), None)

    # ---- IAM Credentials ----

    def _signature(self, service_account: str, payload: bytes) -> bytes:
        return hmac.new(self.signing_keys[service_account], payload, hashlib.sha256).digest()

    def _sign_blob(self, request: Request) -> Response:
        email, _, verb = request.path.removeprefix(SIGN_BLOB).partition(":")
        if request.method != "POST" or verb != "signBlob":
            raise GoogleError("NOT_FOUND", f"Method not found: {request.method} {request.path}")
        if email not in self.signing_keys:
            raise GoogleError("NOT_FOUND", f"Service account {email} not found.")
        payload = request.json().get("payload")
        if not isinstance(payload, str):
            raise GoogleError("INVALID_ARGUMENT", "payload is required.")
        signed = self._signature(email, base64.b64decode(payload))
        return Response(200, {"keyId": "sandbox", "signedBlob": base64.b64encode(signed).decode()})

    # ---- the JWT-bearer grant ----

    def _jwt_grant(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        try:
            claims = self._verified(form.get("assertion", ""))
        except ValueError as exc:
            return Response(400, {"error": "invalid_grant", "error_description": str(exc)})
        subject, issuer = str(claims.get("sub", "")), str(claims["iss"])
        scope = str(claims.get("scope", ""))
        workspace = self.workspaces.get(_domain(subject))
        allowed = workspace.delegated.get(issuer, set()) if workspace else set()
        if workspace is None or not scope or not set(scope.split()) <= allowed:
            return Response(401, {"error": "unauthorized_client", "error_description": UNAUTHORIZED})
        if subject not in self.users or subject.casefold() in workspace.suspended:
            return Response(400, {"error": "invalid_grant", "error_description": "Invalid email or User ID"})
        with self._lock:
            access = "g-at-" + secrets.token_urlsafe(24)
            self._access_tokens[access] = (subject, self.clock.now() + self.access_token_ttl)
            self._token_scopes[access] = scope
        return Response(200, {"access_token": access, "expires_in": self.access_token_ttl, "token_type": "Bearer"})

    def _verified(self, assertion: str) -> dict[str, Any]:
        """The assertion's claims once its signature, audience and lifetime are right."""
        try:
            header, body, signature = assertion.split(".")
            claims = json.loads(_unpad(body))
            signed = _unpad(signature)
        except ValueError as exc:
            raise ValueError("Invalid JWT: the assertion is not a signed JWT.") from exc
        issuer = claims.get("iss") if isinstance(claims, dict) else None
        if not isinstance(issuer, str) or issuer not in self.signing_keys:
            raise ValueError("Invalid JWT: unknown issuer.")
        if not hmac.compare_digest(self._signature(issuer, f"{header}.{body}".encode()), signed):
            raise ValueError("Invalid JWT Signature.")
        if claims.get("aud") != TOKEN_AUDIENCE:
            raise ValueError("Invalid JWT: Failed audience check.")
        # google-auth stamps the assertion with the wall clock, which tests do not move: it is
        # checked against the wall clock, not the sandbox's advanced time.
        now, issued, expires = time.time(), claims.get("iat"), claims.get("exp")
        if not isinstance(issued, int | float) or not isinstance(expires, int | float):
            raise ValueError("Invalid JWT: iat and exp are required.")
        if expires <= now or issued > now + 300 or expires - issued > MAX_ASSERTION_SECONDS:
            raise ValueError(
                "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe."
            )
        verified: dict[str, Any] = claims
        return verified

    # ---- the Directory ----

    def _directory(self, request: Request) -> Response:
        quoted, _, rest = request.path.removeprefix(DIRECTORY_GROUPS).partition("/")
        group = unquote(quoted)
        if request.method != "GET" or rest != "members":
            raise GoogleError("NOT_FOUND", f"Method not found: {request.method} {request.path}")
        token = request.bearer() or ""
        actor, expires = self._access_tokens.get(token, ("", 0.0))
        if expires <= self.clock.now():
            raise GoogleError("UNAUTHENTICATED", "Request had invalid authentication credentials.")
        scope = self._token_scopes.get(token, "")
        workspace = self.workspaces.get(_domain(group))
        if DIRECTORY_MEMBERS_SCOPE not in scope.split() or workspace is None or actor not in workspace.admins:
            raise GoogleError("PERMISSION_DENIED", "Not Authorized to access this resource/api")
        members = workspace.groups.get(group.casefold())
        if members is None:
            raise GoogleError("NOT_FOUND", "Resource Not Found: groupKey")
        size_arg, token = request.arg("maxResults") or str(MEMBERS_PAGE), request.arg("pageToken") or "0"
        if not (size_arg.isdigit() and token.isdigit()):
            raise GoogleError("INVALID_ARGUMENT", "Invalid value for maxResults or pageToken.")
        size, start = max(1, min(int(size_arg), MEMBERS_PAGE)), int(token)
        listed = list(members.items())
        page = [
            {
                "kind": "admin#directory#member",
                "email": address,
                "type": kind,
                "role": "MEMBER",
                "status": "SUSPENDED" if address in workspace.suspended else "ACTIVE",
            }
            for address, kind in listed[start : start + size]
        ]
        answer: dict[str, Any] = {"kind": "admin#directory#members", "members": page}
        if start + size < len(listed):
            answer["nextPageToken"] = str(start + size)
        return Response(200, answer)


def _domain(address: str) -> str:
    return address.rpartition("@")[2].casefold()


def _unpad(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
