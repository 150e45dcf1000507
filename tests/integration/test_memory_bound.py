"""A run's memory does not grow with its users times their contacts: a lane holds the id-map
entries of the chunk it decides, not its whole id map (200 users of 10,000 contacts would
otherwise hold two million entries; bench/delegation.py measures the run)."""

from __future__ import annotations

from sync.engine.ledger import Ledger
from sync.ports import Checkpoint, Entry
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
