"""A run's memory does not grow with its users times their contacts: a lane holds the id-map
entries of the chunk it decides, not its whole id map (200 users of 10,000 contacts would
otherwise hold two million entries; bench/delegation.py measures the run)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from sync.engine.ledger import Ledger
from sync.ports import Checkpoint, Entry, SyncState
from sync.state.port import StateStore


def test_a_lane_holds_one_chunk_of_its_id_map(sqlite_state: StateStore) -> None:
    entries = [Entry(str(n), "synced", "hash", f"people/c{n}", "etag") for n in range(300)]
    sqlite_state.commit("acme", Checkpoint(entries=entries))
    ledger = Ledger(sqlite_state, "acme")
    ledger.prefetch(str(n) for n in range(100))
    assert ledger.get("5") == entries[5]
    ledger.prefetch(str(n) for n in range(100, 200))
    assert ledger.get("5") is None and ledger.get("150") == entries[150]
    # What a chunk committed is what the store holds, read again when a later chunk names it.
    ledger.commit(Checkpoint(entries=[Entry("7", "synced", "new", "people/c7", "etag2")]))
    ledger.prefetch(["7", "8"])
    assert ledger.get("7") == Entry("7", "synced", "new", "people/c7", "etag2") and ledger.get("150") is None


class CountedReads:
    """The state, counting the reads of entries by id (a page's prefetch)."""

    def __init__(self, state: StateStore) -> None:
        self.state = state
        self.reads = 0

    def entries(self, account: str, teamleader_ids: Iterable[str]) -> dict[str, Entry]:
        self.reads += 1
        return self.state.entries(account, teamleader_ids)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.state, name)


def test_a_whole_map_within_its_share_is_read_once_and_let_go_past_it(sqlite_state: StateStore) -> None:
    entries = [Entry(str(n), "synced", "hash", f"people/c{n}", "etag") for n in range(300)]
    sqlite_state.commit("acme", Checkpoint(entries=entries))
    counted = CountedReads(sqlite_state)
    ledger = Ledger(cast(SyncState, counted), "acme", held=350)
    assert len(ledger.load_all()) == 300
    ledger.prefetch(str(n) for n in range(100))
    # The whole map is held: a page reads nothing, and a contact not in it has no entry.
    assert counted.reads == 0 and ledger.get("5") == entries[5] and ledger.get("999") is None
    ledger.commit(Checkpoint(entries=[Entry(str(n), "synced", "h", f"people/c{n}", "e") for n in range(300, 400)]))
    # Grown past its share: a page's entries only, read from the store (which holds them all).
    ledger.prefetch(["5", "399"])
    assert ledger.get("399") == Entry("399", "synced", "h", "people/c399", "e") and ledger.get("150") is None
    ledger.prefetch(["150"])
    assert counted.reads == 1 and ledger.get("150") == entries[150]
