"""The state port: what a run reads and writes of its state (`SyncState`, the engine's), and
what serving many connections adds, one protocol per family of records (the registry of
connections and destinations, the webhooks' hints, the leases, the reports). The records and
their JSON are in `connections`, `idmap`, `companies` and `hints`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Protocol

from sync.state.companies import CompanyRecord
from sync.state.connections import AccountRecord
from sync.state.hints import HintKind, Hints
from sync.state.idmap import AccountState, Checkpoint, Entry, Intent
from sync.state.page import PageStore


class SyncState(Protocol):
    """What a run reads and writes of its state, by state key: a connection's (companies, the
    Teamleader bookmarks) and each destination's (id map, intents, group, contacts bookmark).
    The engine's port."""

    def account_state(self, account: str) -> AccountState: ...

    def entries(self, account: str, teamleader_ids: Iterable[str]) -> dict[str, Entry]: ...

    def all_entries(self, account: str) -> Iterator[Entry]: ...

    def intents(self, account: str) -> list[Intent]: ...

    def companies(self, account: str, company_ids: Iterable[str]) -> dict[str, CompanyRecord]:
        """The named companies' records (the ones stored), read by id."""
        ...

    def companies_of(self, account: str, contact_ids: Iterable[str]) -> dict[str, CompanyRecord]:
        """The records of the companies these contacts work for, and no others."""
        ...

    def all_companies(self, account: str) -> Iterator[CompanyRecord]:
        """Every stored company's record, each read once (a run that maps every contact)."""
        ...

    def count_companies(self, account: str) -> int:
        """How many companies are stored (without reading them)."""
        ...

    def record_intent(self, account: str, intent: Intent) -> None: ...

    def commit(self, account: str, checkpoint: Checkpoint) -> None: ...

    def commit_all(self, checkpoints: dict[str, Checkpoint]) -> None:
        """Commit checkpoints of several keys (a connection and its destinations) in one
        atomic write."""
        ...

    def save_report(self, account: str, report: dict[str, Any]) -> None: ...


class Registry(Protocol):
    """The connections and their destinations, as registered."""

    def accounts(self) -> list[AccountRecord]: ...

    def account(self, account: str) -> AccountRecord | None: ...

    def put_account(self, record: AccountRecord) -> None: ...

    def webhook_digest(self, account: str) -> str | None:
        """The digest of the account's webhook token; None when it has none or does not exist.
        The same work either way: the receiver's answer must not tell which."""
        ...


class HintBox(Protocol):
    """The webhooks' hints of each connection, until a run takes them."""

    def add_hint(self, account: str, kind: HintKind, teamleader_id: str, cap: int) -> None:
        """Note that a contact or company of the account changed (a webhook said so); past
        `cap` hints, note only that there are too many."""
        ...

    def hints(self, account: str) -> Hints:
        """The account's hints not taken yet."""
        ...

    def clear_hints(self, account: str, taken: Hints) -> None:
        """Drop hints a run has read again; the ones noted since stay."""
        ...


class Leases(Protocol):
    """One holder at a time per key: a connection's, or a Google user's."""

    def acquire_lease(self, account: str, holder: str, now: float, ttl: float) -> bool:
        """Take the account's lease unless a live one is held by another holder."""
        ...

    def renew_lease(self, account: str, holder: str, now: float, ttl: float) -> bool:
        """Extend this holder's lease; False once it is no longer this holder's."""
        ...

    def release_lease(self, account: str, holder: str) -> None:
        """Give the lease back, if this holder still holds it."""
        ...


class Reports(Protocol):
    """The last run's report of each state key (a run stores it through `SyncState`)."""

    def last_report(self, account: str) -> dict[str, Any] | None: ...


class StateStore(SyncState, Registry, HintBox, Leases, Reports, PageStore, Protocol):
    """Sync state of many accounts, with their registry and leases, and the page's sessions
    and rules. Adapters: Firestore (cloud), SQLite (one machine)."""
