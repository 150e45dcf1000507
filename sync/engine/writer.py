"""The batch writer: queues decided writes, sends full batches, records what each did, and
answers the one question a checkpoint asks: from where must a restart read again?"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from sync.engine.decide import Create, Decision, Delete, Forget, Skip, Update
from sync.engine.ledger import Ledger, synced
from sync.engine.report import RunReport, Tally
from sync.errors import AmbiguousWriteError, GoogleAccountRefusedError, WriteStoppedError
from sync.mapping import Mapped
from sync.ports import Checkpoint, Destination, Entry, Intent, PersonRef, WriteOutcome

# Skips recorded in the id map are committed with the next checkpoint, or once this many wait.
SKIP_FLUSH = 200


W = TypeVar("W", Create, Update, Delete)


@dataclass(frozen=True)
class _Queued(Generic[W]):
    """A decided write waiting for its batch to fill, and where a restart would re-read it."""

    write: W
    resume_from: datetime | None


class BatchWriter:
    """Writes one destination's decisions in full batches. A create batch is recorded as an
    intent before it is sent; after every batch, `checkpoint` commits its outcome."""

    def __init__(
        self,
        destination: Destination,
        ledger: Ledger,
        report: RunReport,
        tally: Tally,
        *,
        clock: Callable[[], float],
        checkpoint: Callable[[Checkpoint], None],
        requeue: Callable[[list[str]], None],
    ) -> None:
        self._destination = destination
        self._ledger = ledger
        self._report = report
        self._tally = tally
        # The contact group new persons go into; known once the run has made sure of it.
        self.group = ""
        self._clock = clock
        self._checkpoint = checkpoint
        self._requeue = requeue
        self._creates: dict[str, _Queued[Create]] = {}
        self._updates: dict[str, _Queued[Update]] = {}
        self._deletes: dict[str, _Queued[Delete]] = {}
        self._skips: dict[str, Entry] = {}
        self._forgotten: set[str] = set()
        # Creates whose outcome is unknown: nothing is written for them until it is settled.
        self.blocked: set[str] = set()
        # Once Google refuses the account's creates, none is sent for the rest of the run; the
        # held-back ones are queued to be read again, in the same write as the batch's outcome.
        self.account_refused: GoogleAccountRefusedError | None = None
        self._held_back: set[str] = set()
        # Batches sent to Google (creates, updates, deletes), whatever Google answered.
        self.batches = 0

    # ---- queueing ----

    def put(self, decision: Decision, resume_from: datetime | None) -> None:
        """Take the latest decision about a contact; it replaces any earlier one still queued,
        keeping the earlier resume point."""
        earlier = self._drop(decision.teamleader_id)
        if earlier is not None and (resume_from is None or earlier < resume_from):
            resume_from = earlier
        match decision:
            case Create():
                self._creates[decision.teamleader_id] = _Queued(decision, resume_from)
            case Update():
                self._updates[decision.teamleader_id] = _Queued(decision, resume_from)
            case Delete():
                self._deletes[decision.teamleader_id] = _Queued(decision, resume_from)
            case Skip(record=True):
                self._skips[decision.teamleader_id] = Entry(decision.teamleader_id, "skipped", reason=decision.reason)
                if len(self._skips) >= SKIP_FLUSH:
                    self._checkpoint(Checkpoint())
            case Forget():
                self._forgotten.add(decision.teamleader_id)
        self.flush_full()

    def _drop(self, teamleader_id: str) -> datetime | None:
        earliest = None
        for queue in (self._creates, self._updates, self._deletes):
            old = queue.pop(teamleader_id, None)
            if old is not None:
                earliest = old.resume_from
        self._skips.pop(teamleader_id, None)
        self._forgotten.discard(teamleader_id)
        return earliest

    def resume_point(self, position: datetime | None) -> datetime | None:
        """Where a restart must read again: the earliest resume point of a queued write (None:
        from the beginning), or `position`, how far reading has come, when nothing waits."""
        points = [q.resume_from for queue in (self._creates, self._updates, self._deletes) for q in queue.values()]
        if any(point is None for point in points):
            return None
        return min((p for p in points if p is not None), default=position)

    def drain_into(self, checkpoint: Checkpoint) -> None:
        """Hand the id-map changes that wait for a checkpoint (skips, forgotten contacts) to it."""
        checkpoint.entries += self._skips.values()
        checkpoint.removed += sorted(self._forgotten)
        self._skips, self._forgotten = {}, set()

    # ---- sending ----

    def flush_full(self) -> None:
        """Send every batch that is full."""
        limits = self._destination.limits
        if len(self._creates) >= limits.create:
            self._flush_creates()
        if len(self._updates) >= limits.update:
            self._flush_updates()
        if len(self._deletes) >= limits.delete:
            self._flush_deletes()

    def flush_all(self) -> None:
        """Send everything that is queued."""
        while self._creates or self._updates or self._deletes:
            self._flush_creates()
            self._flush_updates()
            self._flush_deletes()

    @staticmethod
    def _take(queue: dict[str, _Queued[W]], size: int) -> dict[str, _Queued[W]]:
        taken = dict(list(queue.items())[:size])
        for teamleader_id in taken:
            del queue[teamleader_id]
        return taken

    def _flush_creates(self) -> None:
        batch = self._take(self._creates, self._destination.limits.create)
        if not batch:
            return
        if self.account_refused:
            self._hold_back(batch)
            return
        items = {tid: q.write.mapped for tid, q in batch.items()}
        intent = Intent(uuid.uuid4().hex, self._clock(), {tid: m.content_hash for tid, m in items.items()})
        self._ledger.record_intent(intent)
        checkpoint = Checkpoint(settled=[intent.batch_id])
        stopped: WriteStoppedError | None = None
        self.batches += 1
        try:
            outcome = self._destination.create([(tid, m.person) for tid, m in items.items()], self.group)
        except AmbiguousWriteError as exc:
            # Not re-sent: the next run settles these from what Google lists.
            unknown = {tid: h for tid, h in intent.items.items() if tid not in exc.refused}
            checkpoint.new_intents.append(Intent(uuid.uuid4().hex, intent.sent_at, unknown))
            self.blocked.update(unknown)
            self._report.uncertain += len(unknown)
            outcome = WriteOutcome(failed=exc.refused)
        except WriteStoppedError as exc:
            # Google stopped the batch part-way: what it made before is recorded; the rest was
            # not made, and is read and sent again (the cursor never passed it).
            stopped, outcome = exc, exc.outcome
        for tid, ref in outcome.done.items():
            checkpoint.entries.append(synced(tid, items[tid].content_hash, ref, self._clock()))
        self._report.created += len(outcome.done)
        self._record_failures(checkpoint, items, outcome.failed, {})
        if stopped is None:
            self._checkpoint(checkpoint)
            return
        if not isinstance(stopped.error, GoogleAccountRefusedError):
            # Refused as a whole (throttled past every retry, an outage, a revoked token): the
            # run stops. Only what Google refused by name is recorded as failed.
            self._ledger.commit(checkpoint)
            raise stopped.error
        # The account takes no more contacts: no create is sent for the rest of the run, and
        # none is marked failed; the next run that finds room creates them.
        self.account_refused = stopped.error
        self._hold_back({tid: q for tid, q in batch.items() if tid not in outcome.done and tid not in outcome.failed})
        self._checkpoint(checkpoint)

    def _hold_back(self, batch: dict[str, _Queued[Create]]) -> None:
        """Creates not sent while the account refuses them: counted, and queued to be read again
        (the next checkpoint stores the queue), so that the run that finds room creates them."""
        self._held_back.update(batch)
        self._report.not_created = len(self._held_back)
        self._requeue(list(batch))

    def _flush_updates(self) -> None:
        batch = self._take(self._updates, self._destination.limits.update)
        if not batch:
            return
        items = {tid: q.write.mapped for tid, q in batch.items()}
        refs = {tid: q.write.ref for tid, q in batch.items()}
        self.batches += 1
        outcome = self._destination.update([(tid, refs[tid], m.person) for tid, m in items.items()])
        checkpoint = Checkpoint()
        for tid, ref in outcome.done.items():
            checkpoint.entries.append(synced(tid, items[tid].content_hash, ref, self._clock()))
        self._report.updated += len(outcome.done)
        self._record_failures(checkpoint, items, outcome.failed, refs)
        for tid in outcome.missing:
            # Deleted by hand in Google: Teamleader is the source of truth, so it comes back.
            checkpoint.removed.append(tid)
            self._creates[tid] = _Queued(Create(items[tid]), batch[tid].resume_from)
        self._checkpoint(checkpoint)

    def _flush_deletes(self) -> None:
        batch = self._take(self._deletes, self._destination.limits.delete)
        if not batch:
            return
        deletes = [q.write for q in batch.values()]
        self.batches += 1
        refused = self._destination.delete([d.resource_name for d in deletes])
        checkpoint = Checkpoint()
        for delete in deletes:
            if delete.resource_name in refused:
                # Still in Google: kept in the map as failed, to be deleted when read again.
                reason = refused[delete.resource_name]
                checkpoint.entries.append(Entry(delete.teamleader_id, "failed", "", delete.resource_name, None, reason))
                self._tally.failed(delete.teamleader_id, reason)
            elif delete.reason is None:
                checkpoint.removed.append(delete.teamleader_id)
            else:
                checkpoint.entries.append(Entry(delete.teamleader_id, "skipped", reason=delete.reason))
        self._report.deleted += len(deletes) - len(refused)
        self._checkpoint(checkpoint)

    def _record_failures(
        self,
        checkpoint: Checkpoint,
        items: dict[str, Mapped],
        failed: dict[str, str],
        refs: dict[str, PersonRef],
    ) -> None:
        for tid, reason in failed.items():
            ref = refs.get(tid)
            name, etag = (ref.resource_name, ref.etag) if ref else (None, None)
            checkpoint.entries.append(Entry(tid, "failed", items[tid].content_hash, name, etag, reason))
            self._tally.failed(tid, reason)
