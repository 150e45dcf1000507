"""The id map and the intents: what a run keeps of each Teamleader contact's standing in
Google, the create batches it sent before their answers came, the bookmarks of each state key,
and the checkpoint that writes them together.

The id map (one `Entry` per Teamleader contact) is the single truth of what was synced. A
checkpoint writes the entries of a batch, the intents it settles and the cursor in one atomic
write, so a restart never redoes more than the batch in flight.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from sync.state.companies import CompanyRecord

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
