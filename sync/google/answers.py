"""Reading the People API's answers: error bodies, the per-contact errors of a refused batch,
and the persons' references and Teamleader stamps. Pure functions only."""

from __future__ import annotations

import json
from typing import Any

from google.auth.exceptions import RefreshError
from googleapiclient.errors import HttpError

from sync.mapping import CLIENT_DATA_KEY
from sync.ports import PersonRef


def error_body(exc: HttpError) -> dict[str, Any]:
    """The `error` object of an error answer; empty when there is none."""
    try:
        body = json.loads(exc.content)
    except (ValueError, TypeError):
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def contact_errors(exc: HttpError) -> dict[str, dict[str, Any]] | None:
    """The per-contact errors of a failed batch, keyed by request index or resourceName;
    None when the answer does not say which contacts failed."""
    for detail in error_body(exc).get("details") or []:
        if isinstance(detail, dict) and isinstance(detail.get("contactErrors"), dict):
            return {str(k): v for k, v in detail["contactErrors"].items()}
    return None


def error_message(exc: HttpError) -> str:
    """Google's message for a refusal (what a failed contact is recorded with)."""
    return str(error_body(exc).get("message") or exc.reason or exc.status_code)


def error_status(exc: HttpError) -> str:
    """The canonical status of a refusal (FAILED_PRECONDITION, ...); empty when none is given."""
    return str(error_body(exc).get("status") or "")


def oauth_error(exc: RefreshError) -> str:
    """The OAuth error code of a refused refresh (google-auth passes the answer's body second)."""
    body = exc.args[1] if len(exc.args) > 1 else None
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, str) else "refused"


def person_ref(person: dict[str, Any]) -> PersonRef:
    """Where a person of an answer lives, and its etag."""
    etag = person.get("etag") or next(
        (s.get("etag") for s in person.get("metadata", {}).get("sources", []) if s.get("etag")), ""
    )
    return PersonRef(person["resourceName"], etag)


def stamp_of(person: dict[str, Any]) -> str | None:
    """The Teamleader id a person carries in its clientData, if any."""
    for item in person.get("clientData") or []:
        if item.get("key") == CLIENT_DATA_KEY:
            value = item.get("value")
            return value if isinstance(value, str) else None
    return None


# Groups every Google account has; a person's place in them says nothing of who made it.
SYSTEM_GROUPS = frozenset(
    f"contactGroups/{name}"
    for name in ("myContacts", "starred", "chatBuddies", "all", "friends", "family", "coworkers", "blocked")
)


def in_other_group(person: dict[str, Any], group: str) -> bool:
    """Whether a person sits in a contact group of its user's own other than `group`, and not
    in `group`: it belongs to another destination writing to the same user (another
    connection, another group), not to this one."""
    groups = {
        m["contactGroupMembership"].get("contactGroupResourceName")
        for m in person.get("memberships") or []
        if "contactGroupMembership" in m
    }
    return group not in groups and bool(groups - SYSTEM_GROUPS)


def refused_account(exc: HttpError) -> bool:
    """Whether a refused create speaks of the account rather than its contacts: it names no
    contact, and a create has no etag to be stale, so a failed precondition is the account's
    (its contact limit), as is a quota still exhausted after back-off."""
    return contact_errors(exc) is None and error_status(exc) in ("FAILED_PRECONDITION", "RESOURCE_EXHAUSTED")


def refused_as_missing(exc: HttpError) -> bool:
    """Whether a refusal says the person named does not exist (deleted, by hand or before)."""
    return exc.status_code == 404 or error_status(exc) == "NOT_FOUND"


def names_missing(error: dict[str, Any]) -> bool:
    """Whether one contact's error of a refused batch says that person does not exist."""
    return error.get("status") == "NOT_FOUND" or error.get("code") == 5
