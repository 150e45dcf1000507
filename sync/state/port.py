"""What the engine keeps between runs, as plain data, and the port that stores it.

The id map (one `Entry` per Teamleader contact) is the single truth of what was synced. A
checkpoint writes the entries of a batch, the intents it settles and the cursor in one atomic
write, so a restart never redoes more than the batch in flight.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

EntryState = Literal["synced", "skipped", "failed"]


@dataclass(frozen=True)
class Entry:
    """One Teamleader contact's standing in Google.

    synced: in Google as `resource_name`, with `content_hash` written.
    skipped: not in Google because of `reason` (ineligible).
    failed: Google refused `content_hash` for `reason`; tried again when the hash changes,
    and by full runs.
    `written_at`: when Google last answered a write of it (epoch seconds; 0 when unknown).
    """

    teamleader_id: str
    state: EntryState
    content_hash: str = ""
    resource_name: str | None = None
    etag: str | None = None
    reason: str | None = None
    written_at: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "content_hash": self.content_hash,
            "resource_name": self.resource_name,
            "etag": self.etag,
            "reason": self.reason,
            "written_at": self.written_at,
        }

    @classmethod
    def from_json(cls, teamleader_id: str, data: dict[str, Any]) -> Entry:
        return cls(
            teamleader_id,
            data["state"],
            data.get("content_hash") or "",
            data.get("resource_name"),
            data.get("etag"),
            data.get("reason"),
            float(data.get("written_at") or 0.0),
        )


@dataclass(frozen=True)
class Intent:
    """A create batch recorded before it is sent: Teamleader id → content hash sent."""

    batch_id: str
    sent_at: float
    items: dict[str, str]


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


@dataclass(frozen=True)
class AccountState:
    """Per account: where the reads stopped (`cursor`: contacts, companies, and the contacts a
    company change still has to reach), and the group the contacts live in."""

    cursor: dict[str, Any] = field(default_factory=dict)
    group: str | None = None


@dataclass
class Checkpoint:
    """Everything one batch changes in the state, written atomically."""

    entries: list[Entry] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    settled: list[str] = field(default_factory=list)
    new_intents: list[Intent] = field(default_factory=list)
    companies: list[CompanyRecord] = field(default_factory=list)
    removed_companies: list[str] = field(default_factory=list)
    cursor: dict[str, Any] | None = None
    group: str | None = None

    def is_empty(self) -> bool:
        changes = (self.entries, self.removed, self.settled, self.new_intents, self.companies, self.removed_companies)
        return not any(changes) and self.cursor is None and self.group is None


# held: a run stopped before deleting more than its share; it waits for `--allow-deletions`.
AccountStatus = Literal["ok", "needs_reauth", "failing", "held"]


@dataclass
class AccountRecord:
    """A registered account: one Teamleader account paired with one Google account."""

    account_id: str
    enabled: bool = True
    group_name: str = "Teamleader"
    tags: list[str] = field(default_factory=list)
    # The country whose numbers a contact's phone numbers are taken for when neither the
    # contact nor its company has an address (ISO code); None: such numbers are sent as typed.
    default_region: str | None = None
    teamleader_secret: str = ""
    google_secret: str = ""
    status: AccountStatus = "ok"
    reason: str | None = None
    last_run: str | None = None
    last_status: str | None = None
    # When deletions were last mirrored (a full run, or the first run, which reads everything).
    last_full_run: str | None = None
    # Runs that failed one after the other (0 once one succeeds): alerts fire from 2.
    failures_in_a_row: int = 0

    def __post_init__(self) -> None:
        self.teamleader_secret = self.teamleader_secret or f"{self.account_id}-teamleader-tokens"
        self.google_secret = self.google_secret or f"{self.account_id}-google-tokens"

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AccountRecord:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


class SyncState(Protocol):
    """What a run reads and writes of one account's state (the engine's port)."""

    def account_state(self, account: str) -> AccountState: ...

    def entries(self, account: str, teamleader_ids: Iterable[str]) -> dict[str, Entry]: ...

    def all_entries(self, account: str) -> Iterator[Entry]: ...

    def intents(self, account: str) -> list[Intent]: ...

    def companies(self, account: str) -> dict[str, CompanyRecord]: ...

    def record_intent(self, account: str, intent: Intent) -> None: ...

    def commit(self, account: str, checkpoint: Checkpoint) -> None: ...

    def save_report(self, account: str, report: dict[str, Any]) -> None: ...


class StateStore(SyncState, Protocol):
    """Sync state of many accounts, with their registry and leases. Adapters: Firestore
    (cloud), SQLite (one machine)."""

    def last_report(self, account: str) -> dict[str, Any] | None: ...

    def accounts(self) -> list[AccountRecord]: ...

    def account(self, account: str) -> AccountRecord | None: ...

    def put_account(self, record: AccountRecord) -> None: ...

    def acquire_lease(self, account: str, holder: str, now: float, ttl: float) -> bool:
        """Take the account's lease unless a live one is held by another holder."""
        ...

    def renew_lease(self, account: str, holder: str, now: float, ttl: float) -> bool:
        """Extend this holder's lease; False once it is no longer this holder's."""
        ...

    def release_lease(self, account: str, holder: str) -> None:
        """Give the lease back, if this holder still holds it."""
        ...
