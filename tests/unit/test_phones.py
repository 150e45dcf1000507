"""Phone numbers keep their meaning: rewritten to international form only where the country
is known and the number valid there, else sent as typed."""

from __future__ import annotations

from typing import Any

import phonenumbers
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.mapping import Company, Mapped, format_phone, map_contact

FOREIGN = ["NL", "FR", "DE", "GB"]
KINDS = [phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE]


def national(region: str, kind: int) -> str:
    example = phonenumbers.example_number_for_type(region, kind)
    assert example is not None
    return phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)


def person_phones(
    number: str, companies: tuple[Company, ...] = (), default_region: str | None = None, **changes: Any
) -> list[str]:
    contact = {
        "id": "c-1",
        "first_name": "Joost",
        "last_name": "de Vries",
        "status": "active",
        "emails": [],
        "telephones": [{"type": "mobile", "number": number}],
        **changes,
    }
    mapped = map_contact(contact, companies, default_region=default_region)
    assert isinstance(mapped, Mapped)
    return [p["value"] for p in mapped.person["phoneNumbers"]]


def test_the_examples_of_the_issue_keep_their_meaning() -> None:
    assert format_phone("06 12345678", None) == "06 12345678"  # a Dutch mobile
    assert format_phone("01 42 68 53 00", None) == "01 42 68 53 00"  # Paris
    assert format_phone("06 12345678", "NL") == "+31 6 12345678"
    assert format_phone("01 42 68 53 00", "FR") == "+33 1 42 68 53 00"
    assert format_phone("0470 12 34 56", "BE") == "+32 470 12 34 56"
    assert format_phone("+31 6 12345678", None) == "+31 6 12345678"
    # Not a valid Belgian number, though a possible one: left as typed.
    assert format_phone("06 12345678", "BE") == "06 12345678"
    # Foreign numbers that are valid Belgian numbers too (Marseille, Frankfurt): without a
    # country, nothing says which they are.
    for typed in ("04 91 23 45 67", "069 123456"):
        assert format_phone(typed, None) == typed
        assert person_phones(number=typed) == [typed]


@settings(max_examples=200, deadline=None)
@given(region=st.sampled_from(FOREIGN), kind=st.sampled_from(KINDS), spacing=st.sampled_from(["", " ", "-"]))
def test_foreign_numbers_without_a_country_never_become_belgian(region: str, kind: int, spacing: str) -> None:
    typed = national(region, kind).replace(" ", spacing)
    for phones in (person_phones(number=typed), person_phones(number=typed, default_region=None)):
        assert not any(p.startswith("+32") for p in phones)
        assert phones == [typed]


@settings(max_examples=100, deadline=None)
@given(region=st.sampled_from([*FOREIGN, "BE"]), kind=st.sampled_from(KINDS))
def test_a_known_country_gives_the_international_form(region: str, kind: int) -> None:
    typed = national(region, kind)
    expected = phonenumbers.format_number(
        phonenumbers.parse(typed, region), phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    address = {"line_1": "Straat 1", "postal_code": "1000", "city": "Stad", "country": region}
    assert person_phones(number=typed, primary_address=address) == [expected]
    company = Company("Firma", None, None, region)
    assert person_phones(number=typed, companies=(company,)) == [expected]
    assert person_phones(number=typed, default_region=region) == [expected]
