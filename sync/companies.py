"""Teamleader companies as their people's Google contacts show them: pure functions only.

`contacts.list` never says who works where; `companies.info` with `related_contacts` does, in
one call per company, together with the company's name and phone number. The sync keeps one
`CompanyRecord` per company and derives each contact's companies from them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sync.mapping import Company, clean_text, format_phone, region_of
from sync.ports import CompanyRecord


def company_record(info: dict[str, Any]) -> CompanyRecord:
    """The record of a company from its `companies.info` answer (with related_contacts).

    The phone shown is the company's first `phone` number (a fax is no way to call it), read in
    the company's own country: its people may live elsewhere. Odd values are left out rather
    than failing: a company never stops its people's sync."""
    number = next(
        (
            clean_text(t.get("number"))
            for t in info.get("telephones") or []
            if isinstance(t, dict) and t.get("type") == "phone" and clean_text(t.get("number"))
        ),
        None,
    )
    region = region_of(info)
    phone = format_phone(number, region) if number else None
    contacts = {
        str(link["id"]): clean_text(link.get("position"))
        for link in info.get("related_contacts") or []
        if isinstance(link, dict) and link.get("type", "contact") == "contact" and link.get("id")
    }
    return CompanyRecord(
        str(info["id"]), clean_text(info.get("name")), phone, contacts, clean_text(info.get("updated_at")), region
    )


def affected_contacts(old: CompanyRecord | None, new: CompanyRecord | None) -> set[str]:
    """The contacts whose Google contact changes when `old` becomes `new` (None: no company)."""
    before = old.contacts if old else {}
    after = new.contacts if new else {}
    if old is None or new is None or (old.name, old.phone) != (new.name, new.phone):
        return set(before) | set(after)
    return {cid for cid in set(before) | set(after) if before.get(cid) != after.get(cid)}


def companies_of(contact_id: str, records: Iterable[CompanyRecord]) -> tuple[Company, ...]:
    """A contact's companies among `records`, in a stable order (by name, then id) so that the
    content hash of its person does not depend on the order the companies were read in. A
    company without a name shows nothing."""
    found = [
        (record.name, record.company_id, Company(record.name, record.phone, position or None, record.region))
        for record in records
        if record.name and (position := record.contacts.get(contact_id)) is not None
    ]
    return tuple(company for _, _, company in sorted(found, key=lambda item: item[:2]))
