"""The state every part of `PeopleSandbox` shares, and the helpers more than one resource uses.

The resources are mixins over `PeopleBase`; `PeopleSandbox.__init__` sets what is declared here."""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
from dataclasses import dataclass
from typing import Any

from sandbox.clock import Clock
from sandbox.people.records import GoogleError, GoogleUser, StoredPerson, _etag, _reason
from sandbox.people.schema import _Schema


@dataclass
class PendingCode:
    """An authorization code not yet exchanged: who consented, where it may go back to, the
    scopes granted, and the PKCE challenge it was asked with (RFC 7636)."""

    user: str
    redirect_uri: str
    scope: str
    challenge: str = ""
    method: str = ""

    def verifier_problem(self, verifier: str | None) -> str | None:
        """Why `verifier` does not answer the challenge, or None when it does (or when the
        request came without one: then no verifier is needed)."""
        if not self.challenge:
            return None
        if not verifier:
            return "Missing code verifier."
        if self.method == "S256":
            digest = hashlib.sha256(verifier.encode()).digest()
            verifier = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        return None if hmac.compare_digest(verifier.encode(), self.challenge.encode()) else "Invalid code verifier."


class PeopleBase:
    """The attributes `PeopleSandbox.__init__` sets, declared for the mixins that read them, and
    the helpers of more than one resource."""

    clock: Clock
    propagation_delay: float
    write_quota_per_minute: int
    max_field_length: int
    access_token_ttl: int
    expired_sync_token_status: int
    max_contacts: int
    batch_error_details: str
    limit_status: str
    shuffle_created: bool
    batch_get_lags: bool
    delete_missing_ok: bool
    etag_churn_next: int
    interactive_consent: bool
    consent_preticked: bool
    users: dict[str, GoogleUser]
    clients: dict[str, str]
    client_names: dict[str, str]
    _refresh_tokens: dict[str, str]
    _access_tokens: dict[str, tuple[str, float]]
    _token_scopes: dict[str, str]
    _codes: dict[str, PendingCode]
    _lock: threading.RLock
    _schema: _Schema
    _counter: int

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

    def _touch(self, person: StoredPerson, now: float) -> None:
        person.etag = _etag()
        person.changed_at = now

    def _visible(self, person: StoredPerson) -> bool:
        """Whether the lagging list endpoints show this person (as live) yet."""
        now = self.clock.now()
        if person.created_at + self.propagation_delay > now:
            return False
        return person.deleted_at is None or person.deleted_at + self.propagation_delay > now

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
