"""What the engine keeps between runs, as plain data, and the port that stores it.

The id map (one `Entry` per Teamleader contact) is the single truth of what was synced. A
checkpoint writes the entries of a batch, the intents it settles and the cursor in one atomic
write, so a restart never redoes more than the batch in flight.
"""

from __future__ import annotations

import hashlib
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
    """Per state key: a destination's contacts bookmark (`cursor`) and the group its contacts
    live in; and, under a connection's key, the Teamleader side's bookmarks (`source_cursor`:
    companies, page length). State stored before connections served many destinations kept
    both in `cursor`, whose keys do not overlap."""

    cursor: dict[str, Any] = field(default_factory=dict)
    group: str | None = None
    source_cursor: dict[str, Any] | None = None


@dataclass
class Checkpoint:
    """Everything one batch changes in the state of one key, written atomically."""

    entries: list[Entry] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    settled: list[str] = field(default_factory=list)
    new_intents: list[Intent] = field(default_factory=list)
    companies: list[CompanyRecord] = field(default_factory=list)
    removed_companies: list[str] = field(default_factory=list)
    cursor: dict[str, Any] | None = None
    group: str | None = None
    source_cursor: dict[str, Any] | None = None

    def absorb(self, other: Checkpoint) -> None:
        """Take another checkpoint of the same key into this one, to be written as one; where
        both set a field, the other's value wins."""
        self.entries += other.entries
        self.removed += other.removed
        self.settled += other.settled
        self.new_intents += other.new_intents
        self.companies += other.companies
        self.removed_companies += other.removed_companies
        self.cursor = other.cursor if other.cursor is not None else self.cursor
        self.group = other.group if other.group is not None else self.group
        self.source_cursor = other.source_cursor if other.source_cursor is not None else self.source_cursor

    def is_empty(self) -> bool:
        changes = (self.entries, self.removed, self.settled, self.new_intents, self.companies, self.removed_companies)
        fields = (self.cursor, self.group, self.source_cursor)
        return not any(changes) and all(f is None for f in fields)


# held: a run stopped before deleting more than its share; it waits for `--allow-deletions`.
AccountStatus = Literal["ok", "needs_reauth", "failing", "held"]
# The destination of a connection that predates teams, or of a one-person setup: its state
# lives under the connection's own key and its user is not named.
DEFAULT_DESTINATION = "default"
# Google users one connection serves: a company change is committed with every user's
# bookmark in one write, and Firestore takes at most 500 writes in one (100 are companies).
MAX_DESTINATIONS = 100
# Between a connection's id and a destination's name in the destination's state key; an
# account id cannot hold it, so no key of one connection is another's.
KEY_SEPARATOR = "~"


def destination_name(user: str) -> str:
    """The name a Google user's destination goes by in logs and state keys: derived from the
    address, never showing it."""
    return "u" + hashlib.sha256(user.strip().casefold().encode()).hexdigest()[:10]


def user_lease_key(user: str | None, google_secret: str) -> str:
    """The lease every run writing to one Google user takes, whichever connection it serves.
    A destination whose user is not named is known by its token's secret."""
    identity = user.strip().casefold() if user else "secret:" + google_secret
    # Starts with the separator, which no account id holds: it never names an account's lease.
    return f"{KEY_SEPARATOR}user-" + hashlib.sha256(identity.encode()).hexdigest()[:24]


@dataclass
class DestinationRecord:
    """One Google user a connection writes to: its own group, scope, id map and standing."""

    name: str
    # The Google account's address as given when it was added; None for the default destination.
    user: str | None = None
    state_key: str = ""
    google_secret: str = ""
    enabled: bool = True
    group_name: str = "Teamleader"
    tags: list[str] = field(default_factory=list)
    # The country whose numbers a contact's phone numbers are taken for when neither the
    # contact nor its company has an address (ISO code); None: such numbers are sent as typed.
    default_region: str | None = None
    status: AccountStatus = "ok"
    reason: str | None = None
    last_status: str | None = None
    failures_in_a_row: int = 0

    @property
    def lease_key(self) -> str:
        return user_lease_key(self.user, self.google_secret)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DestinationRecord:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


def new_destination(account_id: str, user: str | None, secret_prefix: str = "") -> DestinationRecord:
    """A destination of `account_id` for `user` (None: the default one), with the state key and
    secret name it keeps for life."""
    if user is None:
        return DestinationRecord(DEFAULT_DESTINATION, None, account_id, f"{secret_prefix}{account_id}-google-tokens")
    name = destination_name(user)
    return DestinationRecord(
        name, user.strip(), f"{account_id}{KEY_SEPARATOR}{name}", f"{secret_prefix}{account_id}-google-{name}-tokens"
    )


@dataclass
class AccountRecord:
    """A registered account: one Teamleader connection (its token, lease and reads) and the
    Google users it writes to. Built without destinations, it has the default one."""

    account_id: str
    enabled: bool = True
    teamleader_secret: str = ""
    # The Teamleader side's standing; each destination has its own.
    status: AccountStatus = "ok"
    reason: str | None = None
    last_run: str | None = None
    last_status: str | None = None
    # When deletions were last mirrored (a full run, or the first run, which reads everything).
    last_full_run: str | None = None
    # Runs that failed one after the other (0 once one succeeds): alerts fire from 2.
    failures_in_a_row: int = 0
    destinations: list[DestinationRecord] | None = None
    # SHA-256 (hex) of the secret in the connection's webhook address; None: no webhooks.
    webhook_token_sha256: str | None = None
    # When `accounts add` registered it (ISO 8601): an account that never ran is overdue from then.
    added_at: str | None = None

    def __post_init__(self) -> None:
        self.teamleader_secret = self.teamleader_secret or f"{self.account_id}-teamleader-tokens"
        if self.destinations is None:
            self.destinations = [new_destination(self.account_id, None)]

    @property
    def targets(self) -> list[DestinationRecord]:
        """The destinations, typed as never None (set in __post_init__)."""
        assert self.destinations is not None
        return self.destinations

    def destination(self, user: str | None) -> DestinationRecord | None:
        """The destination of `user` (None: the default one)."""
        name = DEFAULT_DESTINATION if user is None else destination_name(user)
        return next((d for d in self.targets if d.name == name), None)

    def to_json(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["destinations"] = [d.to_json() for d in self.targets]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AccountRecord:
        """A stored record; one stored before destinations existed becomes a connection whose
        default destination keeps its state key, secret, group and scope, and its hold."""
        known = set(cls.__dataclass_fields__) - {"destinations"}
        record = cls(**{k: v for k, v in data.items() if k in known}, destinations=[])
        if "destinations" in data:
            record.destinations = [DestinationRecord.from_json(d) for d in data["destinations"]]
            return record
        default = new_destination(record.account_id, None)
        default.google_secret = data.get("google_secret") or default.google_secret
        default.group_name = data.get("group_name") or default.group_name
        default.tags = list(data.get("tags") or [])
        default.default_region = data.get("default_region")
        if record.status == "held":
            # A hold is about one Google account's contacts: it moves to its destination.
            default.status, default.reason = "held", record.reason
            record.status, record.reason = "ok", None
        record.destinations = [default]
        return record


HintKind = Literal["contact", "company"]


@dataclass(frozen=True)
class Hints:
    """What webhooks said changed since the hints were last taken: ids to read again through
    the API (a webhook is a hint, never data). `overflow`: more came than the cap allows, so
    an ordinary incremental run reads everything changed instead."""

    contacts: frozenset[str] = frozenset()
    companies: frozenset[str] = frozenset()
    overflow: bool = False

    def __len__(self) -> int:
        return len(self.contacts) + len(self.companies)


class SyncState(Protocol):
    """What a run reads and writes of its state, by state key: a connection's (companies, the
    Teamleader bookmarks) and each destination's (id map, intents, group, contacts bookmark).
    The engine's port."""

    def account_state(self, account: str) -> AccountState: ...

    def entries(self, account: str, teamleader_ids: Iterable[str]) -> dict[str, Entry]: ...

    def all_entries(self, account: str) -> Iterator[Entry]: ...

    def intents(self, account: str) -> list[Intent]: ...

    def companies(self, account: str) -> dict[str, CompanyRecord]: ...

    def record_intent(self, account: str, intent: Intent) -> None: ...

    def commit(self, account: str, checkpoint: Checkpoint) -> None: ...

    def commit_all(self, checkpoints: dict[str, Checkpoint]) -> None:
        """Commit checkpoints of several keys (a connection and its destinations) in one
        atomic write."""
        ...

    def save_report(self, account: str, report: dict[str, Any]) -> None: ...


class StateStore(SyncState, Protocol):
    """Sync state of many accounts, with their registry and leases. Adapters: Firestore
    (cloud), SQLite (one machine)."""

    def last_report(self, account: str) -> dict[str, Any] | None: ...

    def accounts(self) -> list[AccountRecord]: ...

    def account(self, account: str) -> AccountRecord | None: ...

    def put_account(self, record: AccountRecord) -> None: ...

    def webhook_digest(self, account: str) -> str | None:
        """The digest of the account's webhook token; None when it has none or does not exist.
        The same work either way: the receiver's answer must not tell which."""
        ...

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

    def acquire_lease(self, account: str, holder: str, now: float, ttl: float) -> bool:
        """Take the account's lease unless a live one is held by another holder."""
        ...

    def renew_lease(self, account: str, holder: str, now: float, ttl: float) -> bool:
        """Extend this holder's lease; False once it is no longer this holder's."""
        ...

    def release_lease(self, account: str, holder: str) -> None:
        """Give the lease back, if this holder still holds it."""
        ...
