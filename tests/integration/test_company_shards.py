"""Firestore's companies in shards (`sync.state.companies_firestore`), on the emulator:
companies stored one document each before are moved on the first touch of their key, whole
even across a crash; a mover that lost a race never writes back what it read; and a write
whose shard changed since it was read is refused rather than leave the shard's people short."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from google.api_core import exceptions as gexc
from google.cloud import firestore

from sync.state import companies_firestore
from sync.state.companies import CompanyRecord
from sync.state.companies_firestore import MARK, PEOPLE, Shard
from sync.state.firestore import FirestoreState
from sync.state.idmap import Checkpoint
from sync.state.idmap_firestore import shard_of
from tests.conftest import EMULATOR_PROJECT
from tests.integration.test_company_store import company
from tests.integration.test_idmap_shards import before_the_first_batch, crash_at_the_second_batch


@pytest.fixture
def client(firestore_emulator: str) -> Iterator[firestore.Client]:
    db = firestore.Client(project=EMULATOR_PROJECT)
    yield db
    db.close()


@pytest.fixture
def root() -> str:
    return f"accounts-{uuid.uuid4().hex[:8]}"


def store_the_old_way(db: firestore.Client, root: str, companies: list[CompanyRecord]) -> None:
    """Companies as the state kept them before shards: `{root}/acme/companies/{id}`, one each,
    with their people's ids; and the key's own document (its bookmarks)."""
    legacy = db.collection(root).document("acme").collection("companies")
    for start in range(0, len(companies), 400):
        batch = db.batch()
        for record in companies[start : start + 400]:
            document = {"company_id": record.company_id, **record.to_json(), "contact_ids": sorted(record.contacts)}
            batch.set(legacy.document(record.company_id), document)
        batch.commit()
    db.collection(root).document("acme").set({"source_cursor": {"companies": "2026-01-01T00:00:00+00:00"}})


def old_companies(n: int) -> list[CompanyRecord]:
    return [company(f"c{i:04d}", f"p{i}", "everyone") for i in range(n)]


def left_over(db: firestore.Client, root: str) -> int:
    return sum(1 for _ in db.collection(root).document("acme").collection("companies").stream())


def test_companies_stored_one_a_document_are_moved_into_shards_on_first_touch(
    client: firestore.Client, root: str
) -> None:
    old = old_companies(451)
    store_the_old_way(client, root, old)
    state = FirestoreState(client, root=root, company_shards=16)
    assert state.count_companies("acme") == 451
    assert sorted(state.all_companies("acme"), key=lambda c: c.company_id) == old
    assert left_over(client, root) == 0
    stored = client.collection(root).document("acme").get().to_dict() or {}
    assert stored[MARK] == 16 and stored["source_cursor"] == {"companies": "2026-01-01T00:00:00+00:00"}
    assert len(list(client.collection(root).document("acme").collection("company_shards").stream())) == 16
    # Another process, a release later: the key's own count holds, whatever the default.
    later = FirestoreState(client, root=root, company_shards=64)
    assert set(later.companies_of("acme", ["p7", "p450", "nobody"])) == {"c0007", "c0450"}
    later.commit("acme", Checkpoint(companies=[company("c0007", "p8")], removed_companies=["c0450"]))
    assert set(state.companies_of("acme", ["p7", "p8", "p450"])) == {"c0007", "c0008"}


def test_a_move_cut_short_by_a_crash_is_finished_by_the_next_touch(
    client: firestore.Client, root: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = old_companies(50)
    store_the_old_way(client, root, old)
    monkeypatch.setattr(companies_firestore, "MOVE_CHUNK", 20)
    crashing = FirestoreState(client, root=root, company_shards=4)
    crash_at_the_second_batch(monkeypatch, crashing._companies)
    with pytest.raises(SystemExit):
        crashing.companies("acme", ["c0001"])
    assert left_over(client, root) == 30
    # The next touch moves the rest into the shards the first batch wrote, keeping theirs.
    after = FirestoreState(client, root=root, company_shards=4)
    assert sorted(after.all_companies("acme"), key=lambda c: c.company_id) == old
    assert set(after.companies_of("acme", ["p0", "p49"])) == {"c0000", "c0049"}
    assert left_over(client, root) == 0 and after.count_companies("acme") == 50


def test_a_mover_that_lost_the_race_never_writes_back_what_it_read(
    client: firestore.Client, root: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_the_old_way(client, root, old_companies(10))
    run = FirestoreState(client, root=root, company_shards=4)
    late = FirestoreState(client, root=root, company_shards=4)
    # The late mover has read the old documents; meanwhile a run moves them and changes c3.
    before_the_first_batch(
        monkeypatch, late._companies, lambda: run.commit("acme", Checkpoint(companies=[company("c0003", "p-new")]))
    )
    assert late.companies("acme", ["c0003"]) == {"c0003": company("c0003", "p-new")}
    assert set(late.companies_of("acme", ["p3", "p-new"])) == {"c0003"}
    assert late.companies_of("acme", ["p3"]) == {}


def test_a_write_whose_shard_changed_since_it_was_read_is_refused(
    client: firestore.Client, root: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two writers of one connection's companies (a run that lost its lease and the next one):
    the shard's people written from a stale read would drop the other's contacts."""
    stale = FirestoreState(client, root=root, company_shards=1)
    current = FirestoreState(client, root=root, company_shards=1)
    stale.commit("acme", Checkpoint(companies=[company("first", "a")]))
    original = stale._companies._read

    def another_writer_meanwhile(account: str, names: set[str]) -> dict[str, Shard]:
        read = original(account, names)
        current.commit("acme", Checkpoint(companies=[company("second", "b")]))
        return read

    monkeypatch.setattr(stale._companies, "_read", another_writer_meanwhile)
    with pytest.raises(gexc.FailedPrecondition):
        stale.commit("acme", Checkpoint(companies=[company("first", "a", "c")]))
    assert set(current.companies_of("acme", ["b"])) == {"second"}
    shard = client.collection(root).document("acme").collection("company_shards").document(shard_of("first", 1))
    assert (shard.get().to_dict() or {})[PEOPLE] == ["a", "b"]
