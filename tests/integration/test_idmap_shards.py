"""Firestore's id map in shards (`sync.state.idmap_firestore`), on the emulator: state stored
one document per entry before is moved on the first touch of its key, whole even across a
crash, and a mover that lost a race never writes back what it read before."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from google.cloud import firestore

from sync.state import idmap_firestore
from sync.state.firestore import FirestoreState
from sync.state.idmap import Checkpoint, Entry
from sync.state.idmap_firestore import MARK, shard_of
from sync.state.moves_firestore import ShardedKeys
from tests.conftest import EMULATOR_PROJECT


@pytest.fixture
def client(firestore_emulator: str) -> Iterator[firestore.Client]:
    db = firestore.Client(project=EMULATOR_PROJECT)
    yield db
    db.close()


def store_the_old_way(db: firestore.Client, root: str, key: str, entries: list[Entry], document: bool = True) -> None:
    """Entries as the state kept them before shards: `{root}/{key}/entries/{id}`, one each;
    the key's own document (its bookmarks) unless not `document`."""
    legacy = db.collection(root).document(key).collection("entries")
    for start in range(0, len(entries), 400):
        batch = db.batch()
        for entry in entries[start : start + 400]:
            batch.set(legacy.document(entry.teamleader_id), {"teamleader_id": entry.teamleader_id, **entry.to_json()})
        batch.commit()
    if document:
        db.collection(root).document(key).set({"cursor": {"contacts": "2026-01-01T00:00:00+00:00"}})


def crash_at_the_second_batch(monkeypatch: pytest.MonkeyPatch, mover: ShardedKeys) -> None:
    """The mover's process dies as it commits the second batch of a move."""
    original = mover._guard
    calls: list[int] = []

    def crash(*args: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:
            raise SystemExit("the process died")
        return original(*args)

    monkeypatch.setattr(mover, "_guard", crash)


def before_the_first_batch(monkeypatch: pytest.MonkeyPatch, mover: ShardedKeys, meanwhile: Callable[[], None]) -> None:
    """`meanwhile` happens once, after the mover has read the old documents and before it
    commits its first batch."""
    original = mover._guard
    done: list[int] = []

    def race(*args: Any) -> Any:
        if not done:
            done.append(1)
            meanwhile()
        return original(*args)

    monkeypatch.setattr(mover, "_guard", race)


def synced(n: int, content_hash: str = "h") -> Entry:
    return Entry(f"t{n}", "synced", content_hash, f"people/c{n}", f"e{n}", written_at=float(n))


def left_over(db: firestore.Client, root: str, key: str) -> int:
    return sum(1 for _ in db.collection(root).document(key).collection("entries").stream())


def test_entries_stored_one_a_document_are_moved_into_shards_on_first_touch(client: firestore.Client) -> None:
    root = f"accounts-{uuid.uuid4().hex[:8]}"
    old = [synced(n) for n in range(651)] + [Entry("skip-1", "skipped", reason="no name")]
    store_the_old_way(client, root, "acme", old)
    state = FirestoreState(client, root=root, id_map_shards=16)
    assert sorted(state.all_entries("acme"), key=lambda e: e.teamleader_id) == sorted(
        old, key=lambda e: e.teamleader_id
    )
    assert left_over(client, root, "acme") == 0
    stored = client.collection(root).document("acme").get().to_dict() or {}
    assert stored[MARK] == 16 and stored["cursor"] == {"contacts": "2026-01-01T00:00:00+00:00"}
    assert len(list(client.collection(root).document("acme").collection("idmap").stream())) == 16
    # Another process, a release later: the key's own count holds, whatever the default.
    later = FirestoreState(client, root=root, id_map_shards=64)
    assert later.account_state("acme").cursor == {"contacts": "2026-01-01T00:00:00+00:00"}
    assert later.entries("acme", ["t5", "skip-1", "t9999"]) == {"t5": old[5], "skip-1": old[-1]}
    later.commit("acme", Checkpoint(entries=[synced(5, "new")], removed=["t6"]))
    assert state.entries("acme", ["t5", "t6"]) == {"t5": synced(5, "new")}


def test_a_move_cut_short_by_a_crash_is_finished_by_the_next_touch(
    client: firestore.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = f"accounts-{uuid.uuid4().hex[:8]}"
    old = [synced(n) for n in range(50)]
    store_the_old_way(client, root, "acme", old)
    monkeypatch.setattr(idmap_firestore, "MOVE_CHUNK", 20)
    crashing = FirestoreState(client, root=root, id_map_shards=4)
    crash_at_the_second_batch(monkeypatch, crashing._id_map)
    with pytest.raises(SystemExit):
        crashing.entries("acme", ["t1"])
    assert left_over(client, root, "acme") == 30
    after = FirestoreState(client, root=root, id_map_shards=4)
    assert sorted(after.all_entries("acme"), key=lambda e: e.written_at) == old
    assert left_over(client, root, "acme") == 0


@pytest.mark.parametrize("document", [True, False], ids=["key-document", "no-key-document"])
def test_a_mover_that_lost_the_race_never_writes_back_what_it_read(
    client: firestore.Client, monkeypatch: pytest.MonkeyPatch, document: bool
) -> None:
    root = f"accounts-{uuid.uuid4().hex[:8]}"
    store_the_old_way(client, root, "acme", [synced(n) for n in range(10)], document)
    run = FirestoreState(client, root=root, id_map_shards=4)
    page = FirestoreState(client, root=root, id_map_shards=4)
    # The page has read the old documents; meanwhile a run moves them and writes t3 anew.
    before_the_first_batch(
        monkeypatch, page._id_map, lambda: run.commit("acme", Checkpoint(entries=[synced(3, "after the move")]))
    )
    assert page.entries("acme", ["t3"]) == {"t3": synced(3, "after the move")}
    assert run.entries("acme", ["t3"]) == {"t3": synced(3, "after the move")}


def test_an_entry_shard_is_the_same_in_every_process_and_shards_are_all_used() -> None:
    assert shard_of("t1", 128) == shard_of("t1", 128) and len({shard_of(f"t{n}", 16) for n in range(500)}) == 16
    # The hash is fixed by its definition, not by the process (Python's own hash() is salted).
    assert shard_of("00000000-0000-0000-0000-000000000001", 128) == "104"
