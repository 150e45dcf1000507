"""Google People API client (google-api-python-client, static discovery, google-auth): one
user's contact group and the persons in it, written in batches. How each request is sent and
retried is `sync.people_calls`; how Google's answers are read is `sync.people_answers`."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from sync.errors import AmbiguousWriteError, GoogleError
from sync.google_http import HttpxHttp
from sync.mapping import MANAGED_FIELDS
from sync.people_answers import contact_errors, error_message, error_status, person_ref, stamp_of
from sync.people_calls import Sender
from sync.ports import BatchLimits, PersonRef, WriteOutcome

SCOPES = ["https://www.googleapis.com/auth/contacts"]
GET_BATCH = 200
MEMBERS_BATCH = 1000
STALE_ETAG_ROUNDS = 3
MY_CONTACTS = "contactGroups/myContacts"


def _membership(group: str) -> dict[str, Any]:
    return {"contactGroupMembership": {"contactGroupResourceName": group}}


class PeopleClient:
    """The contacts of one Google user, through the People API."""

    def __init__(
        self,
        http: httpx.Client,
        credentials: Credentials,
        *,
        api_url: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        attempts: int = 8,
    ) -> None:
        options = {"api_endpoint": api_url} if api_url else None
        self._service = build(
            "people",
            "v1",
            http=HttpxHttp(http, credentials),
            static_discovery=True,
            client_options=options,
            cache_discovery=False,
        )
        self._execute = Sender(sleep, attempts)
        # Google's limits per call: 200 creates, 200 updates, 500 deletes.
        self.limits = BatchLimits()
        self.writes = 0

    @property
    def calls(self) -> int:
        """Requests sent so far, retries included."""
        return self._execute.calls

    # ---- groups ----

    def find_group(self, name: str) -> str | None:
        """The resourceName of the user's contact group called `name`, if there is one."""
        token = None
        while True:
            page = self._execute(
                self._service.contactGroups().list(pageSize=1000, pageToken=token, groupFields="name,groupType")
            )
            for group in page.get("contactGroups", []):
                if group.get("name") == name and group.get("groupType") == "USER_CONTACT_GROUP":
                    found: str = group["resourceName"]
                    return found
            token = page.get("nextPageToken")
            if not token:
                return None

    def group_exists(self, resource_name: str) -> bool:
        try:
            self._execute(self._service.contactGroups().get(resourceName=resource_name, groupFields="name"))
        except HttpError as exc:
            if exc.status_code == 404:
                return False
            raise
        return True

    def create_group(self, name: str) -> str:
        """Create the group; if the name is taken meanwhile (409), adopt the existing one."""
        try:
            self.writes += 1
            group = self._execute(self._service.contactGroups().create(body={"contactGroup": {"name": name}}))
        except HttpError as exc:
            if exc.status_code == 409:
                existing = self.find_group(name)
                if existing:
                    return existing
            raise GoogleError(exc.status_code, error_message(exc)) from exc
        created: str = group["resourceName"]
        return created

    def add_members(self, group: str, resource_names: list[str]) -> list[str]:
        """Put persons (back) into the group; answers the names Google no longer knows."""
        not_found: list[str] = []
        for start in range(0, len(resource_names), MEMBERS_BATCH):
            chunk = resource_names[start : start + MEMBERS_BATCH]
            self.writes += 1
            answer = self._execute(
                self._service.contactGroups().members().modify(resourceName=group, body={"resourceNamesToAdd": chunk})
            )
            not_found += answer.get("notFoundResourceNames", [])
        return not_found

    # ---- persons ----

    def create(self, items: list[tuple[str, dict[str, Any]]], group: str) -> WriteOutcome:
        """Create persons in the group (and My Contacts); at most 200 per call.

        One bad person fails Google's whole batch: the ones Google names are set aside with its
        reason and the rest sent again. Raises AmbiguousWriteError when an answer is lost.
        """
        outcome = WriteOutcome()
        pending = list(items)
        while pending:
            body = {
                "contacts": [
                    {"contactPerson": {**person, "memberships": [_membership(group), _membership(MY_CONTACTS)]}}
                    for _, person in pending
                ],
                "readMask": "metadata",
            }
            try:
                self.writes += 1
                answer = self._execute(self._service.people().batchCreateContacts(body=body), create=True)
            except AmbiguousWriteError as exc:
                raise AmbiguousWriteError(str(exc), outcome.failed) from exc
            except HttpError as exc:
                if exc.status_code == 400 and contact_errors(exc) is None and len(pending) > 1:
                    # Refused without saying which contact: halve until the culprit is alone.
                    half = len(pending) // 2
                    for part in (pending[:half], pending[half:]):
                        found = self.create(part, group)
                        outcome.done.update(found.done)
                        outcome.failed.update(found.failed)
                    return outcome
                pending = self._set_aside(exc, pending, outcome, lambda i, item: str(i))
                continue
            for (teamleader_id, _), created in zip(pending, answer.get("createdPeople", []), strict=True):
                outcome.done[teamleader_id] = person_ref(created["person"])
            pending = []
        return outcome

    def _set_aside(
        self,
        exc: HttpError,
        pending: list[Any],
        outcome: WriteOutcome,
        key_of: Callable[[int, Any], str],
    ) -> list[Any]:
        """After a refused batch: record the contacts Google named, return the rest to resend."""
        if exc.status_code not in (400, 404):
            raise GoogleError(exc.status_code, error_message(exc), error_status(exc)) from exc
        errors = contact_errors(exc)
        if errors is None:
            if len(pending) == 1:
                outcome.failed[pending[0][0]] = error_message(exc)
                return []
            raise GoogleError(exc.status_code, error_message(exc), error_status(exc)) from exc
        rest = []
        for index, item in enumerate(pending):
            error = errors.get(key_of(index, item))
            if error is None:
                rest.append(item)
            elif error.get("status") == "NOT_FOUND" or error.get("code") == 5:
                outcome.missing.append(item[0])
            else:
                outcome.failed[item[0]] = str(error.get("message") or error)
        return rest

    def update(self, items: list[tuple[str, PersonRef, dict[str, Any]]]) -> WriteOutcome:
        """Replace the managed fields of persons; at most 200 per call. Stale etags are
        re-read and the update re-applied, a bounded number of times."""
        outcome = WriteOutcome()
        pending = list(items)
        for _ in range(STALE_ETAG_ROUNDS + 1):
            if not pending:
                break
            body = {
                "contacts": {ref.resource_name: {**person, "etag": ref.etag} for _, ref, person in pending},
                "updateMask": ",".join(MANAGED_FIELDS),
                "readMask": "metadata",
            }
            try:
                self.writes += 1
                answer = self._execute(self._service.people().batchUpdateContacts(body=body))
            except HttpError as exc:
                pending = self._after_refused_update(exc, pending, outcome)
                continue
            results = answer.get("updateResult", {})
            for teamleader_id, ref, _ in pending:
                result = results.get(ref.resource_name, {})
                if "person" in result:
                    outcome.done[teamleader_id] = person_ref(result["person"])
            pending = []
        for teamleader_id, _, _ in pending:
            outcome.failed[teamleader_id] = f"etag still stale after {STALE_ETAG_ROUNDS} re-reads"
        return outcome

    def _after_refused_update(
        self, exc: HttpError, pending: list[tuple[str, PersonRef, dict[str, Any]]], outcome: WriteOutcome
    ) -> list[tuple[str, PersonRef, dict[str, Any]]]:
        errors = contact_errors(exc) or {}
        stale = {
            name
            for name, error in errors.items()
            if error.get("status") == "FAILED_PRECONDITION" or error.get("code") == 9
        }
        if not errors and error_status(exc) == "FAILED_PRECONDITION":
            stale = {ref.resource_name for _, ref, _ in pending}
        others = [item for item in pending if item[1].resource_name not in stale]
        if errors:
            others = self._set_aside(exc, others, outcome, lambda i, item: item[1].resource_name)
        elif not stale:
            raise GoogleError(exc.status_code, error_message(exc), error_status(exc)) from exc
        refreshed = self.get([item[1].resource_name for item in pending if item[1].resource_name in stale])
        retry = list(others)
        for teamleader_id, ref, person in pending:
            if ref.resource_name not in stale:
                continue
            current = refreshed.get(ref.resource_name)
            if current is None:
                outcome.missing.append(teamleader_id)
            else:
                retry.append((teamleader_id, current, person))
        return retry

    def get(self, resource_names: list[str]) -> dict[str, PersonRef]:
        """Current etags (and names, which can change) of persons, by requested name; absent
        when Google no longer has the person. Immediate: no propagation delay."""
        found: dict[str, PersonRef] = {}
        for start in range(0, len(resource_names), GET_BATCH):
            chunk = resource_names[start : start + GET_BATCH]
            answer = self._execute(self._service.people().getBatchGet(resourceNames=chunk, personFields="metadata"))
            for response in answer.get("responses", []):
                if response.get("httpStatusCode", 200) == 200 and "person" in response:
                    found[response["requestedResourceName"]] = person_ref(response["person"])
        return found

    def delete(self, resource_names: list[str]) -> None:
        """Delete persons, at most 500 per call; persons already gone count as deleted."""
        pending = list(resource_names)
        while pending:
            try:
                self.writes += 1
                self._execute(self._service.people().batchDeleteContacts(body={"resourceNames": pending}))
                break
            except HttpError as exc:
                errors = contact_errors(exc)
                if exc.status_code not in (400, 404) or not errors:
                    raise GoogleError(exc.status_code, error_message(exc), error_status(exc)) from exc
                pending = [name for name in pending if name not in errors]

    def stamped(self) -> Iterator[tuple[str, PersonRef]]:
        """Every person that carries a Teamleader id, as Google's lists show them now
        (they lag writes by minutes)."""
        token = None
        while True:
            page = self._execute(
                self._service.people()
                .connections()
                .list(resourceName="people/me", pageSize=1000, pageToken=token, personFields="clientData,metadata")
            )
            for person in page.get("connections", []):
                teamleader_id = stamp_of(person)
                if teamleader_id and not person.get("metadata", {}).get("deleted"):
                    yield teamleader_id, person_ref(person)
            token = page.get("nextPageToken")
            if not token:
                return
