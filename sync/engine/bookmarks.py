"""Where each stream's reading stopped, as typed data, stored with every checkpoint.

The stored form keeps the keys it has always had (`contacts`, `companies`, `companies_full`,
`recheck`), so accounts synced before keep their place; keys added since are optional."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@dataclass
class ContactsBookmark:
    """The contacts stream: the listing resumes at `cursor` (None: read every contact), and
    `recheck` names contacts a company change reached, to read again before the listing."""

    cursor: datetime | None = None
    recheck: list[str] = field(default_factory=list)


@dataclass
class CompaniesBookmark:
    """The companies stream. `cursor` is where the next incremental read starts; None until a
    first pass over every company has ended. `full_pass_from` is where an unfinished pass
    over every company (a first or a full run's) resumes."""

    cursor: datetime | None = None
    full_pass_from: datetime | None = None
    # Companies whose read failed (their own failure, not Teamleader's): read again first.
    unread: list[str] = field(default_factory=list)


@dataclass
class Bookmarks:
    """Both streams' bookmarks, as one account's state stores them."""

    contacts: ContactsBookmark = field(default_factory=ContactsBookmark)
    companies: CompaniesBookmark = field(default_factory=CompaniesBookmark)
    # The longest page Teamleader has answered: a shorter one ends a listing.
    longest_page: int = 0
    # The scope (`Scope.key`) the contacts before the cursor were decided under; None in
    # state stored before it was kept.
    scope: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Bookmarks:
        return cls(
            ContactsBookmark(_time(data.get("contacts")), list(data.get("recheck") or [])),
            CompaniesBookmark(
                _time(data.get("companies")),
                _time(data.get("companies_full")),
                list(data.get("companies_unread") or []),
            ),
            int(data.get("longest_page") or 0),
            data.get("scope"),
        )

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "recheck": list(self.contacts.recheck),
            "longest_page": self.longest_page,
            "companies_unread": list(self.companies.unread),
        }
        if self.scope is not None:
            data["scope"] = self.scope
        if self.contacts.cursor is not None:
            data["contacts"] = self.contacts.cursor.isoformat()
        if self.companies.cursor is not None:
            data["companies"] = self.companies.cursor.isoformat()
        if self.companies.full_pass_from is not None:
            data["companies_full"] = self.companies.full_pass_from.isoformat()
        return data
