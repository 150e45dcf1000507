"""Contacts written: create, update and delete, one at a time or in batches."""

from __future__ import annotations

import json
import random
import secrets
from typing import Any

from sandbox.httpserver import Request, Response
from sandbox.people.base import PeopleBase
from sandbox.people.records import (
    READABLE_FIELDS,
    SINGLE_VALUE_FIELDS,
    STATUS_CODES,
    SYSTEM_GROUPS,
    UPDATABLE_FIELDS,
    GoogleError,
    GoogleUser,
    StoredPerson,
    _contact_errors,
    _etag,
    _group_names,
    _longest_string,
    _membership,
    _valid_date,
)
from sandbox.people.schema import _mask


class PersonWrites(PeopleBase):
    """The endpoints that create, update and delete contacts."""

    # ---- persons ----

    def _new_name(self, prefix: str) -> str:
        self._counter += secrets.randbelow(1000) + 1
        return f"{prefix}{self._counter}"

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
