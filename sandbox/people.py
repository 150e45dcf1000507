"""The Google People API (contacts and contact groups) and Google's OAuth token endpoint.

Bodies and masks are checked against the discovery document that google-api-python-client
ships, and the behaviours that break syncs are reproduced: etags that change on every write,
whole batches failed by one bad contact, per-user write quotas, and lists that show writes
only after a propagation delay while `people.getBatchGet` of a known name is immediate.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import re
import secrets
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import googleapiclient

from sandbox.clock import Clock
from sandbox.httpserver import Request, Response

CONTACTS_SCOPE = "https://www.googleapis.com/auth/contacts"

DISCOVERY = Path(googleapiclient.__file__).parent / "discovery_cache/documents/people.v1.json"
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
    people: dict[str, StoredPerson] = field(default_factory=dict)
    groups: dict[str, StoredGroup] = field(default_factory=dict)
    writes: deque[float] = field(default_factory=deque)


class _Schema:
    """Structural checks of request bodies against the discovery document's schemas."""

    def __init__(self) -> None:
        self.schemas: dict[str, Any] = json.loads(DISCOVERY.read_text())["schemas"]

    def check(self, schema_name: str, value: Any, where: str) -> None:
        self._check({"$ref": schema_name}, value, where)

    def _check(self, spec: dict[str, Any], value: Any, where: str) -> None:
        if "$ref" in spec:
            schema = self.schemas[spec["$ref"]]
            if not isinstance(value, dict):
                raise GoogleError("INVALID_ARGUMENT", f"Invalid value at '{where}': expected an object")
            for key, sub in value.items():
                prop = schema.get("properties", {}).get(key)
                if prop is None:
                    raise GoogleError(
                        "INVALID_ARGUMENT",
                        f"Invalid JSON payload received. Unknown name \"{key}\" at '{where}': Cannot find field.",
                    )
                self._check(prop, sub, f"{where}.{key}" if where else key)
            return
        kind = spec.get("type")
        if kind == "array":
            if not isinstance(value, list):
                raise GoogleError("INVALID_ARGUMENT", f"Invalid value at '{where}': expected a list")
            for i, item in enumerate(value):
                self._check(spec.get("items", {}), item, f"{where}[{i}]")
        elif kind == "object" and "additionalProperties" in spec:
            if not isinstance(value, dict):
                raise GoogleError("INVALID_ARGUMENT", f"Invalid value at '{where}': expected a map")
            for key, item in value.items():
                self._check(spec["additionalProperties"], item, f"{where}[{key!r}]")
        elif kind == "string" and not isinstance(value, str):
            raise GoogleError("INVALID_ARGUMENT", f"Invalid value at '{where}' ({value!r}): expected a string")
        elif kind == "integer" and (isinstance(value, bool) or not isinstance(value, int | str)):
            raise GoogleError("INVALID_ARGUMENT", f"Invalid value at '{where}': expected an integer")
        elif kind == "boolean" and not isinstance(value, bool):
            raise GoogleError("INVALID_ARGUMENT", f"Invalid value at '{where}': expected a boolean")


def _mask(value: str | None, allowed: frozenset[str], name: str, *, required: bool = True) -> list[str]:
    if not value:
        if required:
            raise GoogleError("INVALID_ARGUMENT", f"{name} is required.")
        return []
    paths = [p.strip() for p in value.split(",") if p.strip()]
    bad = [p for p in paths if p not in allowed]
    if bad:
        raise GoogleError("INVALID_ARGUMENT", f'Invalid {name} path: "{bad[0]}".')
    return paths


class PeopleSandbox:
    """People API v1 for many Google users, told apart by their bearer tokens."""

    name = "people"

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        propagation_delay: float = 0.0,
        write_quota_per_minute: int = 600,
        max_field_length: int = 1024,
        access_token_ttl: int = 3599,
        expired_sync_token_status: int = 400,
        max_contacts: int = MAX_CONTACTS,
        batch_error_details: str = "contact_errors",
        limit_status: str = "FAILED_PRECONDITION",
        shuffle_created: bool = False,
        batch_get_lags: bool = False,
        delete_missing_ok: bool = False,
    ) -> None:
        self.clock = clock or Clock()
        self.propagation_delay = propagation_delay
        self.write_quota_per_minute = write_quota_per_minute
        self.max_field_length = max_field_length
        self.access_token_ttl = access_token_ttl
        self.expired_sync_token_status = expired_sync_token_status
        self.max_contacts = max_contacts
        # How a refused batch says which contacts failed; undocumented, so each is played:
        # "contact_errors" (a BatchContactErrors detail keyed by index or resourceName),
        # "other_detail" (a google.rpc.BadRequest naming fields, not contacts), or "none" (only
        # a message). In the last two the client has to find the culprit itself.
        if batch_error_details not in BATCH_ERROR_DETAILS:
            raise ValueError(f"batch_error_details must be one of {BATCH_ERROR_DETAILS}")
        self.batch_error_details = batch_error_details
        # Also undocumented: the status of a create refused for the account's contact limit,
        # whether createdPeople keeps request order, whether batchGet sees a write at once
        # (True: it lags like the lists), and whether a batch delete naming a person already
        # gone fails (False: 404) or ignores it.
        self.limit_status = limit_status
        self.shuffle_created = shuffle_created
        self.batch_get_lags = batch_get_lags
        self.delete_missing_ok = delete_missing_ok
        # Fault: the next N updated persons are changed by someone else just before the write.
        self.etag_churn_next = 0
        self.users: dict[str, GoogleUser] = {}
        self.clients: dict[str, str] = {}
        self._refresh_tokens: dict[str, str] = {}
        self._access_tokens: dict[str, tuple[str, float]] = {}
        # An authorization code's user, redirect address and the scopes consented to.
        self._codes: dict[str, tuple[str, str, str]] = {}
        self._lock = threading.RLock()
        self._schema = _Schema()
        self._counter = 1_000_000_000_000_000

    # ---- set-up and inspection ----

    def add_user(self, user_id: str) -> GoogleUser:
        with self._lock:
            user = GoogleUser(user_id)
            self.users[user_id] = user
            return user

    def add_client(self, client_id: str, client_secret: str) -> None:
        self.clients[client_id] = client_secret

    def issue_refresh_token(self, user_id: str) -> str:
        """A refresh token as a completed consent flow would hand it out."""
        token = "g-rt-" + secrets.token_urlsafe(24)
        self._refresh_tokens[token] = user_id
        return token

    def revoke(self, user_id: str) -> None:
        with self._lock:
            for token in [t for t, u in self._refresh_tokens.items() if u == user_id]:
                del self._refresh_tokens[token]
            for token in [t for t, (u, _) in self._access_tokens.items() if u == user_id]:
                del self._access_tokens[token]

    def account_of_token(self, token: str) -> str | None:
        entry = self._access_tokens.get(token)
        return entry[0] if entry else None

    def group_by_name(self, user_id: str, name: str) -> StoredGroup | None:
        for group in self.users[user_id].groups.values():
            if group.name == name and group.deleted_at is None:
                return group
        return None

    def members(self, user_id: str, group_name: str) -> list[StoredPerson]:
        """Live persons in the named group, as they are now (no propagation delay)."""
        group = self.group_by_name(user_id, group_name)
        if group is None:
            return []
        return [
            p
            for p in self.users[user_id].people.values()
            if p.deleted_at is None and group.resource_name in _group_names(p.fields)
        ]

    def count_with_client_data(self, user_id: str, key: str, value: str) -> int:
        """How many live persons carry clientData key=value: the duplicate detector."""
        return sum(
            1
            for p in self.users[user_id].people.values()
            if p.deleted_at is None
            and any(c.get("key") == key and c.get("value") == value for c in p.fields.get("clientData", []))
        )

    def delete_person_by_hand(self, user_id: str, resource_name: str) -> None:
        """A person deletes a contact in Google Contacts."""
        with self._lock:
            person = self.users[user_id].people[resource_name]
            person.deleted_at = person.changed_at = self.clock.now()

    def delete_group_by_hand(self, user_id: str, name: str) -> None:
        """A person deletes the group (keeping its contacts, as Contacts' default does)."""
        with self._lock:
            group = self.group_by_name(user_id, name)
            if group is None:
                raise KeyError(name)
            now = self.clock.now()
            group.deleted_at = now
            for person in self.users[user_id].people.values():
                if group.resource_name in _group_names(person.fields):
                    person.fields["memberships"] = [
                        m for m in person.fields["memberships"] if _membership_group(m) != group.resource_name
                    ] or [_membership("contactGroups/myContacts")]
                    self._touch(person, now)

    def edit_person_by_hand(self, user_id: str, resource_name: str, changes: dict[str, Any]) -> None:
        """A person edits a contact in Google Contacts: the etag changes."""
        with self._lock:
            person = self.users[user_id].people[resource_name]
            person.fields.update(changes)
            self._touch(person, self.clock.now())

    # ---- HTTP ----

    def error_response(self, status: int, message: str) -> Response:
        name = {429: "RESOURCE_EXHAUSTED", 500: "INTERNAL"}.get(status, "UNAVAILABLE")
        details = [_reason("RATE_LIMIT_EXCEEDED")] if status == 429 else []
        return GoogleError(name, message, details).response()

    def control(self, request: Request) -> Response | None:
        body = request.json() if request.method == "POST" else {}
        if request.path == "/_sandbox/etag_churn":
            self.etag_churn_next = int(body.get("next", 1))
            return Response(204)
        if request.path == "/_sandbox/delete_group":
            self.delete_group_by_hand(body["user"], body["name"])
            return Response(204)
        if request.path == "/_sandbox/propagation":
            self.propagation_delay = float(body["delay"])
            return Response(204)
        if request.path == "/_sandbox/add_user":
            # A user who has just consented: their refresh token, as the flow would hand it out.
            if body["user"] not in self.users:
                self.add_user(body["user"])
            return Response(200, {"refresh_token": self.issue_refresh_token(body["user"])})
        return None

    def handle(self, request: Request) -> Response:
        try:
            if request.path == "/token" and request.method == "POST":
                return self._token(request)
            if request.path == "/o/oauth2/auth" and request.method == "GET":
                return self._authorize(request)
            override = request.headers.get("x-http-method-override")
            if override and request.method == "POST":
                # Google's answer to long URLs, which google-api-python-client uses for GETs
                # over 2,000 characters: the query travels as a form body.
                request = Request(override.upper(), request.path, parse_qs(request.body.decode()), request.headers, b"")
            with self._lock:
                user = self._authenticate(request)
                return self._route(user, request)
        except GoogleError as exc:
            return exc.response()
        except json.JSONDecodeError:
            return GoogleError("INVALID_ARGUMENT", "Invalid JSON payload received.").response()

    def _route(self, user: GoogleUser, request: Request) -> Response:
        path, method = request.path, request.method
        routes: list[tuple[str, str, Any]] = [
            ("GET", r"/v1/contactGroups", self._groups_list),
            ("POST", r"/v1/contactGroups", self._groups_create),
            ("GET", r"/v1/(contactGroups/[^/:]+)", self._groups_get),
            ("DELETE", r"/v1/(contactGroups/[^/:]+)", self._groups_delete),
            ("POST", r"/v1/(contactGroups/[^/:]+)/members:modify", self._members_modify),
            ("POST", r"/v1/people:batchCreateContacts", self._batch_create),
            ("POST", r"/v1/people:batchUpdateContacts", self._batch_update),
            ("POST", r"/v1/people:batchDeleteContacts", self._batch_delete),
            ("GET", r"/v1/people:batchGet", self._batch_get),
            ("GET", r"/v1/people:searchContacts", self._search),
            ("POST", r"/v1/people:createContact", self._create_one),
            ("PATCH", r"/v1/(people/[^/:]+):updateContact", self._update_one),
            ("DELETE", r"/v1/(people/[^/:]+):deleteContact", self._delete_one),
            ("GET", r"/v1/(people/me)/connections", self._connections),
            ("GET", r"/v1/(people/[^/:]+)", self._get_one),
        ]
        for route_method, pattern, handler in routes:
            match = re.fullmatch(pattern, path)
            if match and route_method == method:
                result: Response = handler(user, request, *match.groups())
                return result
        raise GoogleError("NOT_FOUND", f"Method not found: {method} {path}")

    def _authenticate(self, request: Request) -> GoogleUser:
        entry = self._access_tokens.get(request.bearer() or "")
        if entry is None or entry[1] <= self.clock.now():
            raise GoogleError(
                "UNAUTHENTICATED",
                "Request had invalid authentication credentials. Expected OAuth 2 access token.",
            )
        return self.users[entry[0]]

    def _take_write_slot(self, user: GoogleUser) -> None:
        now = self.clock.now()
        while user.writes and user.writes[0] <= now - 60:
            user.writes.popleft()
        if len(user.writes) >= self.write_quota_per_minute:
            raise GoogleError(
                "RESOURCE_EXHAUSTED",
                "Quota exceeded for quota metric 'Critical read/write requests' and limit "
                "'Critical read/write requests per minute per user'.",
                [_reason("RATE_LIMIT_EXCEEDED")],
            )
        user.writes.append(now)

    # ---- persons ----

    def _new_name(self, prefix: str) -> str:
        self._counter += secrets.randbelow(1000) + 1
        return f"{prefix}{self._counter}"

    def _touch(self, person: StoredPerson, now: float) -> None:
        person.etag = _etag()
        person.changed_at = now

    def _visible(self, person: StoredPerson) -> bool:
        """Whether the lagging list endpoints show this person (as live) yet."""
        now = self.clock.now()
        if person.created_at + self.propagation_delay > now:
            return False
        return person.deleted_at is None or person.deleted_at + self.propagation_delay > now

    def _validate_person(self, user: GoogleUser, person: dict[str, Any]) -> str | None:
        """The reason Google would refuse this person, or None."""
        for name in SINGLE_VALUE_FIELDS:
            if len(person.get(name, [])) > 1:
                return f"Only one {name[:-1]} allowed per person."
        too_long = _longest_string(person)
        if too_long > self.max_field_length:
            return f"Field value too long: {too_long} characters (at most {self.max_field_length})."
        if len(json.dumps(person)) > 128 * 1024:
            return "Person is larger than 128 KB."
        for birthday in person.get("birthdays", []):
            d = birthday.get("date")
            if d and not _valid_date(d):
                return "Invalid birthday date."
        for group in _group_names(person):
            if not self._group_exists(user, group):
                return f"Contact group {group} not found."
        for name in person.get("names", []):
            if not any(name.get(k) for k in ("givenName", "familyName", "unstructuredName")):
                return "A name needs a givenName, familyName or unstructuredName."
        return None

    def _group_exists(self, user: GoogleUser, resource_name: str) -> bool:
        if resource_name.removeprefix("contactGroups/") in SYSTEM_GROUPS:
            return True
        group = user.groups.get(resource_name)
        return group is not None and group.deleted_at is None

    def _project(self, person: StoredPerson, paths: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {"resourceName": person.resource_name, "etag": person.etag}
        for path in paths:
            if path == "metadata":
                meta: dict[str, Any] = {
                    "sources": [{"type": "CONTACT", "id": person.resource_name.split("/c")[-1], "etag": person.etag}],
                    "objectType": "PERSON",
                }
                if person.deleted_at is not None:
                    meta["deleted"] = True
                out["metadata"] = meta
            elif path in person.fields:
                out[path] = person.fields[path]
        return out

    def _live(self, user: GoogleUser, resource_name: str) -> StoredPerson | None:
        person = user.people.get(resource_name)
        if person is None or person.deleted_at is not None:
            return None
        return person

    def _create(self, user: GoogleUser, fields: dict[str, Any]) -> StoredPerson:
        now = self.clock.now()
        fields = {k: v for k, v in fields.items() if k in UPDATABLE_FIELDS}
        if not _group_names(fields):
            fields["memberships"] = [*fields.get("memberships", []), _membership("contactGroups/myContacts")]
        person = StoredPerson(self._new_name("people/c"), fields, _etag(), now, now)
        user.people[person.resource_name] = person
        return person

    def _live_count(self, user: GoogleUser) -> int:
        return sum(1 for p in user.people.values() if p.deleted_at is None)

    def _batch_create(self, user: GoogleUser, request: Request) -> Response:
        body = request.json()
        self._schema.check("BatchCreateContactsRequest", body, "")
        read = _mask(body.get("readMask"), READABLE_FIELDS, "readMask")
        contacts = body.get("contacts", [])
        if not contacts or len(contacts) > 200:
            raise GoogleError("INVALID_ARGUMENT", "contacts must hold between 1 and 200 entries.")
        self._take_write_slot(user)
        if self._live_count(user) + len(contacts) > self.max_contacts:
            raise GoogleError(self.limit_status, f"Contact limit of {self.max_contacts} reached.")
        errors = {}
        for index, entry in enumerate(contacts):
            reason = self._validate_person(user, entry.get("contactPerson", {}))
            if reason:
                errors[str(index)] = {"code": 3, "message": reason}
        if errors:
            raise self._batch_error("INVALID_ARGUMENT", errors)
        created = [self._create(user, entry.get("contactPerson", {})) for entry in contacts]
        if self.shuffle_created:
            random.shuffle(created)
        answer = {
            "createdPeople": [{"httpStatusCode": 200, "person": self._project(p, read), "status": {}} for p in created]
        }
        return Response(200, answer, wrote=True)

    def _batch_error(self, status: str, errors: dict[str, Any]) -> GoogleError:
        """A refused batch, naming its failed contacts as `batch_error_details` says."""
        error = _contact_errors(status, errors)
        if self.batch_error_details == "none":
            error.details = []
        elif self.batch_error_details == "other_detail":
            violations = [{"field": f"contacts[{key}]", "description": e["message"]} for key, e in errors.items()]
            error.details = [{"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": violations}]
        return error

    def _apply_update(self, person: StoredPerson, fields: dict[str, Any], mask: list[str]) -> None:
        for path in mask:
            if fields.get(path):
                person.fields[path] = fields[path]
            else:
                person.fields.pop(path, None)
        if not _group_names(person.fields):
            person.fields["memberships"] = [_membership("contactGroups/myContacts")]
        self._touch(person, self.clock.now())

    def _check_update(
        self, user: GoogleUser, resource_name: str, fields: dict[str, Any], mask: list[str]
    ) -> tuple[str, str] | None:
        """(status, reason) if Google would refuse this update, else None."""
        person = self._live(user, resource_name)
        if person is None:
            return ("NOT_FOUND", f"Requested entity was not found: {resource_name}")
        if self.etag_churn_next > 0:
            self.etag_churn_next -= 1
            self._touch(person, self.clock.now())
        if not fields.get("etag"):
            return ("INVALID_ARGUMENT", "Request must set person.etag or person.metadata.sources.etag.")
        if fields["etag"] != person.etag:
            return (
                "FAILED_PRECONDITION",
                "Request person.etag is different than the current person.etag. "
                "Clear local cache and get the latest person.",
            )
        if "memberships" in mask and not _group_names(fields):
            return ("INVALID_ARGUMENT", "A contact must have at least one contact group membership.")
        reason = self._validate_person(user, {k: fields.get(k) for k in mask if fields.get(k)})
        return ("INVALID_ARGUMENT", reason) if reason else None

    def _batch_update(self, user: GoogleUser, request: Request) -> Response:
        body = request.json()
        self._schema.check("BatchUpdateContactsRequest", body, "")
        mask = _mask(body.get("updateMask"), UPDATABLE_FIELDS, "updateMask")
        read = _mask(body.get("readMask"), READABLE_FIELDS, "readMask")
        contacts: dict[str, Any] = body.get("contacts", {})
        if not contacts or len(contacts) > 200:
            raise GoogleError("INVALID_ARGUMENT", "contacts must hold between 1 and 200 entries.")
        self._take_write_slot(user)
        errors: dict[str, Any] = {}
        for resource_name, fields in contacts.items():
            problem = self._check_update(user, resource_name, fields, mask)
            if problem:
                status, reason = problem
                errors[resource_name] = {"code": STATUS_CODES[status][1], "status": status, "message": reason}
        if errors:
            statuses = {e["status"] for e in errors.values()}
            raise self._batch_error(statuses.pop() if len(statuses) == 1 else "INVALID_ARGUMENT", errors)
        result = {}
        for resource_name, fields in contacts.items():
            person = user.people[resource_name]
            self._apply_update(person, fields, mask)
            result[resource_name] = {
                "httpStatusCode": 200,
                "requestedResourceName": resource_name,
                "person": self._project(person, read),
                "status": {},
            }
        return Response(200, {"updateResult": result}, wrote=True)

    def _batch_delete(self, user: GoogleUser, request: Request) -> Response:
        body = request.json()
        self._schema.check("BatchDeleteContactsRequest", body, "")
        names = body.get("resourceNames", [])
        if not names or len(names) > 500:
            raise GoogleError("INVALID_ARGUMENT", "resourceNames must hold between 1 and 500 entries.")
        self._take_write_slot(user)
        missing = {
            n: {"code": 5, "status": "NOT_FOUND", "message": "Requested entity was not found."}
            for n in names
            if self._live(user, n) is None
        }
        if missing and not self.delete_missing_ok:
            raise self._batch_error("NOT_FOUND", missing)
        now = self.clock.now()
        for name in names:
            if name not in missing:
                person = user.people[name]
                person.deleted_at = person.changed_at = now
        return Response(200, {}, wrote=True)

    def _batch_get(self, user: GoogleUser, request: Request) -> Response:
        names = request.query.get("resourceNames", [])
        if not names or len(names) > 200:
            raise GoogleError("INVALID_ARGUMENT", "resourceNames must hold between 1 and 200 entries.")
        read = _mask(request.arg("personFields"), READABLE_FIELDS, "personFields")
        responses = []
        for name in names:
            person = self._live(user, name)
            if person is not None and self.batch_get_lags and not self._visible(person):
                person = None
            if person is None:
                responses.append(
                    {
                        "requestedResourceName": name,
                        "httpStatusCode": 404,
                        "status": {"code": 5, "message": "Requested entity was not found."},
                    }
                )
            else:
                responses.append(
                    {
                        "requestedResourceName": name,
                        "httpStatusCode": 200,
                        "person": self._project(person, read),
                        "status": {},
                    }
                )
        return Response(200, {"responses": responses})

    def _create_one(self, user: GoogleUser, request: Request) -> Response:
        body = request.json()
        self._schema.check("Person", body, "")
        read = _mask(request.arg("personFields"), READABLE_FIELDS, "personFields", required=False)
        self._take_write_slot(user)
        if self._live_count(user) >= self.max_contacts:
            raise GoogleError("FAILED_PRECONDITION", f"Contact limit of {self.max_contacts} reached.")
        reason = self._validate_person(user, body)
        if reason:
            raise GoogleError("INVALID_ARGUMENT", reason)
        return Response(200, self._project(self._create(user, body), read), wrote=True)

    def _update_one(self, user: GoogleUser, request: Request, resource_name: str) -> Response:
        body = request.json()
        self._schema.check("Person", body, "")
        mask = _mask(request.arg("updatePersonFields"), UPDATABLE_FIELDS, "updatePersonFields")
        read = _mask(request.arg("personFields"), READABLE_FIELDS, "personFields", required=False)
        self._take_write_slot(user)
        problem = self._check_update(user, resource_name, body, mask)
        if problem:
            raise GoogleError(*problem)
        person = user.people[resource_name]
        self._apply_update(person, body, mask)
        return Response(200, self._project(person, read), wrote=True)

    def _delete_one(self, user: GoogleUser, request: Request, resource_name: str) -> Response:
        self._take_write_slot(user)
        person = self._live(user, resource_name)
        if person is None:
            raise GoogleError("NOT_FOUND", "Requested entity was not found.")
        person.deleted_at = person.changed_at = self.clock.now()
        return Response(200, {}, wrote=True)

    def _get_one(self, user: GoogleUser, request: Request, resource_name: str) -> Response:
        read = _mask(request.arg("personFields"), READABLE_FIELDS, "personFields")
        person = self._live(user, resource_name)
        if person is None:
            raise GoogleError("NOT_FOUND", "Requested entity was not found.")
        return Response(200, self._project(person, read))

    def _connections(self, user: GoogleUser, request: Request, _me: str) -> Response:
        read = _mask(request.arg("personFields"), READABLE_FIELDS, "personFields")
        size = int(request.arg("pageSize") or 100) or 100
        if not 1 <= size <= 1000:
            raise GoogleError("INVALID_ARGUMENT", "pageSize must be between 1 and 1000.")
        now = self.clock.now()
        sync_token = request.arg("syncToken")
        if sync_token:
            since = self._read_sync_token(user, sync_token)
            # Changes become visible after the propagation delay; a deletion shows as such.
            people = [p for p in user.people.values() if since < p.changed_at + self.propagation_delay <= now]
        else:
            people = [p for p in user.people.values() if self._visible(p)]
        offset = int(request.arg("pageToken") or 0)
        page = people[offset : offset + size]
        answer: dict[str, Any] = {
            "connections": [self._project(p, read) for p in page],
            "totalPeople": len(people),
            "totalItems": len(people),
        }
        if offset + size < len(people):
            answer["nextPageToken"] = str(offset + size)
        elif request.arg("requestSyncToken") == "true" or sync_token:
            answer["nextSyncToken"] = _encode_token(user.id, now)
        return Response(200, answer)

    def _read_sync_token(self, user: GoogleUser, token: str) -> float:
        try:
            owner, issued = json.loads(base64.urlsafe_b64decode(token.encode()))
        except (ValueError, TypeError) as exc:
            raise GoogleError("INVALID_ARGUMENT", "Invalid sync token.") from exc
        if owner != user.id:
            raise GoogleError("INVALID_ARGUMENT", "Invalid sync token.")
        if self.clock.now() - issued > SYNC_TOKEN_LIFETIME:
            message = "Sync token is expired. Clear local cache and retry call without the sync token."
            if self.expired_sync_token_status == 410:
                raise _GoneError(message)
            raise GoogleError("FAILED_PRECONDITION", message, [_reason("EXPIRED_SYNC_TOKEN")])
        return float(issued)

    def _search(self, user: GoogleUser, request: Request) -> Response:
        read = _mask(request.arg("readMask"), READABLE_FIELDS, "readMask")
        query = (request.arg("query") or "").casefold()
        size = int(request.arg("pageSize") or 10)
        if not 1 <= size <= 30:
            raise GoogleError("INVALID_ARGUMENT", "pageSize must be between 1 and 30.")
        found = [
            p
            for p in user.people.values()
            if query and self._visible(p) and p.deleted_at is None and query in _searchable(p.fields)
        ]
        return Response(200, {"results": [{"person": self._project(p, read)} for p in found[:size]]})

    # ---- groups ----

    def _group_view(self, user: GoogleUser, group: StoredGroup, fields: list[str], max_members: int) -> dict[str, Any]:
        view: dict[str, Any] = {"resourceName": group.resource_name, "etag": group.etag}
        members = [
            p.resource_name
            for p in user.people.values()
            if self._visible(p) and p.deleted_at is None and group.resource_name in _group_names(p.fields)
        ]
        if "name" in fields:
            view["name"] = view["formattedName"] = group.name
        if "groupType" in fields:
            view["groupType"] = "USER_CONTACT_GROUP"
        if "memberCount" in fields:
            view["memberCount"] = len(members)
        if "clientData" in fields and group.client_data:
            view["clientData"] = group.client_data
        if "metadata" in fields:
            view["metadata"] = {"updateTime": "2026-01-01T00:00:00Z"}
            if group.deleted_at is not None:
                view["metadata"]["deleted"] = True
        if max_members and members:  # Google leaves the field out when it would be empty
            view["memberResourceNames"] = members[:max_members]
        return view

    def _groups_list(self, user: GoogleUser, request: Request) -> Response:
        fields = _mask(request.arg("groupFields"), GROUP_FIELDS, "groupFields", required=False) or [
            "metadata",
            "groupType",
            "memberCount",
            "name",
        ]
        size = int(request.arg("pageSize") or 30)
        if not 1 <= size <= 1000:
            raise GoogleError("INVALID_ARGUMENT", "pageSize must be between 1 and 1000.")
        views = [
            {"resourceName": f"contactGroups/{g}", "groupType": "SYSTEM_CONTACT_GROUP", "name": g, "formattedName": g}
            for g in SYSTEM_GROUPS[:2]
        ]
        views += [self._group_view(user, g, fields, 0) for g in user.groups.values() if g.deleted_at is None]
        offset = int(request.arg("pageToken") or 0)
        answer: dict[str, Any] = {"contactGroups": views[offset : offset + size], "totalItems": len(views)}
        if offset + size < len(views):
            answer["nextPageToken"] = str(offset + size)
        return Response(200, answer)

    def _groups_create(self, user: GoogleUser, request: Request) -> Response:
        body = request.json()
        self._schema.check("CreateContactGroupRequest", body, "")
        group_in = body.get("contactGroup") or {}
        name = (group_in.get("name") or "").strip()
        if not name:
            raise GoogleError("INVALID_ARGUMENT", "contactGroup.name is required.")
        self._take_write_slot(user)
        taken = any(g.name == name and g.deleted_at is None for g in user.groups.values())
        if taken or name in SYSTEM_GROUPS:
            raise GoogleError("ALREADY_EXISTS", "Contact group name already exists.")
        group = StoredGroup(
            "contactGroups/" + secrets.token_hex(6), name, group_in.get("clientData", []), _etag(), self.clock.now()
        )
        user.groups[group.resource_name] = group
        fields = _mask(body.get("readGroupFields"), GROUP_FIELDS, "readGroupFields", required=False) or [
            "name",
            "groupType",
            "metadata",
        ]
        return Response(200, self._group_view(user, group, fields, 0), wrote=True)

    def _user_group(self, user: GoogleUser, resource_name: str) -> StoredGroup:
        group = user.groups.get(resource_name)
        if group is None or group.deleted_at is not None:
            raise GoogleError("NOT_FOUND", "Requested entity was not found.")
        return group

    def _groups_get(self, user: GoogleUser, request: Request, resource_name: str) -> Response:
        group = self._user_group(user, resource_name)
        fields = _mask(request.arg("groupFields"), GROUP_FIELDS, "groupFields", required=False) or [
            "metadata",
            "groupType",
            "memberCount",
            "name",
        ]
        max_members = int(request.arg("maxMembers") or 0)
        return Response(200, self._group_view(user, group, fields, max_members))

    def _groups_delete(self, user: GoogleUser, request: Request, resource_name: str) -> Response:
        group = self._user_group(user, resource_name)
        self._take_write_slot(user)
        self.delete_group_by_hand(user.id, group.name)
        if request.arg("deleteContacts") == "true":
            now = self.clock.now()
            for person in user.people.values():
                if person.deleted_at is None and resource_name in _group_names(person.fields):
                    person.deleted_at = person.changed_at = now
        return Response(200, {}, wrote=True)

    def _members_modify(self, user: GoogleUser, request: Request, resource_name: str) -> Response:
        body = request.json()
        self._schema.check("ModifyContactGroupMembersRequest", body, "")
        group = self._user_group(user, resource_name)
        add, remove = body.get("resourceNamesToAdd", []), body.get("resourceNamesToRemove", [])
        if len(add) + len(remove) > 1000:
            raise GoogleError("INVALID_ARGUMENT", "At most 1000 resource names per call.")
        self._take_write_slot(user)
        not_found: list[str] = []
        last_group: list[str] = []
        now = self.clock.now()
        for name in add:
            person = self._live(user, name)
            if person is None:
                not_found.append(name)
            elif group.resource_name not in _group_names(person.fields):
                person.fields.setdefault("memberships", []).append(_membership(group.resource_name))
                self._touch(person, now)
        for name in remove:
            person = self._live(user, name)
            if person is None:
                not_found.append(name)
                continue
            kept = [m for m in person.fields.get("memberships", []) if _membership_group(m) != group.resource_name]
            if not kept:
                last_group.append(name)
            elif len(kept) != len(person.fields.get("memberships", [])):
                person.fields["memberships"] = kept
                self._touch(person, now)
        answer: dict[str, Any] = {}
        if not_found:
            answer["notFoundResourceNames"] = not_found
        if last_group:
            answer["canNotRemoveLastContactGroupResourceNames"] = last_group
        return Response(200, answer, wrote=True)

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
