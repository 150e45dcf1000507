"""One account's id map as a run sees it: the entries read so far, and every commit."""

from __future__ import annotations

from collections.abc import Iterable

from sync.ports import Checkpoint, Entry, Intent, PersonRef, SyncState


def synced(teamleader_id: str, content_hash: str, ref: PersonRef, at: float) -> Entry:
    """The entry of a contact Google holds as `ref`, written with `content_hash` at `at`."""
    return Entry(teamleader_id, "synced", content_hash, ref.resource_name, ref.etag, written_at=at)


class Ledger:
    """Reads entries in bulk ahead of use, and keeps them in step with what is committed."""

    def __init__(self, state: SyncState, account: str) -> None:
        self.state = state
        self.account = account
        self._known: dict[str, Entry] = {}
        # Every entry has been read (and every commit since kept): a contact not known has none.
        self._complete = False

    def prefetch(self, teamleader_ids: Iterable[str]) -> None:
        """Read the entries of a page of contacts in one go, before they are decided."""
        if self._complete:
            return
        wanted = [tid for tid in teamleader_ids if tid not in self._known]
        if wanted:
            self._known.update(self.state.entries(self.account, wanted))

    def get(self, teamleader_id: str) -> Entry | None:
        return self._known.get(teamleader_id)

    def load_all(self) -> list[Entry]:
        """Every entry of the account (the full run's reconciliation needs them all)."""
        entries = list(self.state.all_entries(self.account))
        self._known.update({e.teamleader_id: e for e in entries})
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
