"""Batch writes of persons through the People API: creates, updates and deletes, each with its
fallbacks for what Google refuses (a person named, a batch refused without naming anyone, a
stale etag, a person deleted by hand, the account refusing more)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from googleapiclient.errors import HttpError

from sync.errors import (
    AmbiguousWriteError,
    GoogleAccountRefusedError,
    GoogleError,
    ReauthRequiredError,
    WriteStoppedError,
)
from sync.google.answers import (
    contact_errors,
    error_message,
    error_status,
    names_missing,
    person_ref,
    refused_account,
    refused_as_missing,
    stamp_of,
)
from sync.google.calls import Sender
from sync.mapping import MANAGED_FIELDS
from sync.ports import PersonRef, WriteOutcome

STALE_ETAG_ROUNDS = 3
MY_CONTACTS = "contactGroups/myContacts"


@dataclass
class _Probe:
    """What halving a refused create batch has seen: the last contact refused alone, if no
    create has succeeded since."""

    refused_alone: str | None = None


def _membership(group: str) -> dict[str, Any]:
    return {"contactGroupMembership": {"contactGroupResourceName": group}}


class PersonWrites:
    """One Google user's persons, written in batches."""

    def __init__(self, people: Any, execute: Sender, read: Callable[[list[str]], dict[str, PersonRef]]) -> None:
        self._people = people
        self._execute = execute
        self._read = read

    def create(self, items: list[tuple[str, dict[str, Any]]], group: str) -> WriteOutcome:
        """Create persons in the group (and My Contacts); at most 200 per call. Created persons
        are matched to contacts by the Teamleader id they carry, never by their place in the
        answer (its order is not documented).

        One bad person fails Google's whole batch: the ones Google names are set aside with its
        reason and the rest sent again; a refusal that names no one is halved down to the
        culprit. Raises AmbiguousWriteError when an answer is lost, and WriteStoppedError
        (with what was made before) when Google refuses the rest: the account's refusal
        (GoogleAccountRefusedError), an outage or exhausted quota, a revoked token.
        """
        outcome = WriteOutcome()
        try:
            self._create(list(items), group, outcome, _Probe())
        except (GoogleError, ReauthRequiredError) as exc:
            raise WriteStoppedError(exc, outcome) from exc
        return outcome

    def _create(
        self, pending: list[tuple[str, dict[str, Any]]], group: str, outcome: WriteOutcome, probe: _Probe
    ) -> None:
        while pending:
            body = {
                "contacts": [
                    {"contactPerson": {**person, "memberships": [_membership(group), _membership(MY_CONTACTS)]}}
                    for _, person in pending
                ],
                "readMask": "clientData,metadata",
            }
            try:
                answer = self._execute(self._people.batchCreateContacts(body=_json(body)), create=True, write=True)
            except AmbiguousWriteError as exc:
                raise AmbiguousWriteError(str(exc), outcome.failed) from exc
            except HttpError as exc:
                if refused_account(exc):
                    raise GoogleAccountRefusedError(exc.status_code, error_message(exc), error_status(exc)) from exc
                if exc.status_code not in (400, 404):
                    raise GoogleError(exc.status_code, error_message(exc), error_status(exc)) from exc
                errors = contact_errors(exc)
                if errors is None:
                    self._create_halves(pending, group, outcome, probe, exc)
                    return
                pending = self._set_aside(errors, pending, outcome, lambda i, item: str(i))
                continue
            made = {
                stamp_of(c["person"]): person_ref(c["person"]) for c in answer.get("createdPeople", []) if "person" in c
            }
            if any(tid not in made for tid, _ in pending):
                # Made, but which person is which cannot be told: settled from Google's lists.
                raise AmbiguousWriteError("created persons without their Teamleader id", outcome.failed)
            outcome.done.update({tid: made[tid] for tid, _ in pending})
            probe.refused_alone = None
            pending = []

    def _create_halves(
        self,
        pending: list[tuple[str, dict[str, Any]]],
        group: str,
        outcome: WriteOutcome,
        probe: _Probe,
        exc: HttpError,
    ) -> None:
        """A create refused without naming a contact: each half is sent again, down to single
        contacts. Two contacts in a row refused alone (nothing made between them) say that it is
        the account Google refuses (its contact limit), not them: neither is marked failed."""
        if len(pending) > 1:
            half = len(pending) // 2
            self._create(pending[:half], group, outcome, probe)
            self._create(pending[half:], group, outcome, probe)
            return
        if probe.refused_alone is not None:
            outcome.failed.pop(probe.refused_alone, None)
            raise GoogleAccountRefusedError(exc.status_code, error_message(exc), error_status(exc)) from exc
        probe.refused_alone = pending[0][0]
        outcome.failed[pending[0][0]] = error_message(exc)

    @staticmethod
    def _set_aside(
        errors: dict[str, dict[str, Any]],
        pending: list[Any],
        outcome: WriteOutcome,
        key_of: Callable[[int, Any], str],
    ) -> list[Any]:
        """After a batch refused naming its contacts (`errors`): record the ones Google named,
        return the rest to resend."""
        rest = []
        for index, item in enumerate(pending):
            error = errors.get(key_of(index, item))
            if error is None:
                rest.append(item)
            elif names_missing(error):
                outcome.missing.append(item[0])
            else:
                outcome.failed[item[0]] = str(error.get("message") or error)
        return rest

    def update(self, items: list[tuple[str, PersonRef, dict[str, Any]]]) -> WriteOutcome:
        """Replace the managed fields of persons; at most 200 per call. Stale etags are
        re-read and the update re-applied, a bounded number of times; a refusal that names no
        person is halved down to it; a person Google no longer has is reported missing."""
        outcome = WriteOutcome()
        self._update(list(items), outcome)
        return outcome

    def _update(self, pending: list[tuple[str, PersonRef, dict[str, Any]]], outcome: WriteOutcome) -> None:
        for _ in range(STALE_ETAG_ROUNDS + 1):
            if not pending:
                return
            body = {
                "contacts": {ref.resource_name: {**person, "etag": ref.etag} for _, ref, person in pending},
                "updateMask": ",".join(MANAGED_FIELDS),
                "readMask": "metadata",
            }
            try:
                answer = self._execute(self._people.batchUpdateContacts(body=_json(body)), write=True)
            except HttpError as exc:
                unnamed = contact_errors(exc) is None and error_status(exc) != "FAILED_PRECONDITION"
                if unnamed and exc.status_code in (400, 404):
                    if len(pending) > 1:
                        half = len(pending) // 2
                        self._update(pending[:half], outcome)
                        self._update(pending[half:], outcome)
                    elif refused_as_missing(exc):
                        outcome.missing.append(pending[0][0])
                    else:
                        outcome.failed[pending[0][0]] = error_message(exc)
                    return
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
            if exc.status_code not in (400, 404):
                raise GoogleError(exc.status_code, error_message(exc), error_status(exc)) from exc
            others = self._set_aside(errors, others, outcome, lambda i, item: item[1].resource_name)
        elif not stale:
            raise GoogleError(exc.status_code, error_message(exc), error_status(exc)) from exc
        refreshed = self._read([item[1].resource_name for item in pending if item[1].resource_name in stale])
        retry = list(others)
        for teamleader_id, ref, person in pending:
            if ref.resource_name not in stale:
                continue
            current = refreshed.get(ref.resource_name)
            if current is None:
                # Not found by a read that may lag the writes: not taken for deleted (that would
                # create it again); it is tried again when it changes, or by the full run.
                outcome.failed[teamleader_id] = "could not be read again to refresh its etag"
            else:
                retry.append((teamleader_id, current, person))
        return retry

    def delete(self, resource_names: list[str]) -> dict[str, str]:
        """Delete persons, at most 500 per call; persons already gone count as deleted, however
        Google says so. Answers the ones refused, with Google's reason."""
        refused: dict[str, str] = {}
        self._delete(list(resource_names), refused)
        return refused

    def _delete(self, pending: list[str], refused: dict[str, str]) -> None:
        while pending:
            try:
                self._execute(self._people.batchDeleteContacts(body={"resourceNames": pending}), write=True)
                return
            except HttpError as exc:
                if exc.status_code not in (400, 404):
                    raise GoogleError(exc.status_code, error_message(exc), error_status(exc)) from exc
                errors = contact_errors(exc)
                if errors is None:
                    if len(pending) > 1:
                        half = len(pending) // 2
                        self._delete(pending[:half], refused)
                        self._delete(pending[half:], refused)
                    elif not refused_as_missing(exc):
                        refused[pending[0]] = error_message(exc)
                    return
                for name, error in errors.items():
                    if not names_missing(error):
                        refused[name] = str(error.get("message") or error)
                pending = [name for name in pending if name not in errors]


def _json(body: dict[str, Any]) -> str:
    """A batch body as its JSON text (see transport.SerializedJsonModel): orjson writes 200
    persons in a tenth of the time json takes."""
    return orjson.dumps(body).decode()
