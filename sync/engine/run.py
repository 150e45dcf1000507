"""One account's run, read top to bottom. Data passes through the parts in this order:

1. `group.ensure_group`: the contact group exists (adopted, created, or refilled).
2. `settle.settle`: creates whose answer was lost are adopted from what Google lists, or
   queued to be read and created again once the lists can show them.
3. `streams.CompanyStream`: companies changed since their bookmark; each change is committed
   together with the contacts it reaches, queued on the contacts stream.
4. `streams.ContactStream`: the queued contacts, then every contact changed since the cursor
   (and, in a full run, what `reconcile.reconcile` finds missing on either side).
5. `decide.decide`: each contact and its id-map entry → create, update, delete, skip, ...
6. `writer.BatchWriter`: full batches to Google; after each, one atomic checkpoint of the
   id-map entries and both bookmarks, the contacts cursor never past a queued write.
7. The report, saved with the run's counts and calls.

A dry run is the same run against `dry_run.RecordingDestination` and `dry_run.ReadOnlyState`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable

from sync.companies import companies_by_contact
from sync.engine.bookmarks import Bookmarks
from sync.engine.decide import Scope, decide
from sync.engine.dry_run import ReadOnlyState, RecordingDestination
from sync.engine.group import ensure_group
from sync.engine.guard import DeletionGuard, MassDeletionError
from sync.engine.ledger import Ledger
from sync.engine.options import AccountConfig, EngineOptions
from sync.engine.pace import OutOfTimeError, Pace
from sync.engine.paging import Sighting
from sync.engine.reconcile import reconcile
from sync.engine.report import MAX_FAILURES_IN_REPORT, RunReport, Tally, now_iso
from sync.engine.settle import settle
from sync.engine.streams import CompanyStream, ContactStream
from sync.engine.writer import BatchWriter
from sync.errors import describe
from sync.mapping import Company
from sync.ports import Destination, Source, SyncState
from sync.state.port import Checkpoint


class Engine:
    """Runs one account once."""

    def __init__(
        self,
        account: AccountConfig,
        source: Source,
        destination: Destination,
        state: SyncState,
        options: EngineOptions | None = None,
        *,
        clock: Callable[[], float] = time.time,
        progress: Callable[[RunReport], None] | None = None,
        run_id: str | None = None,
        keep_alive: Callable[[], None] | None = None,
    ) -> None:
        self.options = options or EngineOptions()
        self.full = self.options.mode == "full"
        if self.options.dry_run:
            destination, state = RecordingDestination(destination), ReadOnlyState(state)
        self.account = account
        self.source = source
        self.destination = destination
        self.state = state
        self.clock = clock
        run_id = run_id or uuid.uuid4().hex[:12]
        self.report = RunReport(account.account_id, run_id, self.options.mode, self.options.dry_run, now_iso(clock))
        self.tally = Tally(self.report)
        self.pace = Pace(
            self.report, clock=clock, deadline=self.options.deadline, progress=progress, keep_alive=keep_alive
        )
        self.ledger = Ledger(state, account.account_id)
        stored = state.account_state(account.account_id)
        self.group = stored.group
        self.bookmarks = Bookmarks.from_json(stored.cursor)
        self.first_run = self.bookmarks.contacts.cursor is None
        self.scope = Scope(account.required_tags, account.default_region)
        if self.bookmarks.scope not in (None, self.scope.key()):
            # Another scope may take in or leave out any contact: every one is decided again.
            self.bookmarks.contacts.cursor, self.bookmarks.contacts.recheck = None, []
        self.bookmarks.scope = self.scope.key()
        self.guard = DeletionGuard(self.options.max_deletion_share, self._persons_at_start)
        source.longest_page = max(source.longest_page, self.bookmarks.longest_page)
        self.contacts = ContactStream(source, self.bookmarks.contacts, clock=clock, prefetch=self.ledger.prefetch)
        self.companies: dict[str, tuple[Company, ...]] = {}
        self.writer = BatchWriter(
            destination,
            self.ledger,
            self.report,
            self.tally,
            clock=clock,
            checkpoint=self.checkpoint,
            requeue=self.contacts.queue,
        )

    def run(self) -> RunReport:
        """Run to the end, or until the deadline; the report says which (ok or partial)."""
        try:
            self.writer.group = ensure_group(self.destination, self.ledger, self.account.group_name, self.group)
            settled = settle(
                self.destination,
                self.ledger,
                now=self.clock(),
                visibility_delay=self.options.create_visibility_delay,
                first_run=self.first_run,
            )
            self.writer.blocked |= settled.uncertain
            self.report.uncertain = len(settled.uncertain)
            # The contacts to read again are queued in the same write that settles their
            # intents: a run that dies next still creates the ones never made.
            if settled.recheck or not settled.checkpoint.is_empty():
                self.contacts.queue(settled.recheck)
                self.checkpoint(settled.checkpoint)
            self._read_companies()
            self._decide_and_write(self.contacts.queued(settled.recheck))
            self._decide_and_write(self.contacts.changed())
            if self.full:
                delay = self.options.create_visibility_delay
                missing = reconcile(
                    self.source, self.destination, self.ledger, now=self.clock(), visibility_delay=delay
                )
                self._decide_and_write(self.contacts.by_id(missing))
            self.writer.flush_all()
            self.contacts.complete()
            self.checkpoint()
            self.report.status = "ok"
            if self.writer.account_refused is not None:
                self.report.status, self.report.problem = "partial", self._account_full()
        except OutOfTimeError:
            self.checkpoint()
            self.report.status = "partial"
        except MassDeletionError as held:
            self.checkpoint()
            self.report.status, self.report.problem = "held", self._held(held)
        except Exception as exc:
            self.report.status = "failed"
            self.report.error = describe(exc)
            raise
        finally:
            self._finish()
        return self.report

    def _read_companies(self) -> None:
        """Bring the stored companies up to date; a change and the contacts it reaches are
        committed together, so a crash cannot lose them."""
        stream = CompanyStream(
            self.source,
            self.bookmarks.companies,
            self.state.companies(self.account.account_id),
            full=self.full,
            clock=self.clock,
            before_each=self._before_company,
        )
        for changes in stream.changes():
            self.report.companies_read = stream.read
            self.report.unreadable_companies = dict(list(stream.unreadable.items())[:MAX_FAILURES_IN_REPORT])
            self.contacts.queue(changes.reached)
            self.checkpoint(Checkpoint(companies=changes.records, removed_companies=changes.removed))
        self.companies = companies_by_contact(stream.records.values())

    def _before_company(self) -> None:
        self.pace.check()
        self.pace.alive()

    def _decide_and_write(self, sightings: Iterable[Sighting]) -> None:
        for sighting in sightings:
            self.pace.contact_read()
            self.report.read += 1
            teamleader_id = sighting.record_id
            if teamleader_id in self.writer.blocked:
                continue
            entry = self.ledger.get(teamleader_id)
            companies = self.companies.get(teamleader_id, ())
            decision = decide(teamleader_id, sighting.record, entry, companies, self.scope, retry_failed=self.full)
            self.guard.admit(decision)
            if sighting.record is not None:
                self.tally.count(decision)
            self.writer.put(decision, sighting.resume_from)

    def _persons_at_start(self) -> int:
        in_google = sum(1 for e in self.ledger.load_all() if e.resource_name and e.state != "skipped")
        return in_google + self.report.deleted

    def _held(self, held: MassDeletionError) -> str:
        return (
            f"held: this run would delete more than {held.limit:,} of the {held.persons:,} contacts in Google "
            "(Teamleader no longer lists them, or the tags scope no longer matches them); check the scope "
            f"and the Teamleader connection, then run `python -m sync run --account {self.account.account_id} "
            "--allow-deletions` to delete them"
        )

    def _account_full(self) -> str:
        done = sum(1 for entry in self.ledger.load_all() if entry.state == "synced")
        eligible = done + self.report.not_created
        return f"Google account full: {done:,} of {eligible:,} eligible contacts synced; free space or narrow the tags"

    def checkpoint(self, checkpoint: Checkpoint | None = None) -> None:
        """Commit a batch's results with the id-map changes waiting for a checkpoint and both
        bookmarks, the contacts cursor never past a queued write."""
        checkpoint = checkpoint or Checkpoint()
        self.writer.drain_into(checkpoint)
        # None (a write queued from a block read from the very start) keeps the stored cursor,
        # which lies before that block: only the contacts stream itself ever clears it.
        if (resume_from := self.writer.resume_point(self.contacts.position)) is not None:
            self.bookmarks.contacts.cursor = resume_from
        self.bookmarks.longest_page = self.source.longest_page
        checkpoint.cursor = self.bookmarks.to_json()
        self.ledger.commit(checkpoint)
        self.pace.tick()

    def _finish(self) -> None:
        self.report.finished = now_iso(self.clock)
        self.report.cursor = self.contacts.position.isoformat() if self.contacts.position else None
        self.report.teamleader_calls = self.source.calls
        self.report.teamleader_rate_limited = self.source.rate_limited
        self.report.google_calls = self.destination.calls
        self.report.google_writes = self.destination.writes
        self.state.save_report(self.account.account_id, self.report.to_json())
