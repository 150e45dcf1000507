"""The two streams a run reads from Teamleader, Singer style: each owns its typed bookmark and
yields what changed since it.

Contacts: the ones a company change queued, then every contact changed since the cursor.
Companies: the ones changed since their cursor (all of them on a first or full run), each read
with `companies.info`, which says who works there; a change yields the contacts it reaches, to
be queued on the contacts stream in the same atomic write as the company. A company whose read
fails is kept as it was, named in the bookmark with its reason, and read again first next run:
one broken record never stops an account."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sync.companies import affected_contacts, company_record
from sync.engine.bookmarks import CompaniesBookmark, ContactsBookmark
from sync.engine.paging import Sighting, every_id, past_the_newest, read_changes, updated_at
from sync.errors import TeamleaderError, describe
from sync.ports import Source
from sync.state.port import CompanyRecord

# Companies read between two commits.
COMPANY_FLUSH = 100
# Company reads failing in a row for Teamleader's own reasons (5xx or 429 after every retry)
# before the run stops: then Teamleader is down, not one company broken.
OUTAGE_AFTER = 3
# Contacts a company change may queue for re-reading before reading every contact again is the
# cheaper way (and the queue, stored in the account's document, stays far below Firestore's 1 MiB).
MAX_QUEUED = 2000


class ContactStream:
    """Contacts to decide, in the order a restart could resume them."""

    def __init__(
        self,
        source: Source,
        bookmark: ContactsBookmark,
        *,
        clock: Callable[[], float],
        prefetch: Callable[[list[str]], None],
    ) -> None:
        self._source = source
        self.bookmark = bookmark
        self._clock = clock
        self._prefetch = prefetch
        # How far reading has come: the newest updated_at decided so far.
        self.position: datetime | None = bookmark.cursor
        self._last_fetch_at: float | None = None
        # Queued contacts this run has read; the ones queued after that stay queued.
        self._read_from_queue: set[str] = set()

    def queue(self, teamleader_ids: Iterable[str]) -> None:
        """Read these contacts again before the listing (a company change reached them). Past
        MAX_QUEUED, every contact is read again instead."""
        if self.position is None:
            return  # every contact is read anyway
        ids = set(teamleader_ids)
        self._read_from_queue -= ids
        queued = self.bookmark.recheck
        queued += sorted(ids - set(queued))
        if len(queued) > MAX_QUEUED:
            self.bookmark.recheck, self.bookmark.cursor, self.position = [], None, None

    def queued(self, also: Iterable[str] = ()) -> Iterator[Sighting]:
        """`also`, then the contacts a company change queued, read by id."""
        self._read_from_queue = set(self.bookmark.recheck)
        return self.by_id(list(dict.fromkeys([*also, *self.bookmark.recheck])))

    def by_id(self, ids: list[str]) -> Iterator[Sighting]:
        """Named contacts, read again; the ones Teamleader no longer has come as sightings
        without a record. They do not move the position: one changed a minute ago says nothing
        of the contacts changed since the cursor, which the listing has still to read."""
        if not ids:
            return
        contacts = self._source.contacts_by_ids(ids)
        self._prefetch(ids)
        present = set()
        for contact in contacts:
            present.add(contact["id"])
            yield Sighting.of(contact, self.position)
        for teamleader_id in ids:
            if teamleader_id not in present:
                yield Sighting(teamleader_id, None, self.position)

    def changed(self) -> Iterator[Sighting]:
        """Every contact changed since the position, oldest first (some more than once)."""
        for sighting in read_changes(self._fetch, self.position, self._source.last_page):
            yield from self._advancing(sighting)

    def complete(self) -> None:
        """Everything was read and written: the queue read is done (what was queued since stays),
        and the position may step past the newest second read."""
        self.position = past_the_newest(self.position, self._last_fetch_at)
        self.bookmark.recheck = [tid for tid in self.bookmark.recheck if tid not in self._read_from_queue]

    def _fetch(self, anchor: datetime | None, number: int) -> list[dict[str, Any]]:
        self._last_fetch_at = self._clock()
        page = self._source.list_contacts(updated_since=anchor, page=number)
        self._prefetch([c["id"] for c in page])
        return page

    def _advancing(self, sighting: Sighting) -> Iterator[Sighting]:
        yield sighting
        # Only once the consumer has decided it: a contact not decided is not passed.
        if sighting.record is not None:
            moment = updated_at(sighting.record)
            if self.position is None or moment > self.position:
                self.position = moment


@dataclass
class CompanyChanges:
    """One commit's worth of company reading."""

    records: list[CompanyRecord] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    reached: set[str] = field(default_factory=set)

    def __len__(self) -> int:
        return len(self.records) + len(self.removed)


class CompanyStream:
    """Companies changed since the bookmark, read again with the people who work there."""

    def __init__(
        self,
        source: Source,
        bookmark: CompaniesBookmark,
        records: dict[str, CompanyRecord],
        *,
        full: bool,
        clock: Callable[[], float],
        before_each: Callable[[], None],
    ) -> None:
        self._source = source
        self.bookmark = bookmark
        self.records = records
        # A first run (no cursor yet) or a full run reads every company, from its own resume
        # point, so that a pass cut short by the deadline goes on where it stopped.
        self._full = full or bookmark.cursor is None
        self._clock = clock
        self._before_each = before_each
        self.read = 0
        # This run's companies that could not be read, with the reason.
        self.unreadable: dict[str, str] = {}
        self._service_failures_in_a_row = 0

    def changes(self) -> Iterator[CompanyChanges]:
        """The companies' changes, a commit's worth at a time; the bookmark, updated before each
        is yielded, is to be stored with it. A full pass then asks after the companies no
        longer listed (deleted, or hidden once deactivated)."""
        anchor = self.bookmark.full_pass_from if self._full else self.bookmark.cursor
        newest, fetched_at = anchor, [0.0]
        listed: set[str] = set()
        changes = CompanyChanges()
        for company_id in list(self.bookmark.unread):
            self._before_each()
            self._read_company(company_id, changes)

        def fetch(at: datetime | None, number: int) -> list[dict[str, Any]]:
            fetched_at[0] = self._clock()
            return self._source.list_companies(updated_since=at, page=number)

        for sighting in read_changes(fetch, anchor, self._source.last_page):
            assert sighting.record is not None
            self._before_each()
            listed.add(sighting.record_id)
            self.read += 1
            known = self.records.get(sighting.record_id)
            if self._full or known is None or known.updated_at != sighting.record.get("updated_at"):
                self._read_company(sighting.record_id, changes)
            moment = updated_at(sighting.record)
            newest = moment if newest is None or moment > newest else newest
            if len(changes) >= COMPANY_FLUSH:
                self._mark(sighting.resume_from)
                yield changes
                changes = CompanyChanges()
        if self._full:
            present = listed if anchor is None else every_id(self._source.list_company_ids, self._source.last_page)
            for company_id in sorted(set(self.records) - present):
                self._before_each()
                self._read_company(company_id, changes)
            self.bookmark.full_pass_from = None
        settled = past_the_newest(newest, fetched_at[0] or None)
        if settled is not None:
            self.bookmark.cursor = settled
        yield changes

    def _mark(self, resume_from: datetime | None) -> None:
        if resume_from is None:
            return
        if self._full:
            self.bookmark.full_pass_from = resume_from
        else:
            self.bookmark.cursor = resume_from

    def _read_company(self, company_id: str, changes: CompanyChanges) -> None:
        try:
            info = self._source.company(company_id)
        except TeamleaderError as exc:
            self._unreadable(company_id, exc)
            return
        self._service_failures_in_a_row = 0
        if company_id in self.bookmark.unread:
            self.bookmark.unread.remove(company_id)
        self.unreadable.pop(company_id, None)
        record = company_record(info) if info is not None else None
        old = self.records.pop(company_id, None)
        if record is not None:
            self.records[company_id] = record
            changes.records.append(record)
        elif old is not None:
            changes.removed.append(company_id)
        changes.reached |= affected_contacts(old, record)

    def _unreadable(self, company_id: str, error: TeamleaderError) -> None:
        """Keep the company as it was and name it for the next run, unless Teamleader itself
        is failing."""
        if error.status >= 500 or error.status == 429:
            self._service_failures_in_a_row += 1
            if self._service_failures_in_a_row >= OUTAGE_AFTER:
                raise error
        if company_id not in self.bookmark.unread:
            self.bookmark.unread.append(company_id)
        self.unreadable[company_id] = describe(error)
