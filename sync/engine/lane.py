"""One destination's part of a connection's run: its group, its uncertain creates, its id map,
its decisions and batches, its bookmark and its report. The run reads Teamleader once and
hands each lane the contacts that are news to it; a lane that fails stops alone."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sync.engine.bookmarks import ContactsBookmark
from sync.engine.decide import Scope, decide_mapped
from sync.engine.group import ensure_group
from sync.engine.guard import DeletionGuard, MassDeletionError
from sync.engine.ledger import Ledger
from sync.engine.options import DestinationConfig, EngineOptions
from sync.engine.paging import Sighting
from sync.engine.reconcile import reconcile
from sync.engine.report import RunReport, Tally
from sync.engine.settle import settle
from sync.engine.streams import ContactsPosition
from sync.engine.writer import BatchWriter
from sync.errors import ReauthRequiredError, TokenStoreError, describe
from sync.logs import destination_var
from sync.mapping import Ineligible, Mapped
from sync.ports import Checkpoint, Destination, SyncState

# A contact as mapped under each scope of the run (Scope.key → mapping); None: gone.
Mappings = dict[str, Mapped | Ineligible] | None


@dataclass(frozen=True)
class Work:
    """Contacts for a lane: sightings with their mappings, and whether they come from the
    listing (and so move the lane's position)."""

    items: Sequence[tuple[Sighting, Mappings]]
    listed: bool


class Lane:
    """A destination within a run."""

    def __init__(
        self,
        config: DestinationConfig,
        destination: Destination,
        state: SyncState,
        options: EngineOptions,
        report: RunReport,
        *,
        clock: Callable[[], float],
        written: Callable[[], None],
        held: int,
    ) -> None:
        self.config = config
        self.destination = destination
        self.state = state
        self.options = options
        self.report = report
        self.clock = clock
        # Told after each checkpoint (a batch written, or skips recorded): progress to show.
        self._written = written
        self.tally = Tally(report)
        # How many of its entries it may hold at once (`ledger.WHOLE_MAPS_HELD`).
        self.ledger = Ledger(state, config.state_key, held)
        stored = state.account_state(config.state_key)
        self.group = stored.group
        bookmark = ContactsBookmark.from_json(stored.cursor)
        self.first_run = bookmark.cursor is None
        self.scope = Scope(config.required_tags, config.default_region)
        if bookmark.scope not in (None, self.scope.key()):
            # Another scope may take in or leave out any contact: every one is decided again.
            bookmark.cursor, bookmark.recheck = None, []
        self.scope_key = bookmark.scope = self.scope.key()
        self.contacts = ContactsPosition(bookmark)
        self.guard = DeletionGuard(options.max_deletion_share, self._persons_at_start)
        self.writer = BatchWriter(
            destination,
            self.ledger,
            report,
            self.tally,
            clock=clock,
            checkpoint=self.checkpoint,
            requeue=self.contacts.queue,
        )
        # Contacts to read by id before the listing: creates settled as never made.
        self.recheck: list[str] = []
        # Set once the lane has stopped (failed, or held before a mass deletion).
        self.error: BaseException | None = None

    @property
    def live(self) -> bool:
        return self.error is None and self.report.status != "held"

    def guarded(self, step: Callable[[], None]) -> None:
        """Run one step of the lane; a failure stops this lane alone, and what it had committed
        stays (its bookmark never passed a write it did not make)."""
        if not self.live:
            return
        named = destination_var.set(self.config.name)
        try:
            step()
        except MassDeletionError as held:
            self.checkpoint()
            self.report.status, self.report.problem = "held", self._held(held)
        except Exception as exc:
            self.error = exc
            self.report.error = describe(exc)
            needs_person = isinstance(exc, ReauthRequiredError | TokenStoreError)
            self.report.status = "needs_reauth" if needs_person else "failed"
            # Forget what this run did in memory: from now on the lane is only a bookmark that
            # company changes are queued on, as stored.
            stored = self.state.account_state(self.config.state_key).cursor
            self.contacts = ContactsPosition(ContactsBookmark.from_json(stored))
        finally:
            destination_var.reset(named)

    def prepare(self) -> None:
        """The group exists; creates whose answer was lost are settled."""
        if self.first_run:
            # Every contact is decided: the id map read at once (Firestore: a read per shard)
            # rather than again for each page, most of whose contacts it does not hold yet.
            self.ledger.load_all()
        self.writer.group = ensure_group(self.destination, self.ledger, self.config.group_name, self.group)
        settled = settle(
            self.destination,
            self.ledger,
            self.writer.group,
            now=self.clock(),
            visibility_delay=self.options.create_visibility_delay,
            first_run=self.first_run,
        )
        self.writer.blocked |= settled.uncertain
        self.report.uncertain = len(settled.uncertain)
        self.recheck = settled.recheck
        # The contacts to read again are queued in the same write that settles their
        # intents: a run that dies next still creates the ones never made.
        if settled.recheck or not settled.checkpoint.is_empty():
            self.contacts.queue(settled.recheck)
            self.checkpoint(settled.checkpoint)

    def take(self, work: Work) -> None:
        """Decide each contact and queue its write; full batches are sent on the way."""
        self.ledger.prefetch(s.record_id for s, _ in work.items)
        retry_failed = self.options.mode == "full"
        for sighting, mappings in work.items:
            self.report.read += 1
            teamleader_id = sighting.record_id
            if teamleader_id in self.writer.blocked:
                continue
            mapped = None if mappings is None else mappings[self.scope_key]
            decision = decide_mapped(teamleader_id, mapped, self.ledger.get(teamleader_id), retry_failed=retry_failed)
            self.guard.admit(decision)
            if sighting.record is not None:
                self.tally.count(decision)
            self.writer.put(decision, sighting.resume_from)
            if work.listed:
                self.contacts.advance(sighting)

    def missing(self, present: set[str]) -> list[str]:
        """A full run: the contacts to read again (see `reconcile`)."""
        delay = self.options.create_visibility_delay
        return reconcile(present, self.destination, self.ledger, now=self.clock(), visibility_delay=delay)

    def finish(self, last_fetch_at: float | None) -> None:
        """Send what is queued; everything was read: the bookmark moves to the end."""
        self.writer.flush_all()
        self.contacts.complete(last_fetch_at)
        self.checkpoint()
        self.report.status = "ok"
        if self.writer.account_refused is not None:
            self.report.status, self.report.problem = "partial", self._account_full()

    def stop(self) -> None:
        """The time budget is spent: store where the next run resumes."""
        self.checkpoint()
        self.report.status = "partial"

    def bookmark_json(self) -> Checkpoint:
        """The lane's bookmark as a checkpoint part, for a write that queues company changes on
        every destination at once. A stopped lane gives the bookmark it had stored."""
        if self.live:
            checkpoint = Checkpoint()
            self._place_cursor(checkpoint)
            return checkpoint
        return Checkpoint(cursor=self.contacts.bookmark.to_json())

    def checkpoint(self, checkpoint: Checkpoint | None = None) -> None:
        """Commit a batch's results with the id-map changes waiting for a checkpoint and the
        bookmark, the cursor never past a queued write."""
        checkpoint = checkpoint or Checkpoint()
        self.writer.drain_into(checkpoint)
        self._place_cursor(checkpoint)
        self.ledger.commit(checkpoint)
        self._written()

    def _place_cursor(self, checkpoint: Checkpoint) -> None:
        # None (a write queued from a block read from the very start) keeps the stored cursor,
        # which lies before that block: only the listing itself ever clears it.
        if (resume_from := self.writer.resume_point(self.contacts.position)) is not None:
            self.contacts.bookmark.cursor = resume_from
        checkpoint.cursor = self.contacts.bookmark.to_json()

    def _persons_at_start(self) -> int:
        in_google = sum(1 for e in self.ledger.load_all() if e.resource_name and e.state != "skipped")
        return in_google + self.report.deleted

    def _held(self, held: MassDeletionError) -> str:
        return (
            f"held: this run would delete more than {held.limit:,} of the {held.persons:,} contacts in Google "
            "(Teamleader no longer lists them, or the tags scope no longer matches them); check the scope "
            f"and the Teamleader connection, then run `python -m sync run --account {self.report.account} "
            "--allow-deletions` to delete them"
        )

    def _account_full(self) -> str:
        done = sum(1 for entry in self.ledger.load_all() if entry.state == "synced")
        eligible = done + self.report.not_created
        return f"Google account full: {done:,} of {eligible:,} eligible contacts synced; free space or narrow the tags"
