"""What the People sandbox answers and stores: Google's limits and error shapes, the stored
contacts, groups and users, and the small helpers every resource uses."""

from __future__ import annotations

import base64
import json
import secrets
from collections import deque
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sandbox.httpserver import Response

CONTACTS_SCOPE = "https://www.googleapis.com/auth/contacts"
CONTACTS_READONLY_SCOPE = "https://www.googleapis.com/auth/contacts.readonly"
EMAIL_SCOPES = frozenset(["email", "https://www.googleapis.com/auth/userinfo.email"])
PROFILE_SCOPES = frozenset(["profile", "https://www.googleapis.com/auth/userinfo.profile"])
# Google's "Sign-In scopes": granted with the sign-in itself, never a box a person can untick.
SIGN_IN_SCOPES = frozenset(["openid"]) | EMAIL_SCOPES | PROFILE_SCOPES
SYSTEM_GROUPS = ("myContacts", "starred", "friends", "family", "coworkers", "chatBuddies", "all", "blocked")
SINGLE_VALUE_FIELDS = ("names", "birthdays", "biographies", "genders")
# Copied from the descriptions of updateMask and readMask in the discovery document.
UPDATABLE_FIELDS = frozenset(
    [
        "addresses",
        "biographies",
        "birthdays",
        "calendarUrls",
        "clientData",
        "emailAddresses",
        "events",
        "externalIds",
        "genders",
        "imClients",
        "interests",
        "locales",
        "locations",
        "memberships",
        "miscKeywords",
        "names",
        "nicknames",
        "occupations",
        "organizations",
        "phoneNumbers",
        "relations",
        "sipAddresses",
        "urls",
        "userDefined",
    ]
)
READABLE_FIELDS = UPDATABLE_FIELDS | {"ageRanges", "coverPhotos", "metadata", "photos", "skills"}
GROUP_FIELDS = frozenset(["clientData", "groupType", "memberCount", "metadata", "name"])
SYNC_TOKEN_LIFETIME = 7 * 24 * 3600
MAX_CONTACTS = 25_000
BATCH_ERROR_DETAILS = ("contact_errors", "other_detail", "none")
STATUS_CODES = {
    "INVALID_ARGUMENT": (400, 3),
    "FAILED_PRECONDITION": (400, 9),
    "UNAUTHENTICATED": (401, 16),
    "PERMISSION_DENIED": (403, 7),
    "NOT_FOUND": (404, 5),
    "ALREADY_EXISTS": (409, 6),
    "RESOURCE_EXHAUSTED": (429, 8),
    "INTERNAL": (500, 13),
    "UNAVAILABLE": (503, 14),
}


class GoogleError(Exception):
    """An error answered in Google's shape."""

    def __init__(self, status: str, message: str, details: list[Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details or []

    def response(self) -> Response:
        http, _ = STATUS_CODES[self.status]
        body = {"error": {"code": http, "message": self.message, "status": self.status}}
        if self.details:
            body["error"]["details"] = self.details
        return Response(http, body)


@dataclass
class StoredPerson:
    """A contact as the sandbox stores it, with the times that drive propagation."""

    resource_name: str
    fields: dict[str, Any]
    etag: str
    created_at: float
    changed_at: float
    deleted_at: float | None = None


@dataclass
class StoredGroup:
    resource_name: str
    name: str
    client_data: list[dict[str, str]]
    etag: str
    created_at: float
    deleted_at: float | None = None


@dataclass
class GoogleUser:
    """One Google account's contacts, groups and write-quota window."""

    id: str
    # The name the account chooser shows beside the address.
    name: str = ""
    people: dict[str, StoredPerson] = field(default_factory=dict)
    groups: dict[str, StoredGroup] = field(default_factory=dict)
    writes: deque[float] = field(default_factory=deque)


class _GoneError(GoogleError):
    def __init__(self, message: str) -> None:
        super().__init__("FAILED_PRECONDITION", message, [_reason("EXPIRED_SYNC_TOKEN")])

    def response(self) -> Response:
        answer = super().response()
        answer.status = 410
        answer.body["error"]["code"] = 410
        return answer


def _contact_errors(status: str, errors: dict[str, Any]) -> GoogleError:
    first = next(iter(errors.values()))["message"]
    return GoogleError(
        status,
        f"{len(errors)} contact(s) in the request failed: {first}",
        [{"@type": "type.googleapis.com/google.apps.people.v1.BatchContactErrors", "contactErrors": errors}],
    )


def _reason(reason: str) -> dict[str, Any]:
    return {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason, "domain": "googleapis.com"}


def _etag() -> str:
    return "%" + base64.b64encode(secrets.token_bytes(18)).decode()


def _encode_token(user_id: str, issued: float) -> str:
    return base64.urlsafe_b64encode(json.dumps([user_id, issued]).encode()).decode()


def _membership(group: str) -> dict[str, Any]:
    return {"contactGroupMembership": {"contactGroupResourceName": group}}


def _membership_group(membership: dict[str, Any]) -> str | None:
    inner = membership.get("contactGroupMembership") or {}
    name = inner.get("contactGroupResourceName")
    if name is None and inner.get("contactGroupId"):
        name = "contactGroups/" + inner["contactGroupId"]
    return name


def _group_names(person: dict[str, Any]) -> set[str]:
    return {g for m in person.get("memberships", []) if (g := _membership_group(m))}


def _longest_string(value: Any) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        return max((_longest_string(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return max((_longest_string(v) for v in value), default=0)
    return 0


def _valid_date(d: dict[str, Any]) -> bool:
    try:
        date(int(d.get("year") or 2000), int(d.get("month") or 1), int(d.get("day") or 1))
    except (ValueError, TypeError):
        return False
    return True


def _searchable(fields: dict[str, Any]) -> str:
    parts = [
        n.get("displayName") or f"{n.get('givenName', '')} {n.get('familyName', '')}" for n in fields.get("names", [])
    ]
    parts += [e.get("value", "") for e in fields.get("emailAddresses", [])]
    parts += [p.get("value", "") for p in fields.get("phoneNumbers", [])]
    parts += [o.get("name", "") for o in fields.get("organizations", [])]
    return " ".join(parts).casefold()
