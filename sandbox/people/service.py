"""`PeopleSandbox`: its switches, set-up and inspection, and the routing of its HTTP calls to
the resource that answers them."""

from __future__ import annotations

import json
import re
import threading
from typing import Any
from urllib.parse import parse_qs

from sandbox.clock import Clock
from sandbox.httpserver import Request, Response
from sandbox.pages import STYLESHEET_PATH, stylesheet
from sandbox.people.base import PendingCode
from sandbox.people.consent import AUTH_PATH, GoogleConsent
from sandbox.people.groups import ContactGroups
from sandbox.people.oauth import USERINFO_PATHS, GoogleOAuth
from sandbox.people.person_reads import PersonReads
from sandbox.people.person_writes import PersonWrites
from sandbox.people.records import (
    BATCH_ERROR_DETAILS,
    MAX_CONTACTS,
    GoogleError,
    GoogleUser,
    StoredPerson,
    _group_names,
    _reason,
)
from sandbox.people.schema import _Schema
from sandbox.people.workspace import DIRECTORY_GROUPS, JWT_BEARER, SIGN_BLOB, Workspace, WorkspaceDelegation


class PeopleSandbox(WorkspaceDelegation, PersonWrites, PersonReads, ContactGroups, GoogleConsent, GoogleOAuth):
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
        interactive_consent: bool = False,
        consent_preticked: bool = False,
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
        # Whether /o/oauth2/auth shows a person the account chooser and the consent page; off,
        # it consents at once (what the CLI's consent tests follow with a plain HTTP client).
        self.interactive_consent = interactive_consent
        # Whether the consent page's permission boxes start ticked. Newer OAuth clients are
        # reported to get them unticked, so a person who just clicks Continue grants none.
        self.consent_preticked = consent_preticked
        # Fault: the next N updated persons are changed by someone else just before the write.
        self.etag_churn_next = 0
        self.users: dict[str, GoogleUser] = {}
        self.clients: dict[str, str] = {}
        # The app's name, as the consent page shows it.
        self.client_names: dict[str, str] = {}
        self._refresh_tokens: dict[str, str] = {}
        self._access_tokens: dict[str, tuple[str, float]] = {}
        # The scopes each token was granted (access and refresh tokens alike).
        self._token_scopes: dict[str, str] = {}
        self._codes: dict[str, PendingCode] = {}
        self._lock = threading.RLock()
        self._schema = _Schema()
        self._counter = 1_000_000_000_000_000
        self.workspaces: dict[str, Workspace] = {}
        self.signing_keys: dict[str, bytes] = {}

    # ---- set-up and inspection ----

    def add_user(self, user_id: str, name: str = "") -> GoogleUser:
        """A Google account (`user_id` is its address), with the name its chooser shows."""
        with self._lock:
            user = GoogleUser(user_id, name)
            self.users[user_id] = user
            return user

    def add_client(self, client_id: str, client_secret: str, name: str | None = None) -> None:
        """An OAuth client: its credentials, and the name its consent page shows."""
        self.clients[client_id] = client_secret
        self.client_names[client_id] = name or client_id

    def revoke(self, user_id: str) -> None:
        with self._lock:
            for token in [t for t, u in self._refresh_tokens.items() if u == user_id]:
                del self._refresh_tokens[token]
            for token in [t for t, (u, _) in self._access_tokens.items() if u == user_id]:
                del self._access_tokens[token]
            for token in [t for t in self._token_scopes if t not in self._access_tokens | self._refresh_tokens]:
                del self._token_scopes[token]

    def account_of_token(self, token: str) -> str | None:
        entry = self._access_tokens.get(token)
        return entry[0] if entry else None

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
        if request.path == "/_sandbox/workspace":
            # A Workspace that delegated to a service account, and a group of its users.
            self.add_workspace(body["domain"], body["admin"])
            self.delegate(body["domain"], body["service_account"], body["scopes"])
            for user in body.get("members", []):
                self.users.setdefault(user, GoogleUser(user))
            if "group" in body:
                self.set_group(body["group"], {user: "USER" for user in body.get("members", [])})
            return Response(204)
        if request.path == "/_sandbox/interactive_consent":
            self.interactive_consent = bool(body.get("on", True))
            return Response(200, {"interactive_consent": self.interactive_consent})
        if request.path == "/_sandbox/revoke":
            # The person removes the app's access in their Google account: every token refused.
            self.revoke(body["user"])
            return Response(204)
        if request.path == "/_sandbox/client_secret":
            # The operator rotates the OAuth client's secret: the old one is refused (invalid_client).
            self.add_client(body["client_id"], body["client_secret"], self.client_names.get(body["client_id"]))
            return Response(204)
        return None

    def handle(self, request: Request) -> Response:
        try:
            if request.path == "/token" and request.method == "POST":
                if parse_qs(request.body.decode()).get("grant_type") == [JWT_BEARER]:
                    return self._jwt_grant(request)
                return self._token(request)
            if request.path.startswith(SIGN_BLOB):
                return self._sign_blob(request)
            if request.path.startswith(DIRECTORY_GROUPS):
                return self._directory(request)
            if request.path == AUTH_PATH and request.method in ("GET", "POST"):
                return self._authorize(request)
            if request.path in USERINFO_PATHS and request.method in ("GET", "POST"):
                return self._userinfo(request)
            if request.path == STYLESHEET_PATH:
                return stylesheet()
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
