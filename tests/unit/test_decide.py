"""The decision table, row by row, and its properties over every combination."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.engine.decide import (
    Create,
    Delete,
    Forget,
    Scope,
    Skip,
    StillFailing,
    Unchanged,
    Update,
    decide,
)
from sync.mapping import Mapped, map_contact
from sync.ports import PersonRef
from sync.state.idmap import Entry


def contact(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "c-1",
        "first_name": "Amélie",
        "last_name": "Dubois",
        "status": "active",
        "emails": [{"type": "primary", "email": "amelie@example.be"}],
        "telephones": [],
        "tags": ["klant"],
    }
    return {**base, **changes}


def content_of(record: dict[str, Any]) -> str:
    mapped = map_contact(record)
    assert isinstance(mapped, Mapped)
    return mapped.content_hash


CURRENT = content_of(contact())
OLD = content_of(contact(last_name="Dubois-Martin"))


@pytest.mark.parametrize(
    ("record", "entry", "expected"),
    [
        (None, Entry("c-1", "synced", OLD, "people/c9", "e"), Delete("c-1", "people/c9")),
        (None, Entry("c-1", "failed", OLD, "people/c9", "e", "refused"), Delete("c-1", "people/c9")),
        (None, Entry("c-1", "skipped", reason="no first name"), Forget("c-1")),
        (None, Entry("c-1", "failed", OLD, reason="refused"), Forget("c-1")),
        (None, None, Forget("c-1")),
        (
            contact(status="deactivated"),
            Entry("c-1", "synced", OLD, "people/c9", "e"),
            Delete("c-1", "people/c9", "deactivated in Teamleader"),
        ),
        (contact(first_name=""), Entry("c-1", "skipped", reason="no first name"), Skip("c-1", "no first name", False)),
        (contact(first_name=""), Entry("c-1", "skipped", reason="no last name"), Skip("c-1", "no first name", True)),
        (contact(first_name=""), None, Skip("c-1", "no first name", True)),
        (contact(first_name=""), Entry("c-1", "failed", OLD, reason="refused"), Skip("c-1", "no first name", True)),
        (contact(), Entry("c-1", "failed", CURRENT, "people/c9", "e", "refused"), StillFailing("c-1")),
        (contact(), Entry("c-1", "failed", CURRENT, reason="refused"), StillFailing("c-1")),
        (contact(), Entry("c-1", "synced", CURRENT, "people/c9", "e"), Unchanged("c-1")),
    ],
)
def test_the_table_row_by_row(record: dict[str, Any] | None, entry: Entry | None, expected: object) -> None:
    assert decide("c-1", record, entry) == expected


def test_changed_content_updates_the_person_google_holds() -> None:
    for state in ("synced", "failed"):
        decision = decide("c-1", contact(), Entry("c-1", state, OLD, "people/c9", "etag-1", None))
        assert isinstance(decision, Update)
        assert decision.ref == PersonRef("people/c9", "etag-1")
        assert decision.mapped.content_hash == CURRENT


def test_a_contact_google_does_not_hold_is_created() -> None:
    for entry in (None, Entry("c-1", "skipped", reason="no first name"), Entry("c-1", "failed", OLD, reason="x")):
        decision = decide("c-1", contact(), entry)
        assert isinstance(decision, Create) and decision.mapped.content_hash == CURRENT


def test_the_scope_is_part_of_eligibility() -> None:
    inside = decide("c-1", contact(), None, scope=Scope(frozenset({"klant"})))
    outside = decide(
        "c-1", contact(), Entry("c-1", "synced", CURRENT, "people/c9", "e"), scope=Scope(frozenset({"vip"}))
    )
    assert isinstance(inside, Create)
    assert outside == Delete("c-1", "people/c9", "outside the synced tags (vip)")


states = st.sampled_from(["synced", "skipped", "failed"])
entries = st.one_of(
    st.none(),
    st.builds(
        Entry,
        teamleader_id=st.just("c-1"),
        state=states,
        content_hash=st.sampled_from([CURRENT, OLD, ""]),
        resource_name=st.sampled_from([None, "people/c9"]),
        etag=st.sampled_from([None, "e"]),
        reason=st.sampled_from([None, "no first name", "refused"]),
    ),
)
records = st.one_of(
    st.none(),
    st.builds(
        contact,
        first_name=st.sampled_from(["Amélie", "", "  "]),
        status=st.sampled_from(["active", "deactivated"]),
        last_name=st.sampled_from(["Dubois", "Dubois-Martin"]),
    ),
)
scopes = st.sampled_from([Scope(), Scope(frozenset({"klant"})), Scope(frozenset({"vip"}))])


@given(record=records, entry=entries, scope=scopes)
def test_every_combination_has_one_safe_answer(
    record: dict[str, Any] | None, entry: Entry | None, scope: Scope
) -> None:
    decision = decide("c-1", record, entry, (), scope)
    holds_person = entry is not None and entry.state != "skipped" and entry.resource_name is not None
    mapped = map_contact(record, required_tags=scope.required_tags) if record is not None else None
    # A person Google holds is only ever updated, deleted, or left alone; never created again.
    if holds_person:
        assert not isinstance(decision, Create | Forget | Skip)
    else:
        assert not isinstance(decision, Update | Delete)
    # Only an eligible contact is written to Google.
    if isinstance(decision, Create | Update):
        assert isinstance(mapped, Mapped) and decision.mapped == mapped
    # Nothing is deleted that Teamleader still has and the scope still takes.
    if isinstance(decision, Delete):
        assert record is None or not isinstance(mapped, Mapped)
        assert (decision.reason is None) == (record is None)
    # Content Google already holds, or refused as it is, is not sent again.
    same = isinstance(mapped, Mapped) and entry is not None and entry.content_hash == mapped.content_hash
    if same and entry is not None and (entry.state == "failed" or (entry.state == "synced" and entry.resource_name)):
        assert not isinstance(decision, Create | Update)
