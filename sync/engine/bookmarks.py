"""Where each stream's reading stopped, as typed data, stored with every checkpoint.

A connection keeps the Teamleader side's bookmarks (companies, the page length); each of its
destinations keeps its own contacts bookmark, so that one added later, or one that missed
runs, catches up from where it stood while the others stay incremental. State stored before
connections had destinations kept both in one `cursor` object; their keys do not overlap, so
either reads its own part of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@dataclass
class ContactsBookmark:
    """A destination's contacts: the listing resumes at `cursor` (None: read every contact),
    and `recheck` names contacts a company change reached, to read again before the listing."""

    cursor: datetime | None = None
    recheck: list[str] = field(default_factory=list)
    # The scope (`Scope.key`) the contacts before the cursor were decided under; None in
    # state stored before it was kept.
    scope: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ContactsBookmark:
        return cls(_time(data.get("contacts")), list(data.get("recheck") or []), data.get("scope"))

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"recheck": list(self.recheck)}
        if self.scope is not None:
            data["scope"] = self.scope
        if self.cursor is not None:
            data["contacts"] = self.cursor.isoformat()
        return data


@dataclass
class CompaniesBookmark:
    """The companies stream. `cursor` is where the next incremental read starts; None until a
    first pass over every company has ended. `full_pass_from` is where an unfinished pass
    over every company (a first or a full run's) resumes."""

    cursor: datetime | None = None
    full_pass_from: datetime | None = None
    # Companies whose read failed (their own failure, not Teamleader's): read again first.
    unread: list[str] = field(default_factory=list)
    # Every stored company was written since stores index who works where (`companies_of`);
    # False in state stored before: its companies are written again once.
    indexed: bool = False


@dataclass
class SourceBookmarks:
    """A connection's Teamleader-side bookmarks."""

    companies: CompaniesBookmark = field(default_factory=CompaniesBookmark)
    # The longest page Teamleader has answered: a shorter one ends a listing.
    longest_page: int = 0

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SourceBookmarks:
        companies = CompaniesBookmark(
            _time(data.get("companies")),
            _time(data.get("companies_full")),
            list(data.get("companies_unread") or []),
            bool(data.get("companies_indexed")),
        )
        return cls(companies, int(data.get("longest_page") or 0))

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"longest_page": self.longest_page, "companies_unread": list(self.companies.unread)}
        if self.companies.indexed:
            data["companies_indexed"] = True
        if self.companies.cursor is not None:
            data["companies"] = self.companies.cursor.isoformat()
        if self.companies.full_pass_from is not None:
            data["companies_full"] = self.companies.full_pass_from.isoformat()
        return data
