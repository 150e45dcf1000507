"""One connection's run, read top to bottom: Teamleader is read once, and every destination
(a Google user with its own group, scope and id map) takes what is news to it. Data passes
through the parts in this order:

1. Each destination's lane (`lane.Lane`): its group exists (`group.ensure_group`), and creates
   whose answer was lost are settled (`settle.settle`).
2. `streams.CompanyStream`: companies changed since the connection's bookmark; each change is
   committed together with the contacts it reaches, queued on every destination, even the
   ones not served by this run (`checkpoints.SourceCheckpoints`).
3. `streams.ContactReader`: the contacts any destination queued, read by id, then every
   contact changed since the earliest destination's position; each is mapped once per scope
   and handed to the lanes that want it (`fanout.Fanout`).
4. Each lane, side by side (each Google user has its own quota): `decide.decide_mapped` for
   the contacts news to it, `writer.BatchWriter` full batches, one atomic checkpoint of its
   id-map entries and bookmark after each, the cursor never past a queued write. A full run
   also reconciles (`reconcile.reconcile`) against one listing of every id.
5. The reports, one per destination, with the run's Teamleader figures.

A lane that fails (a revoked grant, Google refusing) stops alone; Teamleader failing stops the
run. A dry run is the same run against `dry_run.RecordingDestination` and `dry_run.ReadOnlyState`.
The state is read by need (`stored_companies`) and written only where it changes (`quiet_state`).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime

from sync.engine.checkpoints import SourceCheckpoints
from sync.engine.dry_run import ReadOnlyState, RecordingDestination
from sync.engine.fanout import Fanout
from sync.engine.lane import Lane
from sync.engine.ledger import WHOLE_MAPS_HELD
from sync.engine.options import DestinationConfig, EngineOptions
from sync.engine.pace import OutOfTimeError, Pace
from sync.engine.quiet_state import QuietState
from sync.engine.report import MAX_FAILURES_IN_REPORT, ConnectionReport, RunReport, now_iso
from sync.engine.stored_companies import StoredCompanies
from sync.engine.streams import CompanyStream, ContactReader
from sync.errors import describe
from sync.ports import Checkpoint, Destination, Source, SyncState
from sync.progress import ProgressSink


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
        state = QuietState(state)
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
            held = WHOLE_MAPS_HELD // max(1, len(destinations))
            lane = Lane(config, destination, state, self.options, report, clock=clock, written=self._show, held=held)
            self.lanes.append(lane)
        self.checkpoints = SourceCheckpoints(account_id, source, state, self.lanes, resting)
        self.pace = Pace(
            self.report,
            clock=clock,
            deadline=self.options.deadline,
            progress=progress,
            keep_alive=keep_alive,
            batches=lambda: {lane.config.name: lane.writer.batches for lane in self.lanes},
        )
        reader = ContactReader(source, clock=clock)
        # The stored companies, read by need: the stream's and the mapping's.
        self.companies = StoredCompanies(state, account_id)
        self.fanout = Fanout(self.lanes, source, reader, self.pace, self.options.parallel_destinations, self.companies)

    def run(self) -> ConnectionReport:
        """Run to the end, or until the deadline; each destination's report says how it went."""
        try:
            self.pace.show()
            if self.checkpoints.legacy:
                self.commit_source(Checkpoint())
            self.fanout.each(Lane.prepare)
            hints = self.options.hints
            # A destination that never synced needs the listing: no targeted run until then.
            targeted = self.options.targeted and not any(lane.first_run for lane in self.lanes)
            self._read_companies(targeted)
            self.fanout.read_queued(hints.contacts)
            if not targeted:
                self.fanout.read_listing()
            if self.full and not targeted:
                self.fanout.reconcile()
            last_fetch = self.fanout.reader.last_fetch_at
            self.pace.enter("writing")
            self.fanout.each(lambda lane: lane.finish(last_fetch))
            self.commit_source(Checkpoint())
            self.report.status = "ok"
        except OutOfTimeError:
            self.fanout.each(Lane.stop)
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
            self.fanout.close()
            self._finish()
        return self.report

    def _read_companies(self, targeted: bool) -> None:
        """Bring the stored companies up to date (a targeted run: the ones a webhook named); a
        change and the contacts it reaches (queued on every destination) are committed
        together, so a crash cannot lose them."""
        self.checkpoints.index_companies(self.companies)
        stream = CompanyStream(
            self.source,
            self.checkpoints.bookmarks.companies,
            self.companies,
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
            for position in self.checkpoints.positions():
                position.queue(changes.reached)
            self.commit_source(Checkpoint(companies=changes.records, removed_companies=changes.removed))

    def _show(self) -> None:
        self.pace.show()

    def _before_company(self, read: int) -> None:
        self.pace.check()
        self.report.companies_read = read
        self.pace.tick()

    def commit_source(self, checkpoint: Checkpoint) -> None:
        """Commit the connection's part with every destination's bookmark, in one write: a
        company change and the contacts it queued on each destination are stored together."""
        self.checkpoints.commit(checkpoint)
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
