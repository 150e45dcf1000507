"""The sandbox's Workspace: the JWT-bearer grant refuses an assertion whose signature, issuer,
audience, lifetime, subject or scope is wrong, signs through its stand-in for IAM
Credentials, and lists a group's members a page at a time to its admin only."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from google.auth import credentials, iam, jwt

from sandbox.people.workspace import JWT_BEARER, TOKEN_AUDIENCE
from sandbox.stack import DELEGATED_SERVICE_ACCOUNT, SandboxStack
from sync.google.delegation import DIRECTORY_MEMBERS_SCOPE, IAM_CREDENTIALS_HOST
from sync.google.people import SCOPES
from sync.google.transport import HttpxAuthRequest

CONTACTS = SCOPES[0]


@pytest.fixture
def workspace(stack: SandboxStack) -> Iterator[SandboxStack]:
    stack.people.add_workspace("acme.com", "admin@acme.com")
    stack.people.delegate("acme.com", DELEGATED_SERVICE_ACCOUNT, [CONTACTS, DIRECTORY_MEMBERS_SCOPE])
    stack.people.add_user("ann@acme.com")
    yield stack


def assertion(stack: SandboxStack, **claims: Any) -> str:
    """A JWT signed through the sandbox's signBlob, with Google's claims unless overridden."""
    now = int(stack.clock.now())
    payload: dict[str, Any] = {"iss": DELEGATED_SERVICE_ACCOUNT, "sub": "ann@acme.com", "scope": CONTACTS}
    payload |= {"aud": TOKEN_AUDIENCE, "iat": now, "exp": now + 3600, **claims}
    request = HttpxAuthRequest(httpx.Client(), {IAM_CREDENTIALS_HOST: stack.url("people")})
    signer = iam.Signer(request, credentials.AnonymousCredentials(), payload["iss"])
    signed: bytes = jwt.encode(signer, {k: v for k, v in payload.items() if v is not None})
    return signed.decode()


def grant(stack: SandboxStack, token: str) -> tuple[int, dict[str, Any]]:
    answer = httpx.post(stack.url("people") + "/token", data={"grant_type": JWT_BEARER, "assertion": token})
    return answer.status_code, answer.json()


def test_a_well_signed_assertion_gets_a_token_for_its_subject(workspace: SandboxStack) -> None:
    status, body = grant(workspace, assertion(workspace))
    assert status == 200
    assert workspace.people.account_of_token(body["access_token"]) == "ann@acme.com"


@pytest.mark.parametrize(
    ("claims", "error"),
    [
        ({"aud": "https://elsewhere.example/token"}, "audience"),
        ({"exp": None}, "iat and exp"),
        ({"iat": 0, "exp": 60}, "short-lived"),
        ({"sub": "nobody@acme.com"}, "Invalid email"),
    ],
)
def test_the_grant_refuses_a_wrong_claim(workspace: SandboxStack, claims: dict[str, Any], error: str) -> None:
    status, body = grant(workspace, assertion(workspace, **claims))
    assert (status, body["error"]) == (400, "invalid_grant") and error in body["error_description"]


def test_the_grant_refuses_a_tampered_signature_and_an_unknown_issuer(workspace: SandboxStack) -> None:
    header, payload, signature = assertion(workspace).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    forged = base64.urlsafe_b64encode(json.dumps({**claims, "sub": "admin@acme.com"}).encode()).decode().rstrip("=")
    assert grant(workspace, f"{header}.{forged}.{signature}")[1]["error_description"] == "Invalid JWT Signature."
    workspace.people.add_service_account("other@p.iam.gserviceaccount.com")
    other = assertion(workspace, iss="other@p.iam.gserviceaccount.com")
    workspace.people.signing_keys.pop("other@p.iam.gserviceaccount.com")
    assert "unknown issuer" in grant(workspace, other)[1]["error_description"]


def test_a_scope_or_domain_not_delegated_is_an_unauthorized_client(workspace: SandboxStack) -> None:
    workspace.people.add_user("joe@gmail.com")
    for claims in ({"scope": "https://www.googleapis.com/auth/drive"}, {"sub": "joe@gmail.com"}):
        assert grant(workspace, assertion(workspace, **claims))[1]["error"] == "unauthorized_client"
    workspace.people.delegate("acme.com", DELEGATED_SERVICE_ACCOUNT, [])
    status, body = grant(workspace, assertion(workspace))
    assert (status, body["error"]) == (401, "unauthorized_client")


def test_members_are_listed_a_page_at_a_time_to_the_admin_only(workspace: SandboxStack) -> None:
    members = {f"u{i}@acme.com": "USER" for i in range(250)} | {"team@acme.com": "GROUP"}
    workspace.people.set_group("sales@acme.com", members)
    workspace.people.suspend_user("u3@acme.com")
    url = workspace.url("people") + "/admin/directory/v1/groups/sales@acme.com/members"

    def token_of(user: str, scope: str = DIRECTORY_MEMBERS_SCOPE) -> str:
        return str(grant(workspace, assertion(workspace, sub=user, scope=scope))[1]["access_token"])

    admin = {"Authorization": "Bearer " + token_of("admin@acme.com")}
    listed: list[dict[str, Any]] = []
    page: dict[str, Any] = {}
    while page.get("nextPageToken") or not listed:
        params = {"pageToken": page["nextPageToken"]} if page.get("nextPageToken") else {}
        page = httpx.get(url, headers=admin, params=params).json()
        listed += page["members"]
    assert {m["email"]: m["type"] for m in listed} == members
    assert [m["email"] for m in listed if m["status"] == "SUSPENDED"] == ["u3@acme.com"]
    for headers in ({"Authorization": "Bearer " + token_of("ann@acme.com")}, {}):
        assert httpx.get(url, headers=headers).status_code in (401, 403)
    assert httpx.get(url, headers=admin, params={"pageToken": "x"}).status_code == 400
