"""One connection's run, read top to bottom: Teamleader is read once, and every destination
(a Google user with its own group, scope and id map) takes what is news to it. Data passes
through the parts in this order:

1. Each destination's lane (`lane.Lane`): its group exists (`group.ensure_group`), and creates
   whose answer was lost are settled (`settle.settle`).
2. `streams.CompanyStream`: companies changed since the connection's bookmark; each change is
   committed together with the contacts it reaches, queued on every destination, even the
   ones not served by this run.
3. `streams.ContactReader`: the contacts any destination queued, read by id, then every
   contact changed since the earliest destination's position; each is mapped once per scope.
4. Each lane, side by side (each Google user has its own quota): `decide.decide_mapped` for
   the contacts news to it, `writer.BatchWriter` full batches, one atomic checkpoint of its
   id-map entries and bookmark after each, the cursor never past a queued write. A full run
   also reconciles (`reconcile.reconcile`) against one listing of every id.
5. The reports, one per destination, with the run's Teamleader figures.

A lane that fails (a revoked grant, Google refusing) stops alone; Teamleader failing stops the
run. A dry run is the same run against `dry_run.RecordingDestination` and `dry_run.ReadOnlyState`.
"""

from __future__ import annotations

import contextvars
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from datetime import datetime
from functools import partial

from sync.companies import companies_by_contact
from sync.engine.bookmarks import ContactsBookmark, SourceBookmarks
from sync.engine.dry_run import ReadOnlyState, RecordingDestination
from sync.engine.lane import Lane, Mappings, Work
from sync.engine.options import DestinationConfig, EngineOptions
from sync.engine.pace import OutOfTimeError, Pace
from sync.engine.paging import Sighting, every_id
from sync.engine.readahead import read_ahead
from sync.engine.report import MAX_FAILURES_IN_REPORT, ConnectionReport, RunReport, now_iso
from sync.engine.streams import CompanyStream, ContactReader, ContactsPosition
from sync.errors import describe
from sync.mapping import Company, map_contact
from sync.ports import Checkpoint, Destination, Source, SyncState
from sync.progress import ProgressSink

# Contacts handed to the lanes at a time: about a page, so a lane sends at most one batch
# between two looks at the deadline.
CHUNK = 100


class Engine:
    """Runs one connection once, for its destinations."""

    def __init__(
        self,
        account_id: str,
        source: Source,
        destinations: Sequence[tuple[DestinationConfig, Destination]],
        state: SyncState,
        options: EngineOptions | None = None,
        *,
        resting: Sequence[DestinationConfig] = (),
        clock: Callable[[], float] = time.time,
        progress: ProgressSink | None = None,
        run_id: str | None = None,
        keep_alive: Callable[[], None] | None = None,
    ) -> None:
        self.options = options or EngineOptions()
        self.full = self.options.mode == "full"
        if self.options.dry_run:
            state = ReadOnlyState(state)
        self.account_id = account_id
        self.source = source
        self.state = state
        self.clock = clock
        run_id = run_id or uuid.uuid4().hex[:12]
        self.report = ConnectionReport(account_id, run_id)
        started = now_iso(clock)
        self.lanes: list[Lane] = []
        for config, destination in destinations:
            if self.options.dry_run:
                destination = RecordingDestination(destination)
            report = RunReport(account_id, run_id, self.options.mode, self.options.dry_run, started, config.name)
            self.report.destinations.append(report)
            self.lanes.append(Lane(config, destination, state, self.options, report, clock=clock, written=self._show))
        # Destinations not served by this run (to reconnect, held, busy, disabled): company
        # changes are queued on their bookmarks all the same, so that none is lost to them.
        self.resting = {
            c.state_key: ContactsPosition(ContactsBookmark.from_json(state.account_state(c.state_key).cursor))
            for c in resting
        }
        stored = state.account_state(account_id)
        # Stored before connections had destinations: the bookmarks were all in `cursor`.
        self.legacy = stored.source_cursor is None
        self.bookmarks = SourceBookmarks.from_json(stored.cursor if self.legacy else stored.source_cursor or {})
        source.longest_page = max(source.longest_page, self.bookmarks.longest_page)
        self.pace = Pace(
            self.report,
            clock=clock,
            deadline=self.options.deadline,
            progress=progress,
            keep_alive=keep_alive,
            batches=lambda: {lane.config.name: lane.writer.batches for lane in self.lanes},
        )
        self.reader = ContactReader(source, clock=clock)
        self.companies: dict[str, tuple[Company, ...]] = {}
        self._pool = ThreadPoolExecutor(max(1, min(len(self.lanes), self.options.parallel_destinations)))

    def run(self) -> ConnectionReport:
        """Run to the end, or until the deadline; each destination's report says how it went."""
        try:
            self.pace.show()
            if self.legacy:
                self.commit_source(Checkpoint())
            self._each_lane(Lane.prepare)
            hints = self.options.hints
            # A destination that never synced needs the listing: no targeted run until then.
            targeted = self.options.targeted and not any(lane.first_run for lane in self.lanes)
            self._read_companies(targeted)
            self._read_queued(hints.contacts)
            if not targeted:
                self._read_listing()
            if self.full and not targeted:
                self._reconcile()
            last_fetch = self.reader.last_fetch_at
            self.pace.enter("writing")
            self._each_lane(lambda lane: lane.finish(last_fetch))
            self.commit_source(Checkpoint())
            self.report.status = "ok"
        except OutOfTimeError:
            self._each_lane(Lane.stop)
            self.commit_source(Checkpoint())
            self.report.status = "partial"
        except Exception as exc:
            self.report.status = "failed"
            self.report.error = describe(exc)
            for lane in self.lanes:
                if lane.live:
                    lane.report.status, lane.report.error = "failed", self.report.error
            raise
        finally:
            self._pool.shutdown()
            self._finish()
        return self.report

    # ---- the lanes, side by side ----

    def _live(self) -> list[Lane]:
        return [lane for lane in self.lanes if lane.live]

    def _each_lane(self, step: Callable[[Lane], None]) -> None:
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
                for sighting in chunk:
                    takers = [(lane, taken) for lane in live if (taken := wanted(lane, sighting)) is not None]
                    if not takers:
                        continue  # mapped for nobody: a catching-up lane's listing passes the others by
                    mappings = self._mappings(sighting, [lane for lane, _ in takers])
                    for lane, taken in takers:
                        works[id(lane)].append((taken, mappings))
                self._each_lane(partial(_take, works=works, listed=listed))
                self.pace.handed(len(chunk))

    def _mappings(self, sighting: Sighting, lanes: list[Lane]) -> Mappings:
        if sighting.record is None:
            return None
        companies = self.companies.get(sighting.record_id, ())
        mapped = {}
        for lane in lanes:
            key = lane.scope_key
            if key not in mapped:
                mapped[key] = map_contact(
                    sighting.record, companies, lane.scope.required_tags, lane.scope.default_region
                )
        return mapped

    # ---- reading ----

    def _read_companies(self, targeted: bool) -> None:
        """Bring the stored companies up to date (a targeted run: the ones a webhook named); a
        change and the contacts it reaches (queued on every destination) are committed
        together, so a crash cannot lose them."""
        stream = CompanyStream(
            self.source,
            self.bookmarks.companies,
            self.state.companies(self.account_id),
            full=self.full,
            clock=self.clock,
            before_each=lambda: self._before_company(stream.read),
            hinted=self.options.hints.companies,
        )
        self.pace.enter("companies")
        for changes in [stream.hinted()] if targeted else stream.changes():
            self.report.companies_read = stream.read
            unreadable = dict(list(stream.unreadable.items())[:MAX_FAILURES_IN_REPORT])
            for report in self.report.destinations:
                report.companies_read, report.unreadable_companies = stream.read, unreadable
            for position in self._positions():
                position.queue(changes.reached)
            self.commit_source(Checkpoint(companies=changes.records, removed_companies=changes.removed))
        self.companies = companies_by_contact(stream.records.values())

    def _show(self) -> None:
        self.pace.show()

    def _before_company(self, read: int) -> None:
        self.pace.check()
        self.report.companies_read = read
        self.pace.tick()

    def _read_queued(self, hinted: Iterable[str]) -> None:
        """Contacts queued on any lane (and the ones a webhook named), read by id once, each
        given to the lanes that queued it."""
        named = sorted(hinted)
        queued = {id(lane): lane.contacts.queued([*lane.recheck, *named]) for lane in self._live()}
        self._read_by_id(queued)

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

    def _read_listing(self) -> None:
        """Every contact changed since the earliest live lane's position."""
        starts = [lane.contacts.begin_listing() for lane in self._live()]
        if not starts:
            return
        self.pace.enter("contacts")
        since = None if any(s is None for s in starts) else min(s for s in starts if s is not None)
        self._hand_out(self.reader.changed(since), _listed)

    def _reconcile(self) -> None:
        """A full run: every id Teamleader lists, read once; each lane reads again what it
        finds missing on either side."""
        self.pace.enter("deletions")
        present = every_id(self.source.list_contact_ids, self.source.last_page)
        missing: dict[int, list[str]] = {}

        def find(lane: Lane) -> None:
            missing[id(lane)] = lane.missing(present)

        self._each_lane(find)
        self._read_by_id({key: ids for key, ids in missing.items() if ids})

    # ---- state ----

    def _positions(self) -> Iterator[ContactsPosition]:
        yield from (lane.contacts for lane in self.lanes)
        yield from self.resting.values()

    def commit_source(self, checkpoint: Checkpoint) -> None:
        """Commit the connection's part with every destination's bookmark, in one write: a
        company change and the contacts it queued on each destination are stored together."""
        self.bookmarks.longest_page = self.source.longest_page
        checkpoint.source_cursor = self.bookmarks.to_json()
        parts = {self.account_id: checkpoint}
        for lane in self.lanes:
            _merge(parts, lane.config.state_key, lane.bookmark_json())
        for key, position in self.resting.items():
            _merge(parts, key, Checkpoint(cursor=position.bookmark.to_json()))
        self.state.commit_all(parts)
        self.pace.tick()

    def _finish(self) -> None:
        self.report.teamleader_calls = self.source.calls
        self.report.teamleader_rate_limited = self.source.rate_limited
        finished = now_iso(self.clock)
        for lane in self.lanes:
            report = lane.report
            report.finished = finished
            position: datetime | None = lane.contacts.position
            report.cursor = position.isoformat() if position else None
            report.teamleader_calls = self.source.calls
            report.teamleader_rate_limited = self.source.rate_limited
            report.google_calls = lane.destination.calls
            report.google_writes = lane.destination.writes
            if lane.error is not None:
                self.report.errors[lane.config.name] = lane.error
            self.state.save_report(lane.config.state_key, report.to_json())


def _take(lane: Lane, *, works: dict[int, list[tuple[Sighting, Mappings]]], listed: bool) -> None:
    lane.take(Work(works.get(id(lane), []), listed))


def _listed(lane: Lane, sighting: Sighting) -> Sighting | None:
    """The listing's sightings a lane takes: the ones news to it."""
    return sighting if lane.contacts.takes(sighting) else None


def _merge(parts: dict[str, Checkpoint], key: str, part: Checkpoint) -> None:
    """Add a key's part to a write; a destination stored under its connection's own key (the
    default one) shares the connection's part."""
    if key in parts:
        parts[key].absorb(part)
    else:
        parts[key] = part
