"""One contact and what the sync knows of it → the one thing to do about it. A pure table:

| Teamleader                         | id map entry                          | decision     |
|------------------------------------|---------------------------------------|--------------|
| gone                               | a person in Google                    | Delete       |
| gone                               | none, or no person                    | Forget       |
| ineligible                         | a person in Google                    | Delete       |
| ineligible                         | skipped for this very reason          | Skip (known) |
| ineligible                         | anything else                         | Skip (new)   |
| eligible                           | failed with this very content         | StillFailing (retried in full runs) |
| eligible                           | synced with this very content         | Unchanged    |
| eligible                           | synced or failed, with a person       | Update       |
| eligible                           | none, skipped, or failed with none    | Create       |
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sync.mapping import Company, Ineligible, Mapped, map_contact
from sync.ports import Entry, PersonRef


@dataclass(frozen=True)
class Scope:
    """Which contacts of the account a destination takes."""

    required_tags: frozenset[str] = frozenset()
    # The country of phone numbers without one, when no address says it (ISO code).
    default_region: str | None = None

    def key(self) -> str:
        """The scope as stored with the bookmarks: a new key means every contact is decided again."""
        tags = ",".join(sorted({tag.casefold() for tag in self.required_tags}))
        return f"tags={tags};region={self.default_region or ''}"


@dataclass(frozen=True)
class Create:
    mapped: Mapped

    @property
    def teamleader_id(self) -> str:
        return self.mapped.teamleader_id


@dataclass(frozen=True)
class Update:
    mapped: Mapped
    ref: PersonRef

    @property
    def teamleader_id(self) -> str:
        return self.mapped.teamleader_id


@dataclass(frozen=True)
class Delete:
    """Remove the person. `reason` is why the contact is skipped from now on; None when
    Teamleader no longer has the contact, and its entry goes too."""

    teamleader_id: str
    resource_name: str
    reason: str | None = None


@dataclass(frozen=True)
class Skip:
    """Not in Google, for `reason`; `record` when the id map does not say so yet."""

    teamleader_id: str
    reason: str
    record: bool


@dataclass(frozen=True)
class Forget:
    """Teamleader no longer has the contact and Google holds nothing of it: drop its entry."""

    teamleader_id: str


@dataclass(frozen=True)
class Unchanged:
    teamleader_id: str


@dataclass(frozen=True)
class StillFailing:
    """Google refused this very content before: tried again only once it changes."""

    teamleader_id: str


Decision = Create | Update | Delete | Skip | Forget | Unchanged | StillFailing
Write = Create | Update | Delete


def decide(
    teamleader_id: str,
    contact: dict[str, Any] | None,
    entry: Entry | None,
    companies: tuple[Company, ...] = (),
    scope: Scope = Scope(),
    *,
    retry_failed: bool = False,
) -> Decision:
    """What to do about one contact (None: Teamleader no longer has it) given its entry.
    `retry_failed` (full runs) sends again what Google refused, even unchanged."""
    mapped = None if contact is None else map_contact(contact, companies, scope.required_tags, scope.default_region)
    return decide_mapped(teamleader_id, mapped, entry, retry_failed=retry_failed)


def decide_mapped(
    teamleader_id: str, mapped: Mapped | Ineligible | None, entry: Entry | None, *, retry_failed: bool = False
) -> Decision:
    """`decide` for a contact already mapped under the destination's scope (None: Teamleader
    no longer has it): destinations of one scope share one mapping of each contact."""
    person = entry.resource_name if entry is not None and entry.state != "skipped" else None
    if mapped is None:
        return Delete(teamleader_id, person) if person else Forget(teamleader_id)
    if isinstance(mapped, Ineligible):
        if person:
            return Delete(teamleader_id, person, mapped.reason)
        known = entry is not None and entry.state == "skipped" and entry.reason == mapped.reason
        return Skip(teamleader_id, mapped.reason, record=not known)
    refused_as_is = entry is not None and entry.state == "failed" and entry.content_hash == mapped.content_hash
    if refused_as_is and not retry_failed:
        return StillFailing(teamleader_id)
    if entry is not None and entry.resource_name and entry.state in ("synced", "failed"):
        if entry.state == "synced" and entry.content_hash == mapped.content_hash:
            return Unchanged(teamleader_id)
        return Update(mapped, PersonRef(entry.resource_name, entry.etag or ""))
    return Create(mapped)
