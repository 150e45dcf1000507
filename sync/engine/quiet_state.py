"""A run's view of its state store that writes only what is new: a checkpoint's bookmark or
group equal to the one stored is left out, and a checkpoint left with nothing is not written
at all. A run that finds nothing changed then writes nothing but its report (each write is
billed in Firestore, and an hourly run that changes nothing would otherwise rewrite the same
bookmarks several times).

What is stored under each key is known from `account_state`, read once per key and kept up
to date with every commit: the run is the only writer of its keys (the leases see to it)."""

from __future__ import annotations

import copy
import threading
from dataclasses import replace

from sync.engine.state_view import StateView
from sync.ports import AccountState, Checkpoint, SyncState


class QuietState(StateView):
    """Passes every read and write to the real store, but the parts of checkpoints that would
    store what is stored already."""

    def __init__(self, real: SyncState) -> None:
        super().__init__(real)
        # Lanes commit from their own threads.
        self._lock = threading.Lock()
        self._stored: dict[str, AccountState] = {}

    def account_state(self, account: str) -> AccountState:
        with self._lock:
            known = self._stored.get(account)
        if known is None:
            known = self._real.account_state(account)
            with self._lock:
                known = self._stored.setdefault(account, known)
        # A copy: the caller's changes are not stored until committed.
        return copy.deepcopy(known)

    def commit(self, account: str, checkpoint: Checkpoint) -> None:
        self.commit_all({account: checkpoint})

    def commit_all(self, checkpoints: dict[str, Checkpoint]) -> None:
        with self._lock:
            news = {key: self._news(key, checkpoint) for key, checkpoint in checkpoints.items()}
        news = {key: checkpoint for key, checkpoint in news.items() if not checkpoint.is_empty()}
        if not news:
            return
        self._real.commit_all(news)
        with self._lock:
            for key, checkpoint in news.items():
                if (stored := self._stored.get(key)) is not None:
                    self._stored[key] = AccountState(
                        checkpoint.cursor if checkpoint.cursor is not None else stored.cursor,
                        checkpoint.group if checkpoint.group is not None else stored.group,
                        checkpoint.source_cursor if checkpoint.source_cursor is not None else stored.source_cursor,
                    )

    def _news(self, key: str, checkpoint: Checkpoint) -> Checkpoint:
        """The checkpoint without the fields that would store what is stored already (a key
        never read is written as it comes)."""
        stored = self._stored.get(key)
        if stored is None:
            return checkpoint
        return replace(
            checkpoint,
            cursor=None if checkpoint.cursor == stored.cursor else checkpoint.cursor,
            group=None if checkpoint.group == stored.group else checkpoint.group,
            source_cursor=None if checkpoint.source_cursor == stored.source_cursor else checkpoint.source_cursor,
        )
