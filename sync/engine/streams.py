"""The two streams a run reads from Teamleader, Singer style: each owns its typed bookmark and
yields what changed since it.

Contacts: read once for every destination (`ContactReader`), from the earliest destination's
position; each destination keeps its own position and queue (`ContactsPosition`) and takes
the contacts news to it: the ones a company change queued, then every contact changed since
its cursor.
Companies: the ones changed since their cursor (all of them on a first or full run), each read
with `companies.info`, which says who works there; a change yields the contacts it reaches, to
be queued on the contacts stream in the same atomic write as the company. A company whose read
fails is kept as it was, named in the bookmark with its reason, and read again first next run:
one broken record never stops an account."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sync.companies import affected_contacts, company_record
from sync.engine.bookmarks import CompaniesBookmark, ContactsBookmark
from sync.engine.paging import ONE_SECOND, Sighting, every_id, past_the_newest, read_changes, updated_at
from sync.engine.stored_companies import StoredCompanies
from sync.errors import TeamleaderError, describe
from sync.ports import CompanyRecord, Source

T = TypeVar("T")

# Companies read between two commits.
COMPANY_FLUSH = 100
# Company reads failing in a row for Teamleader's own reasons (5xx or 429 after every retry)
# before the run stops: then Teamleader is down, not one company broken.
OUTAGE_AFTER = 3
# Contacts a company change may queue for re-reading before reading every contact again is the
# cheaper way (and the queue, stored in the account's document, stays far below Firestore's 1 MiB).
MAX_QUEUED = 2000


class ContactReader:
    """Reads contacts from Teamleader once for every destination of a run."""

    def __init__(self, source: Source, *, clock: Callable[[], float]) -> None:
        self._source = source
        self._clock = clock
        # When the listing last asked Teamleader: a complete read may step past its newest second.
        self.last_fetch_at: float | None = None

    def by_id(self, ids: list[str]) -> dict[str, dict[str, Any] | None]:
        """Named contacts as Teamleader has them now; None for the ones it no longer has."""
        if not ids:
            return {}
        found: dict[str, dict[str, Any] | None] = dict.fromkeys(ids)
        for contact in self._source.contacts_by_ids(ids):
            found[str(contact["id"])] = contact
        return found

    def changed(self, since: datetime | None) -> Iterator[Sighting]:
        """Every contact changed since `since` (None: every contact), oldest first (one changed
        while it is read, again)."""
        return read_changes(self._fetch, since, self._source.last_page)

    def _fetch(self, anchor: datetime | None, number: int) -> list[dict[str, Any]]:
        self.last_fetch_at = self._clock()
        return self._source.list_contacts(updated_since=anchor, page=number)


class ContactsPosition:
    """How far one destination has come through the contacts: its bookmark, the newest
    updated_at it has decided, and the contacts queued for it to read again."""

    def __init__(self, bookmark: ContactsBookmark) -> None:
        self.bookmark = bookmark
        self.position: datetime | None = bookmark.cursor
        # Where this destination's own listing would start; set when the shared one starts.
        self._listing_from: datetime | None = None
        # Queued contacts this run has read; the ones queued after that stay queued.
        self._read_from_queue: set[str] = set()
        # Whether the listing brought this destination anything.
        self._listed = False

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

    def queued(self, also: Iterable[str] = ()) -> list[str]:
        """`also`, then the contacts a company change queued: the ones to read by id."""
        self._read_from_queue = set(self.bookmark.recheck)
        return list(dict.fromkeys([*also, *self.bookmark.recheck]))

    def begin_listing(self) -> datetime | None:
        """The listing starts: from this destination's position, which it answers."""
        self._listing_from = self.position
        return self.position

    def takes(self, sighting: Sighting) -> bool:
        """Whether a sighting of the shared listing is news to this destination: one its own
        listing would have shown (from where it started, one second early, as listings anchor).
        Not from the position reached since: a block's sweep brings older contacts late."""
        if self._listing_from is None or sighting.record is None:
            return True
        return updated_at(sighting.record) >= self._listing_from - ONE_SECOND

    def advance(self, sighting: Sighting) -> None:
        """A listed contact was decided: reading has come this far. Contacts read by id do not
        move the position: one changed a minute ago says nothing of the contacts changed since
        the cursor, which the listing has still to read."""
        if sighting.record is not None:
            self._listed = True
            moment = updated_at(sighting.record)
            if self.position is None or moment > self.position:
                self.position = moment

    def complete(self, last_fetch_at: float | None) -> None:
        """Everything was read and written: the queue read is done (what was queued since stays),
        and the position may step past the newest second read. A listing that brought nothing
        leaves it where it is: it is past every contact already, and a bookmark that moves at
        every run would be written at every run."""
        if self._listed:
            self.position = past_the_newest(self.position, last_fetch_at)
        self.bookmark.recheck = [tid for tid in self.bookmark.recheck if tid not in self._read_from_queue]


@dataclass
class CompanyChanges:
    """One commit's worth of company reading."""

    records: list[CompanyRecord] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    reached: set[str] = field(default_factory=set)
    # Companies of the listing these changes cover.
    listed: int = 0

    def __len__(self) -> int:
        return len(self.records) + len(self.removed)


def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """`items` in lists of `size` (the last one shorter), each taken as it is needed."""
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class CompanyStream:
    """Companies changed since the bookmark, read again with the people who work there."""

    def __init__(
        self,
        source: Source,
        bookmark: CompaniesBookmark,
        records: StoredCompanies,
        *,
        full: bool,
        clock: Callable[[], float],
        before_each: Callable[[], None],
        hinted: Iterable[str] = (),
    ) -> None:
        self._source = source
        # Companies a webhook named: read first, whether or not the listing shows them changed.
        self._hinted = sorted(hinted)
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
        if self._full:
            # Every stored company, once: the ones Teamleader no longer lists are found below.
            self.records.load_all()
        changes = self.hinted()

        def fetch(at: datetime | None, number: int) -> list[dict[str, Any]]:
            fetched_at[0] = self._clock()
            return self._source.list_companies(updated_since=at, page=number)

        for page in _chunks(read_changes(fetch, anchor, self._source.last_page), COMPANY_FLUSH):
            # The stored records of a page's companies, read together, to tell which changed.
            self.records.load(sighting.record_id for sighting in page)
            for sighting in page:
                assert sighting.record is not None
                self._before_each()
                listed.add(sighting.record_id)
                self.read += 1
                known = self.records.get(sighting.record_id)
                if self._full or known is None or known.updated_at != sighting.record.get("updated_at"):
                    self._read_company(sighting.record_id, changes)
                moment = updated_at(sighting.record)
                newest = moment if newest is None or moment > newest else newest
                changes.listed += 1
                # Where to resume is stored every hundred companies read, changed or not: a
                # full pass that finds nothing changed and meets the deadline goes on from there.
                if len(changes) >= COMPANY_FLUSH or changes.listed >= COMPANY_FLUSH:
                    self._mark(sighting.resume_from)
                    yield changes
                    changes = CompanyChanges()
        if self._full:
            present = listed if anchor is None else every_id(self._source.list_company_ids, self._source.last_page)
            for company_id in sorted(self.records.ids() - present):
                self._before_each()
                self._read_company(company_id, changes)
            self.bookmark.full_pass_from = None
        # Past the newest second read; where it was when the listing brought nothing (as
        # `ContactsPosition.complete`).
        settled = past_the_newest(newest, fetched_at[0] or None) if listed else newest
        if settled is not None:
            self.bookmark.cursor = settled
        yield changes

    def hinted(self) -> CompanyChanges:
        """A targeted run: only the companies a webhook named (and the ones whose read failed
        before); the bookmark's cursor stays where it is."""
        changes = CompanyChanges()
        named = list(dict.fromkeys([*self.bookmark.unread, *self._hinted]))
        self.records.load(named)
        for company_id in named:
            self._before_each()
            self._read_company(company_id, changes)
        return changes

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
        old = self.records.get(company_id)
        if record is not None:
            self.records.put(record)
            if record != old:  # a full run reads every company, and writes the ones that changed
                changes.records.append(record)
        elif old is not None:
            self.records.remove(company_id)
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
