"""One account's run: read what changed in Teamleader, decide, write to Google in batches,
checkpoint after every batch. The order and the invariants are in ARCHITECTURE.md.

The engine sees three small ports (Teamleader source, Google contacts, state store), never SDK
objects, so the same code runs on Firestore in the cloud and on SQLite on a laptop.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sync.companies import affected_contacts, companies_by_contact, company_record
from sync.errors import AmbiguousWriteError, GoogleError, ReauthRequiredError, describe
from sync.mapping import Company, Ineligible, Mapped, map_contact
from sync.people import CREATE_BATCH, DELETE_BATCH, UPDATE_BATCH, PersonRef, WriteOutcome
from sync.reader import Sighting, read_changes, updated_at
from sync.state.port import Checkpoint, CompanyRecord, Entry, Intent, StateStore

PAGE_SIZE = 100
SETTLE_MARGIN = timedelta(minutes=5)
SKIP_FLUSH = 200
COMPANY_FLUSH = 100
# Contacts a company change may queue for re-reading before reading every contact again is the
# cheaper way (and the queue, stored in the account's document, stays far below Firestore's 1 MiB).
MAX_QUEUED = 2000
MAX_FAILURES_IN_REPORT = 100


class Source(Protocol):
    """The Teamleader side, as the engine needs it."""

    calls: int

    def list_contacts(self, *, updated_since: datetime | None = None, page: int = 1) -> list[dict[str, Any]]: ...

    def contacts_by_ids(self, ids: list[str]) -> list[dict[str, Any]]: ...

    def list_contact_ids(self, page: int) -> list[dict[str, Any]]: ...

    def list_companies(self, *, updated_since: datetime | None = None, page: int = 1) -> list[dict[str, Any]]: ...

    def list_company_ids(self, page: int) -> list[dict[str, Any]]: ...

    def company(self, company_id: str) -> dict[str, Any] | None: ...


class Contacts(Protocol):
    """The Google side, as the engine needs it."""

    calls: int
    writes: int

    def find_group(self, name: str) -> str | None: ...

    def group_exists(self, resource_name: str) -> bool: ...

    def create_group(self, name: str) -> str: ...

    def add_members(self, group: str, resource_names: list[str]) -> list[str]: ...

    def create(self, items: list[tuple[str, dict[str, Any]]], group: str) -> WriteOutcome: ...

    def update(self, items: list[tuple[str, PersonRef, dict[str, Any]]]) -> WriteOutcome: ...

    def delete(self, resource_names: list[str]) -> list[str]: ...

    def get(self, resource_names: list[str]) -> dict[str, PersonRef]: ...

    def stamped(self) -> Iterator[tuple[str, PersonRef]]: ...


@dataclass(frozen=True)
class AccountConfig:
    """What the engine needs to know of an account."""

    account_id: str
    group_name: str = "Teamleader"
    required_tags: frozenset[str] = frozenset()


@dataclass(frozen=True)
class EngineOptions:
    """How a run behaves; defaults are the product's."""

    mode: str = "incremental"  # or "full": also mirror deletions and repair Google-side losses
    dry_run: bool = False
    deadline: float | None = None  # epoch seconds; no new batch starts after it
    # How long Google's lists may lag a create: an unanswered create not listed after this
    # long did not happen and is sent again; before that it stays uncertain.
    create_visibility_delay: float = 1800.0
    create_batch: int = CREATE_BATCH
    update_batch: int = UPDATE_BATCH
    delete_batch: int = DELETE_BATCH


@dataclass
class RunReport:
    """What a run did, for people and for the state store."""

    account: str
    run_id: str
    mode: str
    dry_run: bool
    started: str
    status: str = "running"
    finished: str = ""
    read: int = 0
    companies_read: int = 0
    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    skipped: int = 0
    uncertain: int = 0
    skip_reasons: Counter[str] = field(default_factory=Counter)
    failures: list[dict[str, str]] = field(default_factory=list)
    failed: int = 0
    still_failing: int = 0
    cursor: str | None = None
    teamleader_calls: int = 0
    google_calls: int = 0
    google_writes: int = 0
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["skip_reasons"] = dict(self.skip_reasons)
        return data


def _now_iso(clock: Callable[[], float]) -> str:
    return datetime.fromtimestamp(clock(), tz=UTC).isoformat(timespec="seconds")


@dataclass
class _Pending:
    """A decided write waiting for its batch to fill, and where a restart would re-read it."""

    mapped: Mapped | None
    resume_from: datetime | None
    ref: PersonRef | None = None
    reason: str | None = None
    gone_from_teamleader: bool = False


class _OutOfTimeError(Exception):
    pass


def _every_id(list_page: Callable[[int], list[dict[str, Any]]]) -> set[str]:
    """The ids on every page of a listing, paged until a short page."""
    present: set[str] = set()
    number = 1
    while True:
        page = list_page(number)
        present.update(c["id"] for c in page)
        if len(page) < PAGE_SIZE:
            return present
        number += 1


class Engine:
    """Runs one account once."""

    def __init__(
        self,
        account: AccountConfig,
        source: Source,
        contacts: Contacts,
        state: StateStore,
        options: EngineOptions | None = None,
        *,
        clock: Callable[[], float] = time.time,
        progress: Callable[[RunReport], None] | None = None,
        run_id: str | None = None,
        keep_alive: Callable[[], None] | None = None,
    ) -> None:
        self.account = account
        self.keep_alive = keep_alive
        self.source = source
        self.contacts = contacts
        self.state = state
        self.options = options or EngineOptions()
        self.clock = clock
        self.progress = progress
        self.report = RunReport(
            account.account_id,
            run_id or uuid.uuid4().hex[:12],
            self.options.mode,
            self.options.dry_run,
            _now_iso(clock),
        )
        self._known: dict[str, Entry] = {}
        self._creates: dict[str, _Pending] = {}
        self._updates: dict[str, _Pending] = {}
        self._deletes: dict[str, _Pending] = {}
        self._skips: dict[str, Entry] = {}
        self._blocked: set[str] = set()
        # Contacts are counted once per run however often the cursor re-reads them.
        self._unchanged: set[str] = set()
        self._skip_reasons: dict[str, str] = {}
        self._position: datetime | None = None
        self._last_fetch_at: float | None = None
        self._group = ""
        # The stored bookmark: `contacts` and `companies` cursors, and `recheck`, the contacts
        # a company change has still to reach (they are cleared when a run completes).
        self._bookmark: dict[str, Any] = {}
        self._queued: list[str] = []
        self._companies: dict[str, CompanyRecord] = {}
        self._by_contact: dict[str, tuple[Company, ...]] = {}

    # ---- the run ----

    def run(self) -> RunReport:
        """Run to the end, or until the deadline; the report says which (ok or partial)."""
        acct = self.account.account_id
        stored = self.state.account_state(acct)
        self._bookmark = dict(stored.cursor)
        self._queued = list(self._bookmark.get("recheck") or [])
        cursor = stored.cursor.get("contacts")
        self._position = datetime.fromisoformat(cursor) if cursor else None
        try:
            self._group = self._ensure_group(stored.group)
            recheck = self._resolve_intents(first_run=cursor is None)
            self._refresh_companies()
            self._process(self._recheck(list(dict.fromkeys(recheck + self._queued))))
            self._process(read_changes(self._fetch, self._position, PAGE_SIZE))
            if self.options.mode == "full":
                self._reconcile()
            self._flush_all()
            self._position = self._past_the_newest(self._position, self._last_fetch_at)
            self._queued = []  # every queued contact has been read and written
            self._checkpoint(Checkpoint())
            self.report.status = "ok"
        except _OutOfTimeError:
            self._checkpoint(Checkpoint())
            self.report.status = "partial"
        except Exception as exc:
            self.report.status = "failed"
            self.report.error = describe(exc)
            raise
        finally:
            self._finish()
        return self.report

    def _finish(self) -> None:
        self.report.finished = _now_iso(self.clock)
        self.report.cursor = self._position.isoformat() if self._position else None
        self.report.teamleader_calls = self.source.calls
        self.report.google_calls = self.contacts.calls
        self.report.google_writes = self.contacts.writes
        if not self.options.dry_run:
            self.state.save_report(self.account.account_id, self.report.to_json())

    def _tick(self) -> None:
        if self.report.read % PAGE_SIZE == 0:
            self._tick_progress()
        self._check_deadline()

    def _check_deadline(self) -> None:
        if self.options.deadline is not None and self.clock() >= self.options.deadline:
            raise _OutOfTimeError

    # ---- group ----

    def _ensure_group(self, known: str | None) -> str:
        if known and self.contacts.group_exists(known):
            return known
        found = self.contacts.find_group(self.account.group_name)
        if found is None:
            if self.options.dry_run:
                return ""
            found = self.contacts.create_group(self.account.group_name)
        if not self.options.dry_run:
            self.state.commit(self.account.account_id, Checkpoint(group=found))
        if known and found != known:
            self._regroup(found)
        return found

    def _regroup(self, group: str) -> None:
        """The group was deleted by hand: put every synced person back into its successor."""
        synced = {e.resource_name: e for e in self.state.all_entries(self.account.account_id) if e.state == "synced"}
        names = [name for name in synced if name]
        if names and not self.options.dry_run:
            gone = set(self.contacts.add_members(group, names))
            if gone:
                removed = [synced[name].teamleader_id for name in gone]
                self.state.commit(self.account.account_id, Checkpoint(removed=removed))

    # ---- uncertain creates ----

    def _resolve_intents(self, *, first_run: bool) -> list[str]:
        """Settle creates whose outcome is unknown (a crash, a lost answer) from what Google
        lists; answers the Teamleader ids to read again. On a first run, also adopt persons
        that already carry a Teamleader id (state lost, or re-added account)."""
        intents = self.state.intents(self.account.account_id)
        if not intents and not first_run:
            return []
        listed: dict[str, list[PersonRef]] = {}
        for teamleader_id, ref in self.contacts.stamped():
            listed.setdefault(teamleader_id, []).append(ref)
        now = self.clock()
        recheck: list[str] = []
        checkpoint = Checkpoint()
        duplicates: list[str] = []
        for intent in intents:
            still_unknown: dict[str, str] = {}
            for teamleader_id, content_hash in intent.items.items():
                refs = listed.pop(teamleader_id, None)
                if refs:
                    checkpoint.entries.append(self._synced(teamleader_id, content_hash, refs[0]))
                    duplicates += [r.resource_name for r in refs[1:]]
                    recheck.append(teamleader_id)
                elif now - intent.sent_at >= self.options.create_visibility_delay:
                    recheck.append(teamleader_id)  # never made: it will be created again
                else:
                    still_unknown[teamleader_id] = content_hash
            checkpoint.settled.append(intent.batch_id)
            if still_unknown:
                checkpoint.new_intents.append(Intent(uuid.uuid4().hex, intent.sent_at, still_unknown))
                self._blocked.update(still_unknown)
        if first_run:
            known = self.state.entries(self.account.account_id, list(listed))
            for teamleader_id, refs in listed.items():
                entry = known.get(teamleader_id)
                keep = next((r for r in refs if entry and r.resource_name == entry.resource_name), refs[0])
                if entry is None or entry.resource_name != keep.resource_name:
                    checkpoint.entries.append(self._synced(teamleader_id, "", keep))
                duplicates += [r.resource_name for r in refs if r is not keep]
        self.report.uncertain = len(self._blocked)
        if not self.options.dry_run:
            if duplicates:
                self.contacts.delete(duplicates)
            if not checkpoint.is_empty():
                self.state.commit(self.account.account_id, checkpoint)
                self._known.update({e.teamleader_id: e for e in checkpoint.entries})
        return recheck

    def _synced(self, teamleader_id: str, content_hash: str, ref: PersonRef) -> Entry:
        return Entry(teamleader_id, "synced", content_hash, ref.resource_name, ref.etag)

    # ---- companies ----

    def _refresh_companies(self) -> None:
        """Bring the stored companies up to date and derive each contact's companies from them.

        Reads the companies changed since the companies cursor. A first or full run reads every
        company, from its own resume point so that a pass cut short by the deadline goes on
        where it stopped; a full run then asks after the companies no longer listed (deleted,
        or hidden once deactivated). The contacts a change reaches are queued for re-reading in
        the same atomic write as the company records, so a crash cannot lose them."""
        self._companies = self.state.companies(self.account.account_id)
        full = self.options.mode == "full" or "companies" not in self._bookmark
        key = "companies_full" if full else "companies"
        since: str | None = self._bookmark.get(key)
        anchor = datetime.fromisoformat(since) if since else None
        listed: set[str] = set()
        newest = anchor
        fetched_at: list[float] = []
        checkpoint, affected = Checkpoint(), set[str]()

        def fetch(at: datetime | None, number: int) -> list[dict[str, Any]]:
            fetched_at[:] = [self.clock()]
            return self.source.list_companies(updated_since=at, page=number)

        for sighting in read_changes(fetch, anchor, PAGE_SIZE):
            self._check_deadline()
            company_id = sighting.contact["id"]
            listed.add(company_id)
            self.report.companies_read += 1
            known = self._companies.get(company_id)
            if full or known is None or known.updated_at != sighting.contact.get("updated_at"):
                affected |= self._read_company(company_id, checkpoint)
            moment = updated_at(sighting.contact)
            newest = moment if newest is None or moment > newest else newest
            if len(checkpoint.companies) + len(checkpoint.removed_companies) >= COMPANY_FLUSH:
                self._commit_companies(checkpoint, affected, key, sighting.resume_from)
                checkpoint, affected = Checkpoint(), set()
        if full:
            present = listed if anchor is None else _every_id(self.source.list_company_ids)
            for company_id in sorted(set(self._companies) - present):
                self._check_deadline()
                affected |= self._read_company(company_id, checkpoint)
            self._bookmark.pop("companies_full", None)
        newest = self._past_the_newest(newest, fetched_at[0] if fetched_at else None)
        self._commit_companies(checkpoint, affected, "companies", newest)
        self._by_contact = companies_by_contact(self._companies.values())

    def _read_company(self, company_id: str, checkpoint: Checkpoint) -> set[str]:
        """Read one company again, record what changed, answer the contacts it reaches."""
        if self.keep_alive:
            self.keep_alive()
        info = self.source.company(company_id)
        record = company_record(info) if info is not None else None
        old = self._companies.pop(company_id, None)
        if record is not None:
            self._companies[company_id] = record
            checkpoint.companies.append(record)
        elif old is not None:
            checkpoint.removed_companies.append(company_id)
        return affected_contacts(old, record)

    def _commit_companies(self, checkpoint: Checkpoint, affected: set[str], key: str, cursor: datetime | None) -> None:
        if self._position is not None:  # else every contact is read anyway: nothing to queue
            self._queued += sorted(affected - set(self._queued))
            if len(self._queued) > MAX_QUEUED:
                self._queued, self._position = [], None
                self._bookmark.pop("contacts", None)
        if cursor is not None:
            self._bookmark[key] = cursor.isoformat()
        self._checkpoint(checkpoint)

    # ---- reading ----

    def _fetch(self, anchor: datetime | None, number: int) -> list[dict[str, Any]]:
        self._last_fetch_at = self.clock()
        page = self.source.list_contacts(updated_since=anchor, page=number)
        self._remember([c["id"] for c in page])
        return page

    def _remember(self, ids: Iterable[str]) -> None:
        wanted = [i for i in ids if i not in self._known]
        if wanted:
            self._known.update(self.state.entries(self.account.account_id, wanted))

    def _recheck(self, teamleader_ids: list[str]) -> Iterator[Sighting]:
        """Read named contacts again; the ones Teamleader no longer has are marked gone."""
        if not teamleader_ids:
            return
        contacts = self.source.contacts_by_ids(teamleader_ids)
        self._remember(teamleader_ids)
        for contact in contacts:
            yield Sighting(contact, self._position)
        present = {c["id"] for c in contacts}
        for teamleader_id in teamleader_ids:
            if teamleader_id not in present:
                yield Sighting({"id": teamleader_id, "_gone": True}, self._position)

    def _process(self, sightings: Iterable[Sighting]) -> None:
        for sighting in sightings:
            self._tick()
            contact = sighting.contact
            self.report.read += 1
            if contact["id"] in self._blocked:
                continue
            if contact.get("_gone"):
                self._plan_gone(contact["id"], sighting.resume_from)
            else:
                self._plan(contact, sighting.resume_from)
                moment = updated_at(contact)
                if self._position is None or moment > self._position:
                    self._position = moment
            self._flush_full()

    # ---- deciding ----

    def _drop_pending(self, teamleader_id: str) -> datetime | None:
        """Forget an earlier decision about a contact seen again; keep its earlier resume point."""
        earliest = None
        for pending in (self._creates, self._updates, self._deletes):
            old = pending.pop(teamleader_id, None)
            if old is not None:
                earliest = old.resume_from
        self._skips.pop(teamleader_id, None)
        return earliest

    def _plan(self, contact: dict[str, Any], resume_from: datetime | None) -> None:
        teamleader_id = contact["id"]
        self._unchanged.discard(teamleader_id)
        self.report.unchanged = len(self._unchanged)
        if self._skip_reasons.pop(teamleader_id, None) is not None:
            self.report.skip_reasons = Counter(self._skip_reasons.values())
            self.report.skipped = len(self._skip_reasons)
        earlier = self._drop_pending(teamleader_id)
        if earlier is not None and (resume_from is None or earlier < resume_from):
            resume_from = earlier
        entry = self._known.get(teamleader_id)
        companies = self._by_contact.get(teamleader_id, ())
        decision = map_contact(contact, companies, required_tags=self.account.required_tags)
        if isinstance(decision, Ineligible):
            self._plan_ineligible(entry, decision, resume_from)
            return
        if entry is not None and entry.state == "failed" and entry.content_hash == decision.content_hash:
            self.report.still_failing += 1  # refused before and unchanged: tried again when it changes
            return
        if entry is not None and entry.resource_name and entry.state in ("synced", "failed"):
            if entry.state == "synced" and entry.content_hash == decision.content_hash:
                self._unchanged.add(teamleader_id)
                self.report.unchanged = len(self._unchanged)
                return
            ref = PersonRef(entry.resource_name, entry.etag or "")
            self._updates[teamleader_id] = _Pending(decision, resume_from, ref)
            return
        self._creates[teamleader_id] = _Pending(decision, resume_from)

    def _plan_ineligible(self, entry: Entry | None, decision: Ineligible, resume_from: datetime | None) -> None:
        self._skip_reasons[decision.teamleader_id] = decision.reason
        self.report.skip_reasons = Counter(self._skip_reasons.values())
        self.report.skipped = len(self._skip_reasons)
        if entry is not None and entry.resource_name:
            self._deletes[decision.teamleader_id] = _Pending(None, resume_from, reason=decision.reason)
            return
        if entry is None or entry.state != "skipped" or entry.reason != decision.reason:
            self._skips[decision.teamleader_id] = Entry(decision.teamleader_id, "skipped", reason=decision.reason)
            if len(self._skips) >= SKIP_FLUSH:
                self._checkpoint(Checkpoint())

    def _plan_gone(self, teamleader_id: str, resume_from: datetime | None) -> None:
        """The contact no longer exists in Teamleader: remove its person and its entry."""
        self._drop_pending(teamleader_id)
        entry = self._known.get(teamleader_id)
        if entry is None:
            return
        if entry.resource_name and entry.state != "skipped":
            self._deletes[teamleader_id] = _Pending(None, resume_from, gone_from_teamleader=True)
        elif not self.options.dry_run:
            self._commit(Checkpoint(removed=[teamleader_id]))

    # ---- writing ----

    def _flush_full(self) -> None:
        if len(self._creates) >= self.options.create_batch:
            self._flush_creates()
        if len(self._updates) >= self.options.update_batch:
            self._flush_updates()
        if len(self._deletes) >= self.options.delete_batch:
            self._flush_deletes()

    def _flush_all(self) -> None:
        while self._creates or self._updates or self._deletes:
            self._flush_creates()
            self._flush_updates()
            self._flush_deletes()

    def _past_the_newest(self, newest: datetime | None, last_fetch_at: float | None) -> datetime | None:
        """After a complete read, the cursor may step past the newest timestamp read, so that
        the next run does not read that second's contacts again (after a bulk import, thousands).
        Safe once the last page was fetched well after that second: a contact changed since has a
        later timestamp, and one changed at the next second would have been on the last page. The
        margin absorbs clock skew between this machine and Teamleader."""
        if newest is None or last_fetch_at is None:
            return newest
        if (newest + SETTLE_MARGIN).timestamp() <= last_fetch_at:
            return newest + timedelta(seconds=2)
        return newest

    def _take(self, pending: dict[str, _Pending], size: int) -> dict[str, _Pending]:
        taken = dict(list(pending.items())[:size])
        for teamleader_id in taken:
            del pending[teamleader_id]
        return taken

    def _flush_creates(self) -> None:
        batch = self._take(self._creates, self.options.create_batch)
        if not batch:
            return
        if self.options.dry_run:
            self.report.created += len(batch)
            return
        items = {tid: p.mapped for tid, p in batch.items() if p.mapped}
        intent = Intent(uuid.uuid4().hex, self.clock(), {tid: m.content_hash for tid, m in items.items()})
        self.state.record_intent(self.account.account_id, intent)
        checkpoint = Checkpoint(settled=[intent.batch_id])
        try:
            outcome = self.contacts.create([(tid, m.person) for tid, m in items.items()], self._group)
        except AmbiguousWriteError as exc:
            # Not re-sent: the next run settles these from what Google lists.
            unknown = {tid: h for tid, h in intent.items.items() if tid not in exc.refused}
            checkpoint.new_intents.append(Intent(uuid.uuid4().hex, intent.sent_at, unknown))
            self._blocked.update(unknown)
            self.report.uncertain += len(unknown)
            outcome = WriteOutcome(failed=exc.refused)
        except (GoogleError, ReauthRequiredError):
            # Refused as a whole (throttled past every retry, an outage, a revoked token):
            # nothing was created. The run stops; the next one writes these from the cursor,
            # which never passed them. Only what Google refuses by name is recorded as failed.
            self._commit(checkpoint)
            raise
        for tid, ref in outcome.done.items():
            checkpoint.entries.append(self._synced(tid, items[tid].content_hash, ref))
        self.report.created += len(outcome.done)
        self._record_failures(checkpoint, items, outcome.failed, {})
        self._checkpoint(checkpoint)

    def _flush_updates(self) -> None:
        batch = self._take(self._updates, self.options.update_batch)
        if not batch:
            return
        if self.options.dry_run:
            self.report.updated += len(batch)
            return
        items = {tid: p.mapped for tid, p in batch.items() if p.mapped}
        refs = {tid: p.ref for tid, p in batch.items() if p.ref}
        outcome = self.contacts.update([(tid, refs[tid], m.person) for tid, m in items.items()])
        checkpoint = Checkpoint()
        for tid, ref in outcome.done.items():
            checkpoint.entries.append(self._synced(tid, items[tid].content_hash, ref))
        self.report.updated += len(outcome.done)
        self._record_failures(checkpoint, items, outcome.failed, refs)
        for tid in outcome.missing:
            # Deleted by hand in Google: Teamleader is the source of truth, so it comes back.
            self._known.pop(tid, None)
            checkpoint.removed.append(tid)
            self._creates[tid] = batch[tid]
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
            checkpoint.entries.append(
                Entry(
                    tid,
                    "failed",
                    items[tid].content_hash,
                    ref.resource_name if ref else None,
                    ref.etag if ref else None,
                    reason,
                )
            )
            self.report.failed += 1
            if len(self.report.failures) < MAX_FAILURES_IN_REPORT:
                self.report.failures.append({"teamleader_id": tid, "reason": reason})

    def _flush_deletes(self) -> None:
        batch = self._take(self._deletes, self.options.delete_batch)
        if not batch:
            return
        if self.options.dry_run:
            self.report.deleted += len(batch)
            return
        names = {tid: self._known[tid].resource_name for tid in batch if self._known.get(tid)}
        self.contacts.delete([name for name in names.values() if name])
        checkpoint = Checkpoint()
        for tid, pending in batch.items():
            if pending.gone_from_teamleader:
                checkpoint.removed.append(tid)
            else:
                checkpoint.entries.append(Entry(tid, "skipped", reason=pending.reason))
        self.report.deleted += len(batch)
        self._checkpoint(checkpoint)

    def _checkpoint(self, checkpoint: Checkpoint) -> None:
        """Commit a batch's results with the skips seen so far and the safe cursor."""
        if self.options.dry_run:
            return
        checkpoint.entries += self._skips.values()
        self._skips = {}
        resume_points = [
            p.resume_from for pending in (self._creates, self._updates, self._deletes) for p in pending.values()
        ]
        if any(point is None for point in resume_points):
            cursor = None
        elif resume_points:
            cursor = min(p for p in resume_points if p is not None)
        else:
            cursor = self._position
        if cursor is not None:
            self._bookmark["contacts"] = cursor.isoformat()
        self._bookmark["recheck"] = list(self._queued)
        checkpoint.cursor = dict(self._bookmark)
        self._commit(checkpoint)
        self._tick_progress()

    def _commit(self, checkpoint: Checkpoint) -> None:
        self.state.commit(self.account.account_id, checkpoint)
        for entry in checkpoint.entries:
            self._known[entry.teamleader_id] = entry
        for tid in checkpoint.removed:
            self._known.pop(tid, None)

    def _tick_progress(self) -> None:
        if self.progress:
            self.progress(self.report)
        if self.keep_alive:
            self.keep_alive()

    # ---- full mode ----

    def _reconcile(self) -> None:
        """Mirror deletions Teamleader never announces, and repair persons lost in Google."""
        present = _every_id(self.source.list_contact_ids)
        entries = list(self.state.all_entries(self.account.account_id))
        self._known.update({e.teamleader_id: e for e in entries})
        # A contact missing from the listing may only have moved while it was paged: ask for it.
        absent = [e.teamleader_id for e in entries if e.teamleader_id not in present]
        # And one Teamleader has that the map does not know was missed somehow: read it now.
        mapped = {e.teamleader_id for e in entries}
        unknown = sorted(present - mapped)
        synced = [e for e in entries if e.state == "synced" and e.resource_name]
        lost: list[str] = []
        for start in range(0, len(synced), 200):
            chunk = synced[start : start + 200]
            current = self.contacts.get([e.resource_name for e in chunk if e.resource_name])
            lost += [e.teamleader_id for e in chunk if e.resource_name not in current]
        if lost and not self.options.dry_run:
            self._commit(Checkpoint(removed=lost))
        self._process(self._recheck(absent + lost + unknown))
