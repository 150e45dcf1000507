"""What the engine sees of the world: the Teamleader source, the Google destination, one
account's sync state (`SyncState` and the records it keeps, defined in `sync.state` beside the
state store they are part of), and their value types. The engine imports these, never an
adapter, so one engine runs against the real APIs or the sandbox, on Firestore or SQLite, or as
a dry run that only records."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from sync.state.companies import CompanyRecord
from sync.state.hints import Hints
from sync.state.idmap import AccountState, Checkpoint, Entry, Intent
from sync.state.port import SyncState

Mode = Literal["incremental", "full"]


@dataclass(frozen=True)
class PersonRef:
    """Where a person lives in Google and the etag of its current version."""

    resource_name: str
    etag: str


@dataclass
class WriteOutcome:
    """Per Teamleader id: what a batch write did."""

    done: dict[str, PersonRef] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    # Updated persons that Google no longer has (deleted by hand).
    missing: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class BatchLimits:
    """The most persons one write call takes."""

    create: int = 200
    update: int = 200
    delete: int = 500


class Source(Protocol):
    """The Teamleader side: contacts and companies, paged."""

    # The longest page the source has answered: a shorter page ends a listing.
    longest_page: int
    # The most calls the source takes in any minute (Teamleader's limit, kept by its client).
    calls_per_minute: int

    @property
    def calls(self) -> int:
        """API calls made so far."""
        ...

    @property
    def rate_limited(self) -> int:
        """Of those, the ones refused for the rate limit (429)."""
        ...

    def last_page(self, page: list[dict[str, Any]]) -> bool:
        """Whether a listing ends with this page."""
        ...

    def list_contacts(self, *, updated_since: datetime | None = None, page: int = 1) -> list[dict[str, Any]]: ...

    def contacts_by_ids(self, ids: list[str]) -> list[dict[str, Any]]: ...

    def calls_by_ids(self, count: int) -> int:
        """The fewest calls `contacts_by_ids` makes for `count` contacts."""
        ...

    def list_contact_ids(self, page: int) -> list[dict[str, Any]]: ...

    def list_companies(self, *, updated_since: datetime | None = None, page: int = 1) -> list[dict[str, Any]]: ...

    def list_company_ids(self, page: int) -> list[dict[str, Any]]: ...

    def company(self, company_id: str) -> dict[str, Any] | None: ...


class Destination(Protocol):
    """The Google side: one user's contact group and the persons in it."""

    limits: BatchLimits

    @property
    def calls(self) -> int:
        """API calls made so far."""
        ...

    @property
    def writes(self) -> int:
        """Of those, the ones that write."""
        ...

    def find_group(self, name: str) -> str | None: ...

    def group_exists(self, resource_name: str) -> bool: ...

    def create_group(self, name: str) -> str: ...

    def add_members(self, group: str, resource_names: list[str]) -> list[str]: ...

    def create(self, items: list[tuple[str, dict[str, Any]]], group: str) -> WriteOutcome: ...

    def update(self, items: list[tuple[str, PersonRef, dict[str, Any]]]) -> WriteOutcome: ...

    def delete(self, resource_names: list[str]) -> dict[str, str]:
        """Delete persons; persons already gone count as deleted. Answers the refused ones
        (resource name → Google's reason)."""
        ...

    def get(self, resource_names: list[str]) -> dict[str, PersonRef]: ...

    def stamped(self, group: str) -> Iterator[tuple[str, PersonRef]]:
        """Persons carrying a Teamleader id, but the ones in another of the user's own groups."""
        ...


__all__ = [
    "AccountState",
    "BatchLimits",
    "Checkpoint",
    "CompanyRecord",
    "Destination",
    "Entry",
    "Hints",
    "Intent",
    "Mode",
    "PersonRef",
    "Source",
    "SyncState",
    "WriteOutcome",
]
