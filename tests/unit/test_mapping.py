"""Mapping a Teamleader contact to a Google person: pure, so tested without any server."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.mapping import (
    CLIENT_DATA_KEY,
    Company,
    Ineligible,
    Mapped,
    SkipReason,
    content_hash,
    format_phone,
    map_contact,
)


def contact(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "c-1",
        "first_name": "Amélie",
        "last_name": "Van den Broeck",
        "status": "active",
        "emails": [{"type": "primary", "email": "amelie@example.be"}],
        "telephones": [
            {"type": "phone", "number": "09 265 43 21"},
            {"type": "mobile", "number": "0470 12 34 56"},
            {"type": "fax", "number": "09 222 33 44"},
        ],
        "website": "https://example.be",
        "primary_address": {"line_1": "Veldstraat 1", "postal_code": "9000", "city": "Gent", "country": "be"},
        "birthdate": "1990-02-28",
        "web_url": "https://focus.teamleader.eu/contact_detail.php?id=c-1",
        "tags": ["klant"],
    }
    base.update(changes)
    return base


def test_full_contact_maps_every_managed_field() -> None:
    mapped = map_contact(contact())
    assert isinstance(mapped, Mapped)
    person = mapped.person
    assert person["names"] == [{"givenName": "Amélie", "familyName": "Van den Broeck"}]
    assert person["emailAddresses"] == [{"value": "amelie@example.be", "type": "work"}]
    assert person["phoneNumbers"] == [
        {"value": "+32 9 265 43 21", "type": "work"},
        {"value": "+32 470 12 34 56", "type": "mobile"},
        {"value": "+32 9 222 33 44", "type": "workFax"},
    ]
    assert person["addresses"] == [
        {"streetAddress": "Veldstraat 1", "postalCode": "9000", "city": "Gent", "countryCode": "BE", "type": "work"}
    ]
    assert person["birthdays"] == [{"date": {"year": 1990, "month": 2, "day": 28}}]
    assert {"value": "https://focus.teamleader.eu/contact_detail.php?id=c-1", "type": "Teamleader"} in person["urls"]
    assert person["clientData"] == [{"key": CLIENT_DATA_KEY, "value": "c-1"}]


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"first_name": ""}, "no first name"),
        ({"first_name": None}, "no first name"),
        ({"last_name": "   "}, "no last name"),
        ({"emails": [], "telephones": [{"type": "fax", "number": "09 1"}]}, "no phone, mobile or e-mail"),
        ({"status": "deactivated"}, "deactivated in Teamleader"),
    ],
)
def test_teamleaders_eligibility_rule(changes: dict[str, Any], reason: str) -> None:
    decision = map_contact(contact(**changes))
    assert decision == Ineligible("c-1", SkipReason(reason))


def test_a_mobile_alone_or_an_email_alone_is_enough() -> None:
    assert isinstance(map_contact(contact(emails=[], telephones=[{"type": "mobile", "number": "0470"}])), Mapped)
    assert isinstance(map_contact(contact(telephones=[])), Mapped)


def test_required_tags_scope() -> None:
    assert isinstance(map_contact(contact(), required_tags=frozenset({"klant"})), Mapped)
    outside = map_contact(contact(), required_tags=frozenset({"klant", "vip"}))
    assert isinstance(outside, Ineligible) and outside.reason.startswith("outside the synced tags")


def test_odd_values_are_left_out_not_fatal() -> None:
    mapped = map_contact(contact(birthdate="1990-02-30", primary_address={"country": ""}, website=None))
    assert isinstance(mapped, Mapped)
    assert "birthdays" not in mapped.person and "addresses" not in mapped.person


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"telephones": "0470 12 34 56"}, "malformed contact data (AttributeError)"),
        (
            {"emails": [{"type": "primary", "email": 12}], "telephones": [None]},
            "malformed contact data (AttributeError)",
        ),
        ({"primary_address": "Veldstraat 1"}, "malformed contact data (AttributeError)"),
        ({"tags": None, "first_name": ["Amélie"]}, "no first name"),
    ],
)
def test_malformed_contacts_are_skipped_with_a_reason(changes: dict[str, Any], reason: str) -> None:
    skipped = map_contact(contact(**changes))
    assert isinstance(skipped, Ineligible) and skipped.teamleader_id == "c-1"
    assert skipped.reason == reason


def test_unparseable_phone_is_kept_as_typed() -> None:
    assert format_phone("ext. 12", "BE") == "ext. 12"
    assert format_phone("+31 6 12345678", None) == "+31 6 12345678"


def test_company_and_its_phone() -> None:
    # The company's phone comes as its record keeps it, read in the company's own country.
    companies = (Company("Brouwerij Maes", "+32 9 222 33 44", "Brouwer"), Company("Café Zonder Nummer"))
    mapped = map_contact(contact(), companies=companies)
    assert isinstance(mapped, Mapped)
    assert mapped.person["organizations"] == [
        {"name": "Brouwerij Maes", "type": "work", "title": "Brouwer"},
        {"name": "Café Zonder Nummer", "type": "work"},
    ]
    assert {"value": "+32 9 222 33 44", "type": "Brouwerij Maes"} in mapped.person["phoneNumbers"]


text = st.text(st.characters(codec="utf-8"), max_size=60) | st.none()
telephones = st.lists(
    st.fixed_dictionaries(
        {"type": st.sampled_from(["phone", "mobile", "fax", "other"]), "number": st.text(max_size=25)}
    ),
    max_size=4,
)
contacts = st.fixed_dictionaries(
    {
        "id": st.uuids().map(str),
        "first_name": text,
        "last_name": text,
        "status": st.sampled_from(["active", "deactivated"]),
        "emails": st.lists(
            st.fixed_dictionaries({"type": st.just("primary"), "email": st.text(max_size=40)}), max_size=3
        ),
        "telephones": telephones,
        "website": text,
        "birthdate": text,
        "primary_address": st.none()
        | st.fixed_dictionaries({"line_1": text, "postal_code": text, "city": text, "country": text}),
        "tags": st.lists(st.sampled_from(["a", "b", "c"]), max_size=3),
    }
)


@given(contacts)
def test_any_contact_maps_or_is_explained(data: dict[str, Any]) -> None:
    decision = map_contact(data)
    if isinstance(decision, Ineligible):
        assert decision.reason
        return
    person = decision.person
    assert person["names"][0]["givenName"] == person["names"][0]["givenName"].strip() != ""
    assert person["clientData"] == [{"key": CLIENT_DATA_KEY, "value": data["id"]}]
    assert len(person.get("birthdays", [])) <= 1


@given(contacts)
def test_hash_ignores_key_order_and_sees_every_change(data: dict[str, Any]) -> None:
    decision = map_contact(data)
    if not isinstance(decision, Mapped):
        return
    reordered = {k: decision.person[k] for k in reversed(list(decision.person))}
    assert content_hash(reordered) == decision.content_hash
    renamed = map_contact({**data, "last_name": (data["last_name"] or "") + " x"})
    assert isinstance(renamed, Mapped) and renamed.content_hash != decision.content_hash


# What to_person writes: text, small numbers, lists and dicts of them.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**31), 2**31) | st.text(st.characters(codec="utf-8")),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@given(st.dictionaries(st.text(max_size=12), json_values, max_size=8))
def test_the_content_hash_is_the_digest_of_the_canonical_json_stored_hashes_were(person: dict[str, Any]) -> None:
    """The hashes stored before orjson were digests of json's canonical text; a different text
    would make every person look changed and be written again."""
    canonical = json.dumps(person, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert content_hash(person) == hashlib.sha256(canonical.encode()).hexdigest()[:32]


def test_a_name_that_is_not_unicode_is_skipped_as_malformed() -> None:
    """A lone surrogate (JSON's "\\ud800" decodes to one) cannot be written to Google: the
    contact is skipped with the reason, the others are mapped."""
    broken = map_contact(contact(id="c-2", last_name="Peeters\ud800"))
    assert isinstance(broken, Ineligible) and broken.cause is SkipReason.MALFORMED
    assert isinstance(map_contact(contact()), Mapped)
