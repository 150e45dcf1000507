"""One account's id map as a run sees it: the entries read so far, and every commit."""

from __future__ import annotations

from collections.abc import Iterable

from sync.ports import Checkpoint, Entry, Intent, PersonRef, SyncState

# Entries the lanes of one run may hold at once, whole maps read in one go (480 bytes each
# measured with tracemalloc: 115 MiB, a team of 10 at Google's 25,000 within 512 MiB):
# a lane whose map fits its share reads it once (Firestore: a read per shard) and nothing per
# page; past its share it holds a page's entries and reads each page's by id (memory over reads,
# so that 200 users do not need 200 maps in memory).
WHOLE_MAPS_HELD = 250_000


def synced(teamleader_id: str, content_hash: str, ref: PersonRef, at: float) -> Entry:
    """The entry of a contact Google holds as `ref`, written with `content_hash` at `at`."""
    return Entry(teamleader_id, "synced", content_hash, ref.resource_name, ref.etag, written_at=at)


class Ledger:
    """Reads entries in bulk ahead of use, and keeps them in step with what is committed."""

    def __init__(self, state: SyncState, account: str, held: int = WHOLE_MAPS_HELD) -> None:
        self.state = state
        self.account = account
        self.held = held
        self._known: dict[str, Entry] = {}
        # Every entry has been read (and every commit since kept): a contact not known has none.
        self._complete = False

    def prefetch(self, teamleader_ids: Iterable[str]) -> None:
        """Read the entries of a page of contacts in one go, before they are decided. A lane
        holding its whole map reads nothing; otherwise only that page's entries are kept from
        then on, so a run's memory does not grow with its users times their contacts. (What
        is dropped is what the store holds: every entry here was read or committed.)"""
        if self._complete:
            if len(self._known) <= self.held:
                return
            # Grown past its share by commits: the store has every entry, read again by page.
            self._complete = False
        ids = list(dict.fromkeys(teamleader_ids))
        kept = {tid: self._known[tid] for tid in ids if tid in self._known}
        wanted = [tid for tid in ids if tid not in kept]
        if wanted:
            kept.update(self.state.entries(self.account, wanted))
        self._known = kept

    def get(self, teamleader_id: str) -> Entry | None:
        return self._known.get(teamleader_id)

    def load_all(self) -> list[Entry]:
        """Every entry of the account (a first run decides every contact; the full run's
        reconciliation needs them all); kept while they fit the lane's share."""
        entries = list(self.state.all_entries(self.account))
        if len(entries) <= self.held:
            self._known = {e.teamleader_id: e for e in entries}
            self._complete = True
        return entries

    def record_intent(self, intent: Intent) -> None:
        """Write down a create batch before it is sent."""
        self.state.record_intent(self.account, intent)

    def commit(self, checkpoint: Checkpoint) -> None:
        """Write a checkpoint atomically, then remember what it wrote."""
        self.state.commit(self.account, checkpoint)
        for entry in checkpoint.entries:
            self._known[entry.teamleader_id] = entry
        for teamleader_id in checkpoint.removed:
            self._known.pop(teamleader_id, None)
