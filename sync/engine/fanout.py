"""Teamleader read once, fanned out to the lanes: a step in every live lane at once (each Google
user has its own quota), and the contacts read handed to the lanes that want them, a chunk at
a time, the next chunks read meanwhile, each contact mapped once per scope. The contacts come
from three reads: the ones queued or named (by id), the listing since the earliest live lane's
position, and in a full run the ones missing on either side."""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from functools import partial

from sync.engine.lane import Lane, Mappings, Work
from sync.engine.pace import Pace
from sync.engine.paging import Sighting, every_id
from sync.engine.readahead import read_ahead
from sync.engine.stored_companies import StoredCompanies
from sync.engine.streams import ContactReader
from sync.mapping import map_contact
from sync.ports import Source

# Contacts handed to the lanes at a time: about a page, so a lane sends at most one batch
# between two looks at the deadline.
CHUNK = 100


class Fanout:
    """The run's lanes side by side, and what is read for them."""

    def __init__(
        self,
        lanes: list[Lane],
        source: Source,
        reader: ContactReader,
        pace: Pace,
        parallel: int,
        companies: StoredCompanies,
    ) -> None:
        self.lanes = lanes
        self.source = source
        self.reader = reader
        self.pace = pace
        # Who works where, as the company stream left it; read for each chunk as needed.
        self.companies = companies
        self._pool = ThreadPoolExecutor(max(1, min(len(lanes), parallel)))

    def close(self) -> None:
        self._pool.shutdown()

    def _live(self) -> list[Lane]:
        return [lane for lane in self.lanes if lane.live]

    def each(self, step: Callable[[Lane], None]) -> None:
        """One step in every live lane, each Google user's at the same time as the others'."""
        live = self._live()
        if len(live) == 1:
            live[0].guarded(partial(step, live[0]))
            return
        # Each lane's thread logs with the run's context (account, run id), as this one does.
        running = [
            self._pool.submit(contextvars.copy_context().run, lane.guarded, partial(step, lane)) for lane in live
        ]
        for done in running:
            done.result()

    # ---- reading ----

    def read_queued(self, hinted: Iterable[str]) -> None:
        """Contacts queued on any lane (and the ones a webhook named), read by id once, each
        given to the lanes that queued it."""
        named = sorted(hinted)
        queued = {id(lane): lane.contacts.queued([*lane.recheck, *named]) for lane in self._live()}
        self._read_by_id(queued)

    def read_listing(self) -> None:
        """Every contact changed since the earliest live lane's position."""
        starts = [lane.contacts.begin_listing() for lane in self._live()]
        if not starts:
            return
        self.pace.enter("contacts")
        since = None if any(s is None for s in starts) else min(s for s in starts if s is not None)
        self._hand_out(self.reader.changed(since), _listed)

    def reconcile(self) -> None:
        """A full run: every id Teamleader lists, read once; each lane reads again what it
        finds missing on either side."""
        self.pace.enter("deletions")
        present = every_id(self.source.list_contact_ids, self.source.last_page)
        missing: dict[int, list[str]] = {}

        def find(lane: Lane) -> None:
            missing[id(lane)] = lane.missing(present)

        self.each(find)
        self._read_by_id({key: ids for key, ids in missing.items() if ids})

    def _read_by_id(self, wanted_by: dict[int, list[str]]) -> None:
        ids = list(dict.fromkeys(tid for ids in wanted_by.values() for tid in ids))
        if not ids:
            return
        # Known here, unlike a listing's: how many, and the calls they take at the limit.
        floor = self.source.calls_by_ids(len(ids)) * 60 / self.source.calls_per_minute
        self.pace.enter("contacts", more=len(ids), seconds_left=floor)
        found = self.reader.by_id(ids)
        self.pace.seconds_left = None
        sets = {key: set(ids) for key, ids in wanted_by.items()}

        def wanted(lane: Lane, sighting: Sighting) -> Sighting | None:
            if sighting.record_id not in sets.get(id(lane), ()):
                return None
            return Sighting(sighting.record_id, sighting.record, lane.contacts.position)

        self._hand_out((Sighting(tid, found[tid], None) for tid in ids), wanted)

    # ---- handing out ----

    def _hand_out(self, sightings: Iterable[Sighting], wanted: Callable[[Lane, Sighting], Sighting | None]) -> None:
        """Give each live lane the sightings it wants (`wanted` answers the sighting as that lane
        takes it, or None), a chunk at a time, the next chunks read meanwhile; each contact is
        mapped once per scope."""
        listed = wanted is _listed
        # Closed on the way out, whatever the way: the reader stops before the run goes on.
        with closing(read_ahead(sightings, CHUNK)) as chunks:
            for chunk in chunks:
                self.pace.check()
                self.pace.alive()
                live = self._live()
                if not live:
                    return
                works: dict[int, list[tuple[Sighting, Mappings]]] = {id(lane): [] for lane in live}
                picked = []
                for sighting in chunk:
                    takers = [(lane, taken) for lane in live if (taken := wanted(lane, sighting)) is not None]
                    # None: mapped for nobody (a catching-up lane's listing passes the others by).
                    if takers:
                        picked.append((sighting, takers))
                # The companies of the chunk's contacts to map, read together.
                self.companies.place(s.record_id for s, _ in picked if s.record is not None)
                for sighting, takers in picked:
                    mappings = self._mappings(sighting, [lane for lane, _ in takers])
                    for lane, taken in takers:
                        works[id(lane)].append((taken, mappings))
                self.each(partial(_take, works=works, listed=listed))
                self.pace.handed(len(chunk))

    def _mappings(self, sighting: Sighting, lanes: list[Lane]) -> Mappings:
        if sighting.record is None:
            return None
        companies = self.companies.of(sighting.record_id)
        mapped = {}
        for lane in lanes:
            key = lane.scope_key
            if key not in mapped:
                mapped[key] = map_contact(
                    sighting.record, companies, lane.scope.required_tags, lane.scope.default_region
                )
        return mapped


def _take(lane: Lane, *, works: dict[int, list[tuple[Sighting, Mappings]]], listed: bool) -> None:
    lane.take(Work(works.get(id(lane), []), listed))


def _listed(lane: Lane, sighting: Sighting) -> Sighting | None:
    """The listing's sightings a lane takes: the ones news to it."""
    return sighting if lane.contacts.takes(sighting) else None
