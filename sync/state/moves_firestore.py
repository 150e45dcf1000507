"""Records of a key kept in shard documents, moved there from the old layout (one document
each) on the first touch of the key: the id map's entries (`idmap_firestore`) and the
connection's companies (`companies_firestore`) move the same way. Each batch of a move is
guarded by the key's document being as the mover last saw it, and the last one marks the key
with its shard count: a crash leaves the rest to move next time, and a mover that lost a race
(another mover, or any write to the key's document meanwhile) looks again rather than write
back what it read before."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import datetime
from typing import Any

from google.api_core import exceptions as gexc
from google.cloud import firestore

from sync.errors import LeaseContentionError

MOVE_ATTEMPTS = 5


class ShardedKeys(ABC):
    """One kind of record of every key under one root, in shards; `key_ref` names a key's
    document, whose field `mark` holds the key's shard count once its records are moved."""

    mark: str
    # What the records are, for the error when a move never wins its race.
    what: str

    def __init__(self, db: firestore.Client, key_ref: Callable[[str], Any], shards: int) -> None:
        self._db = db
        self._key_ref = key_ref
        self._new_shards = shards
        # Keys seen marked, with their shard count: a mark is never taken back, so it is kept.
        self._marked: dict[str, int] = {}

    def note(self, account: str, data: dict[str, Any]) -> None:
        """The key's document was read anyway: remember its mark, saving a read."""
        if self.mark in data:
            self._marked[account] = int(data[self.mark])

    def _shards(self, account: str) -> int:
        """The key's shard count, its old records moved first."""
        if account in self._marked:
            return self._marked[account]
        for _ in range(MOVE_ATTEMPTS):
            snapshot = self._key_ref(account).get()
            data = snapshot.to_dict() or {}
            try:
                shards = (
                    int(data[self.mark])
                    if self.mark in data
                    else self._move_from(account, snapshot.update_time if snapshot.exists else None)
                )
            except (gexc.FailedPrecondition, gexc.AlreadyExists, gexc.Aborted):
                continue
            self._marked[account] = shards
            return shards
        raise LeaseContentionError(f"the {self.what} of {account} are being moved by another holder")

    @abstractmethod
    def _move_from(self, account: str, seen: datetime | None) -> int:
        """Move the key's old documents into `self._new_shards` shards, each batch committed
        by `_guard` from `seen` on, the last marking the key; the shard count."""

    def _guard(self, batch: Any, account: str, seen: datetime | None, fields: dict[str, Any]) -> datetime:
        """Commit `batch` with a write of the key's document that holds only if the document is
        as last seen (absent when `seen` is None); the document's new update time."""
        ref = self._key_ref(account)
        if seen is None:
            batch.create(ref, {k: v for k, v in fields.items() if v is not firestore.DELETE_FIELD})
        else:
            batch.update(ref, fields, option=self._db.write_option(last_update_time=seen))
        written: datetime = batch.commit()[-1].update_time
        return written
