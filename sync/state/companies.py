"""The companies a connection keeps: what its people's Google contacts show of each, and who
works there."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class CompanyRecord:
    """What the sync keeps of a Teamleader company: what its people's Google contacts show of
    it, and who works there (contact id → position there, "" when none is given)."""

    company_id: str
    name: str
    phone: str | None = None
    contacts: dict[str, str] = field(default_factory=dict)
    # As Teamleader last listed it: a company listed again unchanged is not read again.
    updated_at: str = ""
    # Its country (ISO code), in which its people's numbers without one are read.
    region: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "phone": self.phone,
            "contacts": self.contacts,
            "updated_at": self.updated_at,
            "region": self.region,
        }

    @classmethod
    def from_json(cls, company_id: str, data: dict[str, Any]) -> CompanyRecord:
        contacts = dict(data.get("contacts") or {})
        name, phone, updated = data["name"], data.get("phone"), data.get("updated_at") or ""
        return cls(company_id, name, phone, contacts, updated, data.get("region"))
