"""Google People API client (google-api-python-client, static discovery, google-auth): one
user's contact group and the persons in it, written in batches. How each request is sent and
retried is `sync.google.calls`; how Google's answers are read is `sync.google.answers`."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
from google.auth.credentials import Credentials
from googleapiclient.errors import HttpError

from sync.errors import GoogleError
from sync.google.answers import error_message, in_other_group, person_ref, stamp_of
from sync.google.calls import Sender
from sync.google.pace import WritePace
from sync.google.transport import HttpxHttp, shared_service
from sync.google.writes import PersonWrites
from sync.ports import BatchLimits, PersonRef, WriteOutcome
from sync.progress import Announce, unheard

SCOPES = ["https://www.googleapis.com/auth/contacts"]
GET_BATCH = 200
MEMBERS_BATCH = 1000


@functools.cache
def _resources(api_url: str | None) -> tuple[Any, Any, Any, Any]:
    """The People API's resources, built once for every user: each call of people() builds
    every method again from the discovery document (a fiftieth of a second, and memory)."""
    people = shared_service("people", "v1", api_url)
    persons, groups = people.people(), people.contactGroups()
    return persons, persons.connections(), groups, groups.members()


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
        on_wait: Announce = unheard,
        pace: WritePace | None = None,
    ) -> None:
        self._people, self._connections, self._groups, self._members = _resources(api_url)
        # Every request goes out through this user's own transport and credentials.
        self._execute = Sender(sleep, attempts, on_wait, HttpxHttp(http, credentials), pace)
        # Google's limits per call: 200 creates, 200 updates, 500 deletes.
        self.limits = BatchLimits()
        self._persons = PersonWrites(self._people, self._execute, self.get)

    @property
    def calls(self) -> int:
        """Requests sent so far, retries included."""
        return self._execute.calls

    @property
    def writes(self) -> int:
        """Of those, the ones that write."""
        return self._execute.writes

    # ---- groups ----

    def find_group(self, name: str) -> str | None:
        """The resourceName of the user's contact group called `name`, if there is one."""
        token = None
        while True:
            page = self._execute(self._groups.list(pageSize=1000, pageToken=token, groupFields="name,groupType"))
            for group in page.get("contactGroups", []):
                if group.get("name") == name and group.get("groupType") == "USER_CONTACT_GROUP":
                    found: str = group["resourceName"]
                    return found
            token = page.get("nextPageToken")
            if not token:
                return None

    def group_exists(self, resource_name: str) -> bool:
        try:
            self._execute(self._groups.get(resourceName=resource_name, groupFields="name"))
        except HttpError as exc:
            if exc.status_code == 404:
                return False
            raise
        return True

    def create_group(self, name: str) -> str:
        """Create the group; if the name is taken meanwhile (409), adopt the existing one."""
        try:
            group = self._execute(self._groups.create(body={"contactGroup": {"name": name}}), write=True)
        except HttpError as exc:
            if exc.status_code == 409:
                existing = self.find_group(name)
                if existing:
                    return existing
            raise GoogleError(exc.status_code, error_message(exc)) from exc
        created: str = group["resourceName"]
        return created

    def delete_group(self, resource_name: str) -> None:
        """Delete the group (its members stay in the account); one already gone is fine."""
        try:
            self._execute(self._groups.delete(resourceName=resource_name), write=True)
        except HttpError as exc:
            if exc.status_code != 404:
                raise GoogleError(exc.status_code, error_message(exc)) from exc

    def add_members(self, group: str, resource_names: list[str]) -> list[str]:
        """Put persons (back) into the group; answers the names Google no longer knows."""
        not_found: list[str] = []
        for start in range(0, len(resource_names), MEMBERS_BATCH):
            chunk = resource_names[start : start + MEMBERS_BATCH]
            answer = self._execute(
                self._members.modify(resourceName=group, body={"resourceNamesToAdd": chunk}),
                write=True,
            )
            not_found += answer.get("notFoundResourceNames", [])
        return not_found

    # ---- persons ----

    def create(self, items: list[tuple[str, dict[str, Any]]], group: str) -> WriteOutcome:
        """See `PersonWrites.create`."""
        return self._persons.create(items, group)

    def update(self, items: list[tuple[str, PersonRef, dict[str, Any]]]) -> WriteOutcome:
        """See `PersonWrites.update`."""
        return self._persons.update(items)

    def delete(self, resource_names: list[str]) -> dict[str, str]:
        """See `PersonWrites.delete`."""
        return self._persons.delete(resource_names)

    def get(self, resource_names: list[str]) -> dict[str, PersonRef]:
        """Current etags (and names, which can change) of persons, by requested name; absent
        when Google no longer has the person. Immediate: no propagation delay."""
        found: dict[str, PersonRef] = {}
        for start in range(0, len(resource_names), GET_BATCH):
            chunk = resource_names[start : start + GET_BATCH]
            answer = self._execute(self._people.getBatchGet(resourceNames=chunk, personFields="metadata"))
            for response in answer.get("responses", []):
                if response.get("httpStatusCode", 200) == 200 and "person" in response:
                    found[response["requestedResourceName"]] = person_ref(response["person"])
        return found

    def stamped(self, group: str) -> Iterator[tuple[str, PersonRef]]:
        """Every person that carries a Teamleader id, as Google's lists show them now (they
        lag writes by minutes), but the ones in another of the user's own groups than `group`
        (another connection's, writing to the same user)."""
        token = None
        while True:
            page = self._execute(
                self._connections.list(
                    resourceName="people/me",
                    pageSize=1000,
                    pageToken=token,
                    personFields="clientData,memberships,metadata",
                )
            )
            for person in page.get("connections", []):
                teamleader_id = stamp_of(person)
                if (
                    teamleader_id
                    and not person.get("metadata", {}).get("deleted")
                    and not in_other_group(person, group)
                ):
                    yield teamleader_id, person_ref(person)
            token = page.get("nextPageToken")
            if not token:
                return
