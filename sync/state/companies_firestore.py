"""A connection's stored companies in Firestore, packed into a bounded number of shard
documents: `accounts/{key}/company_shards/{shard}`, each company a field of its shard's
`companies` map (exempt from indexing, infra/terraform), the id map's stable hash
(`idmap_firestore.shard_of`) of its id choosing the shard. A full run reads the shards (at most
`SHARDS` documents, however many companies); reading named companies reads the shards they
hash to.

Who works where: each shard also keeps `people`, an indexed array of every contact of its
companies, so one `array_contains_any` query per 30 contacts finds the shards of the companies
they work for, and the companies in them are then picked exactly. The array is always written
from the shard's whole content (read first; the write holds only if the shard is still as
read): a contact who leaves one company of a shard stays in it for another company there, and
none is ever missing, which would map a contact without its company.

Sizes: a company takes about 1 KB with a few people (a few KB with many), so at 512 shards a
shard of a 50,000-company connection holds about 100 companies, 100 to 300 KB, under
Firestore's 1 MiB; at 2,500 companies about 5. A key keeps the count it was marked with.

Companies stored before (one document each in `accounts/{key}/companies`) are moved on the
first touch of the key (`moves_firestore`), a chunk at a time with their old documents deleted
in the same guarded batch: a crash leaves the rest for the next touch.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter
from google.cloud.firestore_v1.field_path import FieldPath

from sync.state.companies import CompanyRecord
from sync.state.idmap_firestore import GET_ALL_CHUNK, shard_of
from sync.state.moves_firestore import ShardedKeys

# Shards of a new key's companies (see the sizes above).
SHARDS = 512
# The key document's field naming its companies' shard count: they are in shards.
MARK = "company_shards"
COLLECTION = "company_shards"
# The shard's map of its companies (exempt from indexing), its people, how many companies.
FIELD = "companies"
PEOPLE = "people"
COUNT = "count"
LEGACY = "companies"
# Values one `array_contains_any` filter may hold (Firestore's limit).
ANY_OF = 30
# Old companies moved per batch: their deletes, their shards' writes and the guard stay
# under Firestore's 500 writes a batch.
MOVE_CHUNK = 200


@dataclass
class Shard:
    """A shard's companies (id → stored record) as read; `read_at` None: it did not exist."""

    companies: dict[str, dict[str, Any]]
    read_at: datetime | None


def people_of(companies: dict[str, dict[str, Any]]) -> list[str]:
    """A shard's `people`: every contact of every company in it."""
    return sorted({contact for record in companies.values() for contact in record.get("contacts") or {}})


def _document(companies: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A whole shard holding these companies."""
    return {FIELD: companies, PEOPLE: people_of(companies), COUNT: len(companies)}


def _records(snapshot: Any) -> Iterator[CompanyRecord]:
    for company_id, data in ((snapshot.to_dict() or {}).get(FIELD) or {}).items():
        yield CompanyRecord.from_json(company_id, data)


class ShardedCompanies(ShardedKeys):
    """The companies of every key under one root; `key_ref` names a key's document."""

    mark = MARK
    what = "companies"

    def __init__(self, db: firestore.Client, key_ref: Callable[[str], Any], shards: int = SHARDS) -> None:
        super().__init__(db, key_ref, shards)

    def _collection(self, account: str) -> Any:
        return self._key_ref(account).collection(COLLECTION)

    def companies(self, account: str, company_ids: Iterable[str]) -> dict[str, CompanyRecord]:
        """The stored records of these companies, reading each shard they reach once."""
        shards = self._shards(account)
        wanted = set(company_ids)
        by_shard = self._read(account, {shard_of(cid, shards) for cid in wanted})
        return {
            cid: CompanyRecord.from_json(cid, shard.companies[cid])
            for shard in by_shard.values()
            for cid in wanted & shard.companies.keys()
        }

    def companies_of(self, account: str, contact_ids: Iterable[str]) -> dict[str, CompanyRecord]:
        """The records of the companies these contacts work for: one query per 30 contacts
        reads the shards holding them, and only their companies are kept."""
        self._shards(account)
        ids = sorted(set(contact_ids))
        wanted, found = set(ids), {}
        for start in range(0, len(ids), ANY_OF):
            query = self._collection(account).where(
                filter=FieldFilter(PEOPLE, "array_contains_any", ids[start : start + ANY_OF])
            )
            for snapshot in query.stream():
                found.update({r.company_id: r for r in _records(snapshot) if wanted & r.contacts.keys()})
        return found

    def all_companies(self, account: str) -> Iterator[CompanyRecord]:
        """Every stored company: one read per shard."""
        self._shards(account)
        for snapshot in self._collection(account).stream():
            yield from _records(snapshot)

    def count(self, account: str) -> int:
        """How many companies are stored: a sum over the shards' counts, not a read of them."""
        self._shards(account)
        (result,) = self._collection(account).sum(COUNT).get()[0]
        return int(result.value)

    def write(self, batch: Any, account: str, companies: list[CompanyRecord], removed: list[str]) -> None:
        """Add to `batch` the companies written and removed: one write per shard they touch,
        each company replaced whole at its field path and the shard's people and count
        written from its whole content, the write holding only if the shard is as read."""
        if not companies and not removed:
            return
        shards = self._shards(account)
        changes: dict[str, dict[str, dict[str, Any] | None]] = defaultdict(dict)
        for company in companies:
            changes[shard_of(company.company_id, shards)][company.company_id] = company.to_json()
        for company_id in removed:
            # After the records, as SQLite deletes after it inserts: removed wins.
            changes[shard_of(company_id, shards)][company_id] = None
        stored = self._read(account, set(changes))
        for name, changed in changes.items():
            shard = stored[name]
            content = {cid: record for cid, record in {**shard.companies, **changed}.items() if record is not None}
            ref = self._collection(account).document(name)
            if shard.read_at is None:
                if content:
                    batch.create(ref, _document(content))
                continue
            fields: dict[str, Any] = {
                FieldPath(FIELD, cid).to_api_repr(): firestore.DELETE_FIELD if record is None else record
                for cid, record in changed.items()
            }
            fields.update({PEOPLE: people_of(content), COUNT: len(content)})
            batch.update(ref, fields, option=self._db.write_option(last_update_time=shard.read_at))

    def _read(self, account: str, names: set[str]) -> dict[str, Shard]:
        """These shards as stored (an absent one empty), each read once."""
        found = {name: Shard({}, None) for name in names}
        ordered = sorted(names)
        for start in range(0, len(ordered), GET_ALL_CHUNK):
            refs = [self._collection(account).document(name) for name in ordered[start : start + GET_ALL_CHUNK]]
            for snapshot in self._db.get_all(refs):
                if snapshot.exists:
                    found[snapshot.id] = Shard((snapshot.to_dict() or {}).get(FIELD) or {}, snapshot.update_time)
        return found

    def _move_from(self, account: str, seen: datetime | None) -> int:
        """Move the key's old company documents into shards and mark it (`moves_firestore`):
        shards a mover cut short wrote before keep their companies."""
        shards = self._new_shards
        legacy = self._key_ref(account).collection(LEGACY).stream()
        old = [(s.reference, CompanyRecord.from_json(s.get("company_id"), s.to_dict() or {})) for s in legacy]
        contents = {s.id: (s.to_dict() or {}).get(FIELD) or {} for s in self._collection(account).stream()}
        for start in range(0, len(old), MOVE_CHUNK):
            chunk = old[start : start + MOVE_CHUNK]
            batch = self._db.batch()
            touched = set()
            for reference, record in chunk:
                name = shard_of(record.company_id, shards)
                contents.setdefault(name, {})[record.company_id] = record.to_json()
                touched.add(name)
                batch.delete(reference)
            for name in touched:
                batch.set(self._collection(account).document(name), _document(contents[name]))
            seen = self._guard(batch, account, seen, {"companies_moved": start + len(chunk)})
        self._guard(self._db.batch(), account, seen, {MARK: shards, "companies_moved": firestore.DELETE_FIELD})
        return shards
