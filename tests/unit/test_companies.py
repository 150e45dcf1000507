"""Companies as their people's contacts show them: records, what a change reaches, ordering."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from sync.companies import affected_contacts, companies_of, company_record
from sync.mapping import Company
from sync.state.companies import CompanyRecord


def info(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "co-1",
        "name": " Brouwerij Maes ",
        "telephones": [{"type": "fax", "number": "09 111 11 11"}, {"type": "phone", "number": "020 123 4567"}],
        "addresses": [{"type": "primary", "address": {"country": "NL", "city": "Amsterdam"}}],
        "related_contacts": [
            {"type": "contact", "id": "c-1", "position": "CEO"},
            {"type": "contact", "id": "c-2", "position": None},
        ],
        "updated_at": "2026-01-01T10:00:00+00:00",
    }
    base.update(changes)
    return base


def test_record_takes_the_phone_not_the_fax_in_the_companys_own_country() -> None:
    record = company_record(info())
    assert record == CompanyRecord(
        "co-1", "Brouwerij Maes", "+31 20 123 4567", {"c-1": "CEO", "c-2": ""}, "2026-01-01T10:00:00+00:00", "NL"
    )


def test_odd_values_are_left_out_rather_than_failing() -> None:
    record = company_record(
        info(name=None, telephones=[{"type": "phone", "number": 12}, "junk"], related_contacts=[{"id": None}, 7])
    )
    assert (record.name, record.phone, record.contacts) == ("", None, {})
    assert companies_of("c-1", [record]) == ()


def test_a_rename_reaches_every_employee_a_new_position_only_its_holder() -> None:
    old = company_record(info())
    assert affected_contacts(old, company_record(info(name="Maes NV"))) == {"c-1", "c-2"}
    moved = info(related_contacts=[{"type": "contact", "id": "c-1", "position": "CFO"}, {"id": "c-3"}])
    assert affected_contacts(old, company_record(moved)) == {"c-1", "c-2", "c-3"}
    assert affected_contacts(old, company_record(info(updated_at="2026-02-02T00:00:00+00:00"))) == set()
    assert affected_contacts(old, None) == {"c-1", "c-2"}
    assert affected_contacts(None, old) == {"c-1", "c-2"}


records = st.lists(
    st.builds(
        CompanyRecord,
        company_id=st.text(min_size=1, max_size=4),
        name=st.text(max_size=6),
        phone=st.none() | st.just("+32 9 222 33 44"),
        contacts=st.dictionaries(st.sampled_from(["a", "b", "c"]), st.text(max_size=3), max_size=3),
    ),
    max_size=8,
    unique_by=lambda r: r.company_id,
)


@given(records, st.randoms())
def test_a_contacts_companies_do_not_depend_on_reading_order(found: list[CompanyRecord], rnd: Any) -> None:
    shuffled = list(found)
    rnd.shuffle(shuffled)
    for contact_id in ("a", "b", "c"):
        companies = companies_of(contact_id, found)
        assert companies == companies_of(contact_id, shuffled)
        named = [r for r in found if r.name and contact_id in r.contacts]
        assert len(companies) == len(named)
        assert all(isinstance(c, Company) and c.name for c in companies)
