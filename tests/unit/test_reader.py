"""The change reader against an in-memory Teamleader that changes while it is paged."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from sync.engine.paging import read_changes, updated_at

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
PAGE = 5


def last_page(page: list[dict[str, Any]]) -> bool:
    return len(page) < PAGE


class FakeListing:
    """contacts.list sorted by updated_at, stable ties (an edit moves a contact to the end),
    offset pages; `ops` run one by one after each fetch, as edits by people would."""

    def __init__(self, stamps: list[int], ops: list[tuple[str, int]], inclusive: bool) -> None:
        self.rows: list[dict[str, Any]] = [self._row(f"c{i}", s) for i, s in enumerate(stamps)]
        self.ops = list(ops)
        self.inclusive = inclusive
        self.now = max(stamps, default=0) + 1
        self.fetches = 0

    @staticmethod
    def _row(contact_id: str, stamp: int) -> dict[str, Any]:
        return {"id": contact_id, "updated_at": (EPOCH + timedelta(seconds=stamp)).isoformat()}

    def fetch(self, since: datetime | None, number: int) -> list[dict[str, Any]]:
        self.fetches += 1
        rows = sorted(self.rows, key=updated_at)
        if since is not None:
            rows = [r for r in rows if (updated_at(r) >= since if self.inclusive else updated_at(r) > since)]
        page = [dict(r) for r in rows[(number - 1) * PAGE : number * PAGE]]
        if self.ops:
            self._apply(*self.ops.pop(0))
        return page

    def _apply(self, op: str, index: int) -> None:
        if op == "add":
            self.rows.append(self._row(f"n{self.now}", self.now))
        elif self.rows:
            row = self.rows.pop(index % len(self.rows))
            if op == "edit":
                self.rows.append(self._row(row["id"], self.now))
        if op != "wait":
            self.now += int(index % 2)  # several changes can share a second


stamps = st.lists(st.integers(0, 6), min_size=0, max_size=40)
ops = st.lists(st.tuples(st.sampled_from(["edit", "delete", "add", "wait"]), st.integers(0, 50)), max_size=30)


@settings(max_examples=300, deadline=None)
@given(stamps=stamps, ops=ops, inclusive=st.booleans())
def test_nothing_older_than_the_cursor_is_missed(
    stamps: list[int], ops: list[tuple[str, int]], inclusive: bool
) -> None:
    listing = FakeListing(sorted(stamps), ops, inclusive)
    seen: set[tuple[str, str]] = set()
    cursor = None
    for sighting in read_changes(listing.fetch, None, last_page):
        assert sighting.record is not None
        seen.add((sighting.record_id, sighting.record["updated_at"]))
        moment = updated_at(sighting.record)
        cursor = moment if cursor is None or moment > cursor else cursor
        assert listing.fetches < 10_000
    # Every contact as it is now was read, unless the next run (from the cursor) will read it.
    for row in listing.rows:
        if cursor is not None and updated_at(row) < cursor:  # None: the next run reads all
            assert (row["id"], row["updated_at"]) in seen, row


@settings(max_examples=100, deadline=None)
@given(stamps=stamps, inclusive=st.booleans())
def test_restart_from_any_resume_point_reads_the_rest(stamps: list[int], inclusive: bool) -> None:
    listing = FakeListing(sorted(stamps), [], inclusive)
    sightings = list(read_changes(listing.fetch, None, last_page))
    for i, sighting in enumerate(sightings):
        again = {s.record_id for s in read_changes(listing.fetch, sighting.resume_from, last_page)}
        assert {s.record_id for s in sightings[i:]} <= again


def test_a_bulk_block_larger_than_a_page_is_paged_and_swept() -> None:
    listing = FakeListing([3] * 23 + [9] * 2, [], inclusive=True)
    ids = [s.record_id for s in read_changes(listing.fetch, None, last_page)]
    assert set(ids) == {f"c{i}" for i in range(25)}


def test_distinct_timestamps_are_read_without_sweeping_again() -> None:
    """Bounded cost: re-anchoring at each page reads a listing once, overlapping each page only
    by the contacts of its last two seconds; paging by offset would sweep it all again."""
    listing = FakeListing(list(range(0, 46, 2)), [], inclusive=True)
    ids = [s.record_id for s in read_changes(listing.fetch, None, last_page)]
    assert set(ids) == {f"c{i}" for i in range(23)}
    assert listing.fetches == math.ceil(23 / (PAGE - 1))


def test_a_re_anchored_page_yields_its_overlap_once() -> None:
    """A re-anchored page starts with the last second of the page before; those records were
    read already and are not yielded again (each one would cost a company a second read)."""
    listing = FakeListing(list(range(23)), [], inclusive=True)
    ids = [s.record_id for s in read_changes(listing.fetch, None, last_page)]
    assert sorted(ids) == sorted(f"c{i}" for i in range(23))


def test_an_untouched_bulk_block_is_swept_once() -> None:
    """The block's first read counts as the first of the two equal reads that end its sweep."""
    listing = FakeListing([3] * 23 + [9] * 2, [], inclusive=True)
    ids = [s.record_id for s in read_changes(listing.fetch, None, last_page)]
    assert sorted(ids) == sorted(f"c{i}" for i in range(25))
    # Five pages through the block, the same five swept again, then the page from 9 on.
    assert listing.fetches == 5 + 5 + 1
