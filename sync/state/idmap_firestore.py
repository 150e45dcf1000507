"""A destination's id map in Firestore, packed into a bounded number of shard documents:
`accounts/{key}/idmap/{shard}`, each entry a field of the shard's `entries` map, a stable hash
of its Teamleader id choosing the shard. A full run reads the shards (at most `SHARDS`
documents, however many contacts), a hinted run the shards its contacts hash to, and a write
merges the changed entries into their shards, one write per shard touched.

Sizes: an entry takes about 200 bytes, so at 128 shards a shard holds 40 KB at 25,000 contacts
and reaches Firestore's 1 MiB near 600,000; the `entries` field is exempt from indexing
(infra/terraform), so a shard makes no index entries.

State stored before (one document per entry in `accounts/{key}/entries`) is moved on the first
touch of its key (`moves_firestore`): a chunk of entries is written into the shards and its old
documents deleted in one guarded batch, and the last one marks the key (`idmap_shards`); a
concurrent mover (the page and a run) loses its guard and looks again, so an entry moved and
changed since is never written back from the old document.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

from google.cloud import firestore

from sync.state.idmap import Entry
from sync.state.moves_firestore import ShardedKeys

# Shards of a new key's id map. A key keeps the count it was marked with.
SHARDS = 128
# The key document's field naming its shard count: the id map is in shards.
MARK = "idmap_shards"
# The field of a shard holding its entries (exempt from indexing).
FIELD = "entries"
COLLECTION = "idmap"
LEGACY = "entries"
# Old entries moved per batch: their shard writes and deletes stay under Firestore's 500.
MOVE_CHUNK = 200
GET_ALL_CHUNK = 300


def shard_of(teamleader_id: str, shards: int) -> str:
    """The shard document's id of an entry: stable across processes and releases."""
    digest = hashlib.blake2b(teamleader_id.encode(), digest_size=8).digest()
    return f"{int.from_bytes(digest, 'big') % shards:03d}"


class ShardedIdMap(ShardedKeys):
    """The id maps of every key under one root; `key_ref` names a key's document."""

    mark = MARK
    what = "id-map entries"

    def __init__(self, db: firestore.Client, key_ref: Callable[[str], Any], shards: int = SHARDS) -> None:
        super().__init__(db, key_ref, shards)

    def _ref(self, account: str, shard: str) -> Any:
        return self._key_ref(account).collection(COLLECTION).document(shard)

    def entries(self, account: str, teamleader_ids: Iterable[str]) -> dict[str, Entry]:
        """The stored entries of these ids, reading each shard they reach once."""
        shards = self._shards(account)
        wanted: dict[str, set[str]] = defaultdict(set)
        for tid in teamleader_ids:
            wanted[shard_of(tid, shards)].add(tid)
        names = sorted(wanted)
        found: dict[str, Entry] = {}
        for start in range(0, len(names), GET_ALL_CHUNK):
            refs = [self._ref(account, name) for name in names[start : start + GET_ALL_CHUNK]]
            for snapshot in self._db.get_all(refs):
                stored = (snapshot.to_dict() or {}).get(FIELD) or {}
                for tid in wanted[snapshot.id] & stored.keys():
                    found[tid] = Entry.from_json(tid, stored[tid])
        return found

    def all_entries(self, account: str) -> Iterator[Entry]:
        """Every entry of the key: one read per shard."""
        self._shards(account)
        for snapshot in self._key_ref(account).collection(COLLECTION).stream():
            for tid, data in ((snapshot.to_dict() or {}).get(FIELD) or {}).items():
                yield Entry.from_json(tid, data)

    def write(self, batch: Any, account: str, entries: list[Entry], removed: list[str]) -> None:
        """Add to `batch` the entries written and removed, one merge per shard they touch."""
        if not entries and not removed:
            return
        self._merge(batch, account, self._shards(account), entries, removed)

    def _merge(self, batch: Any, account: str, shards: int, entries: list[Entry], removed: list[str]) -> None:
        changes: dict[str, dict[str, Any]] = defaultdict(dict)
        for entry in entries:
            changes[shard_of(entry.teamleader_id, shards)][entry.teamleader_id] = entry.to_json()
        for tid in removed:
            # After the entries, as SQLite deletes after it inserts: removed wins.
            changes[shard_of(tid, shards)][tid] = firestore.DELETE_FIELD
        for shard, fields in changes.items():
            batch.set(self._ref(account, shard), {FIELD: fields}, merge=True)

    def _move_from(self, account: str, seen: datetime | None) -> int:
        """Move the key's old entry documents into shards and mark it (`moves_firestore`)."""
        shards = self._new_shards
        legacy = self._key_ref(account).collection(LEGACY)
        old = [(s.reference, Entry.from_json(s.get("teamleader_id"), s.to_dict())) for s in legacy.stream()]
        for start in range(0, len(old), MOVE_CHUNK):
            chunk = old[start : start + MOVE_CHUNK]
            batch = self._db.batch()
            self._merge(batch, account, shards, [entry for _, entry in chunk], [])
            for reference, _ in chunk:
                batch.delete(reference)
            seen = self._guard(batch, account, seen, {"idmap_moved": start + len(chunk)})
        batch = self._db.batch()
        self._guard(batch, account, seen, {MARK: shards, "idmap_moved": firestore.DELETE_FIELD})
        return shards
