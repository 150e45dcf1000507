"""Google People API client (google-api-python-client, static discovery, google-auth).

Retries are chosen per method: reads, updates and deletes are retried on 429, 5xx and lost
connections; a create is retried only on 429, because a create whose answer was lost may have
happened, and re-sending it is how syncs make duplicates.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
from google.auth.exceptions import RefreshError
from google.auth.exceptions import TransportError as AuthTransportError
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from sync.errors import AmbiguousWriteError, GoogleError, ReauthRequiredError
from sync.google_http import HttpxHttp
from sync.mapping import CLIENT_DATA_KEY, MANAGED_FIELDS
from sync.ports import BatchLimits, PersonRef, WriteOutcome

SCOPES = ["https://www.googleapis.com/auth/contacts"]
GET_BATCH = 200
MEMBERS_BATCH = 1000
STALE_ETAG_ROUNDS = 3
MY_CONTACTS = "contactGroups/myContacts"


class _ThrottledError(Exception):
    pass


class _TransientError(Exception):
    pass


def _error_of(exc: HttpError) -> dict[str, Any]:
    try:
        body = json.loads(exc.content)
    except (ValueError, TypeError):
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def contact_errors(exc: HttpError) -> dict[str, dict[str, Any]] | None:
    """The per-contact errors of a failed batch, keyed by request index or resourceName;
    None when the answer does not say which contacts failed."""
    for detail in _error_of(exc).get("details") or []:
        if isinstance(detail, dict) and isinstance(detail.get("contactErrors"), dict):
            return {str(k): v for k, v in detail["contactErrors"].items()}
    return None


def _message(exc: HttpError) -> str:
    return str(_error_of(exc).get("message") or exc.reason or exc.status_code)


def _status(exc: HttpError) -> str:
    return str(_error_of(exc).get("status") or "")


def _oauth_error(exc: RefreshError) -> str:
    """The OAuth error code of a refused refresh (google-auth passes the answer's body second)."""
    body = exc.args[1] if len(exc.args) > 1 else None
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, str) else "refused"


def _membership(group: str) -> dict[str, Any]:
    return {"contactGroupMembership": {"contactGroupResourceName": group}}


def _ref(person: dict[str, Any]) -> PersonRef:
    etag = person.get("etag") or next(
        (s.get("etag") for s in person.get("metadata", {}).get("sources", []) if s.get("etag")), ""
    )
    return PersonRef(person["resourceName"], etag)


def _teamleader_id(person: dict[str, Any]) -> str | None:
    for item in person.get("clientData") or []:
        if item.get("key") == CLIENT_DATA_KEY:
            value = item.get("value")
            return value if isinstance(value, str) else None
    return None


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
        self._sleep = sleep
        self._attempts = attempts
        # Google's limits per call: 200 creates, 200 updates, 500 deletes.
        self.limits = BatchLimits()
        self.calls = 0
        self.writes = 0

    # ---- sending ----

    def _execute(self, request: Any, *, create: bool = False) -> Any:
        """Send once per attempt; classify failures into retryable or final."""

        def attempt() -> Any:
            self.calls += 1
            try:
                return request.execute(num_retries=0)
            except RefreshError as exc:
                if exc.retryable:  # 5xx, 429 or a timeout at the token endpoint: not a refusal
                    raise _TransientError("token endpoint") from exc
                raise ReauthRequiredError("Google", _oauth_error(exc)) from exc
            except HttpError as exc:
                if exc.status_code == 429:
                    raise _ThrottledError(_message(exc)) from exc
                if exc.status_code >= 500:
                    if create:
                        raise AmbiguousWriteError(f"create answered {exc.status_code}") from exc
                    raise _TransientError(_message(exc)) from exc
                raise
            except (httpx.TransportError, AuthTransportError, OSError) as exc:
                if create:
                    raise AmbiguousWriteError(f"create lost its answer: {exc!r}") from exc
                raise _TransientError(repr(exc)) from exc

        retrying = Retrying(
            retry=retry_if_exception(lambda e: isinstance(e, _ThrottledError | _TransientError)),
            stop=stop_after_attempt(self._attempts),
            wait=wait_exponential_jitter(multiplier=1, max=60),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            return retrying(attempt)
        except (_ThrottledError, _TransientError) as exc:
            raise GoogleError(429 if isinstance(exc, _ThrottledError) else 503, str(exc)) from exc

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
            raise GoogleError(exc.status_code, _message(exc)) from exc
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
                outcome.done[teamleader_id] = _ref(created["person"])
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
            raise GoogleError(exc.status_code, _message(exc), _status(exc)) from exc
        errors = contact_errors(exc)
        if errors is None:
            if len(pending) == 1:
                outcome.failed[pending[0][0]] = _message(exc)
                return []
            raise GoogleError(exc.status_code, _message(exc), _status(exc)) from exc
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
                    outcome.done[teamleader_id] = _ref(result["person"])
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
        if not errors and _status(exc) == "FAILED_PRECONDITION":
            stale = {ref.resource_name for _, ref, _ in pending}
        others = [item for item in pending if item[1].resource_name not in stale]
        if errors:
            others = self._set_aside(exc, others, outcome, lambda i, item: item[1].resource_name)
        elif not stale:
            raise GoogleError(exc.status_code, _message(exc), _status(exc)) from exc
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
                    found[response["requestedResourceName"]] = _ref(response["person"])
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
                    raise GoogleError(exc.status_code, _message(exc), _status(exc)) from exc
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
                teamleader_id = _teamleader_id(person)
                if teamleader_id and not person.get("metadata", {}).get("deleted"):
                    yield teamleader_id, _ref(person)
            token = page.get("nextPageToken")
            if not token:
                return
