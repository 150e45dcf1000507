"""The state port's contract, held by both adapters (SQLite, and Firestore on the emulator)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sync.state.idmap import Checkpoint, Entry, Intent
from sync.state.port import StateStore


def test_checkpoint_writes_entries_intents_and_cursor_together(any_state: StateStore) -> None:
    assert any_state.account_state("a").cursor == {}
    any_state.record_intent("a", Intent("b1", 100.0, {"t1": "h1", "t2": "h2"}))
    assert any_state.intents("a") == [Intent("b1", 100.0, {"t1": "h1", "t2": "h2"})]
    any_state.commit(
        "a",
        Checkpoint(
            entries=[Entry("t1", "synced", "h1", "people/c1", "e1"), Entry("t2", "failed", "h2", reason="too long")],
            settled=["b1"],
            cursor={"contacts": "2026-01-01T00:00:00+00:00"},
            group="contactGroups/abc",
        ),
    )
    assert any_state.intents("a") == []
    state = any_state.account_state("a")
    assert state.cursor == {"contacts": "2026-01-01T00:00:00+00:00"} and state.group == "contactGroups/abc"
    found = any_state.entries("a", ["t1", "t2", "t3"])
    assert found["t1"] == Entry("t1", "synced", "h1", "people/c1", "e1")
    assert found["t2"].reason == "too long" and "t3" not in found
    any_state.commit("a", Checkpoint(removed=["t1"], cursor={"contacts": "2026-02-01T00:00:00+00:00"}))
    assert set(any_state.entries("a", ["t1", "t2"])) == {"t2"}
    assert any_state.account_state("a").group == "contactGroups/abc"


def test_accounts_are_kept_apart(any_state: StateStore) -> None:
    any_state.commit("a", Checkpoint(entries=[Entry("t1", "skipped", reason="no first name")]))
    assert any_state.entries("b", ["t1"]) == {}
    assert [e.teamleader_id for e in any_state.all_entries("a")] == ["t1"]


def test_many_entries_and_awkward_ids(any_state: StateStore) -> None:
    entries = [Entry(f"id-{i}", "skipped", reason="no last name") for i in range(650)]
    entries.append(Entry("odd/id%", "skipped", reason="x"))
    any_state.commit("a", Checkpoint(entries=entries))
    assert len(any_state.entries("a", [e.teamleader_id for e in entries])) == 651
    assert sum(1 for _ in any_state.all_entries("a")) == 651


def test_reports_keep_the_latest(any_state: StateStore) -> None:
    any_state.save_report("a", {"run_id": "r1", "finished": "2026-01-01T00:00:00+00:00", "status": "ok"})
    any_state.save_report("a", {"run_id": "r2", "finished": "2026-01-02T00:00:00+00:00", "status": "partial"})
    assert (any_state.last_report("a") or {})["run_id"] == "r2"
    assert any_state.last_report("b") is None


def test_intent_replaced_in_one_commit(any_state: StateStore) -> None:
    any_state.record_intent("a", Intent("b1", 5.0, {"t1": "h1", "t2": "h2"}))
    any_state.commit("a", Checkpoint(settled=["b1"], new_intents=[Intent("b2", 5.0, {"t2": "h2"})]))
    assert any_state.intents("a") == [Intent("b2", 5.0, {"t2": "h2"})]


def test_a_lease_is_renewed_by_its_holder_only(any_state: StateStore) -> None:
    assert any_state.acquire_lease("a", "first", now=100.0, ttl=10.0)
    assert not any_state.acquire_lease("a", "second", now=105.0, ttl=10.0)
    assert any_state.renew_lease("a", "first", now=108.0, ttl=10.0)
    # Renewed until 118: at 115 it is still held, at 119 it has lapsed and can be taken.
    assert not any_state.acquire_lease("a", "second", now=115.0, ttl=10.0)
    assert any_state.acquire_lease("a", "second", now=119.0, ttl=10.0)
    assert not any_state.renew_lease("a", "first", now=120.0, ttl=10.0), "a lost lease must not come back"
    assert any_state.renew_lease("a", "second", now=120.0, ttl=10.0)
    any_state.release_lease("a", "first")  # not its lease any more: nothing happens
    assert not any_state.acquire_lease("a", "third", now=121.0, ttl=10.0)
    any_state.release_lease("a", "second")
    assert not any_state.renew_lease("a", "second", now=122.0, ttl=10.0)
    assert any_state.acquire_lease("a", "third", now=122.0, ttl=10.0)


def test_of_runs_taking_a_lapsed_lease_at_once_one_gets_it(any_state: StateStore) -> None:
    assert any_state.acquire_lease("lapsed", "a-crashed-run", now=100.0, ttl=10.0)
    with ThreadPoolExecutor(8) as pool:
        taken = list(pool.map(lambda n: any_state.acquire_lease("lapsed", f"run-{n}", now=200.0, ttl=60.0), range(8)))
    assert taken.count(True) == 1, taken
