"""Contacts read: by name, in batches, listed (with sync tokens) and searched."""

from __future__ import annotations

import base64
import json
from typing import Any

from sandbox.httpserver import Request, Response
from sandbox.people.base import PeopleBase
from sandbox.people.records import (
    READABLE_FIELDS,
    SYNC_TOKEN_LIFETIME,
    GoogleError,
    GoogleUser,
    _encode_token,
    _GoneError,
    _reason,
    _searchable,
)
from sandbox.people.schema import _mask


class PersonReads(PeopleBase):
    """The endpoints that read contacts: get, batchGet, connections (sync tokens) and search."""

    # ---- persons, read ----

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
