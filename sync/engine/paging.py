"""Reading what changed in Teamleader since a cursor, without ever skipping a contact.

Teamleader lists contacts by `updated_at` with offset pages and no stable tie order. Offsets
skip records when others move (an edit moves a contact to the end), so the reader re-anchors
`updated_since` at every page instead of paging deeper, and pages by number only through a
block of equal timestamps too big for one page; such a block is swept again until a sweep
finds nothing new. Whether `updated_since` is inclusive is undocumented: anchoring one
second early is right either way, at the cost of re-reading a few unchanged contacts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

FetchPage = Callable[[datetime | None, int], list[dict[str, Any]]]
LastPage = Callable[[list[dict[str, Any]]], bool]
ONE_SECOND = timedelta(seconds=1)
# How long after a second's last change its listing is taken as complete; absorbs clock skew
# between this machine and Teamleader.
SETTLE_MARGIN = timedelta(minutes=5)


def updated_at(record: dict[str, Any]) -> datetime:
    """When Teamleader last changed a contact or company."""
    return datetime.fromisoformat(record["updated_at"])


@dataclass(frozen=True)
class Sighting:
    """A record as read, or None where Teamleader no longer has it, and the cursor from which
    a restart would read it again."""

    record_id: str
    record: dict[str, Any] | None
    resume_from: datetime | None

    @classmethod
    def of(cls, record: dict[str, Any], resume_from: datetime | None) -> Sighting:
        return cls(str(record["id"]), record, resume_from)


def read_changes(fetch: FetchPage, since: datetime | None, last_page: LastPage) -> Iterator[Sighting]:
    """Every contact updated at or after `since`, oldest first; once at each updated_at read.

    `fetch(anchor, number)` answers page `number` of contacts with updated_at >= anchor - 1s
    (or all contacts when anchor is None), sorted by updated_at ascending; `last_page(page)`
    says whether a listing ends with that page.
    """
    anchor = since
    number = 1
    seen: dict[str, datetime] = {}
    # This anchor's pages as read, in order: the first read of a block, which its sweep's
    # first re-read is compared with.
    listing: list[tuple[str, str]] = []
    while True:
        page = fetch(_filter_time(anchor), number)
        listing += [(contact["id"], contact["updated_at"]) for contact in page]
        for contact in page:
            moment = updated_at(contact)
            if seen.get(contact["id"]) == moment:
                continue  # read already: a re-anchored page starts with the last second of the one before
            seen[contact["id"]] = moment
            # Inside a block paged by number, a restart must read the whole block again.
            yield Sighting.of(contact, anchor if number > 1 else moment)
        if last_page(page):
            if number > 1:
                yield from _sweep(fetch, anchor, number, seen, listing)
            return
        last = updated_at(page[-1])
        if any(updated_at(c) < last - ONE_SECOND for c in page):
            if number > 1:
                yield from _sweep(fetch, anchor, number, seen, listing)
            anchor, number, listing = last, 1, []
        else:
            number += 1


def _sweep(
    fetch: FetchPage, anchor: datetime | None, pages: int, seen: dict[str, datetime], first: list[tuple[str, str]]
) -> Iterator[Sighting]:
    """Read pages 1..`pages` under `anchor` again, yielding what this read had not seen at its
    current updated_at, until two reads in a row (the `first`, then each sweep) give the very
    same listing: only then did nothing move or vanish while the block was paged (a move
    shifts every later offset). A block nothing touched costs one sweep."""
    previous = first
    while True:
        listing: list[tuple[str, str]] = []
        for number in range(1, pages + 1):
            for contact in fetch(_filter_time(anchor), number):
                listing.append((contact["id"], contact["updated_at"]))
                if seen.get(contact["id"]) != updated_at(contact):
                    seen[contact["id"]] = updated_at(contact)
                    yield Sighting.of(contact, anchor)
        if listing == previous:
            return
        previous = listing


def _filter_time(anchor: datetime | None) -> datetime | None:
    return None if anchor is None else anchor - ONE_SECOND


def past_the_newest(newest: datetime | None, last_fetch_at: float | None) -> datetime | None:
    """After a complete read, the cursor may step past the newest timestamp read, so that the
    next run does not read that second's records again (after a bulk import, thousands). Safe
    once the last page was fetched well after that second: a record changed since has a later
    timestamp, and one changed at the next second would have been on the last page."""
    if newest is None or last_fetch_at is None:
        return newest
    if (newest + SETTLE_MARGIN).timestamp() <= last_fetch_at:
        return newest + timedelta(seconds=2)
    return newest


def every_id(list_page: Callable[[int], list[dict[str, Any]]], last_page: LastPage) -> set[str]:
    """The ids on every page of a listing."""
    present: set[str] = set()
    number = 1
    while True:
        page = list_page(number)
        present.update(record["id"] for record in page)
        if last_page(page):
            return present
        number += 1
