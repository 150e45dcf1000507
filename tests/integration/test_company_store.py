"""The state port's contract for a connection's stored companies, held by both adapters (SQLite,
and Firestore on the emulator, where companies are packed in shard documents): read by id, by
the contacts who work there (exactly those companies), all of them, counted; written and
removed in checkpoints."""

from __future__ import annotations

from itertools import count

from sync.state.companies import CompanyRecord
from sync.state.companies_firestore import SHARDS
from sync.state.idmap import Checkpoint
from sync.state.idmap_firestore import shard_of
from sync.state.port import StateStore


def sharing_a_shard(prefix: str) -> tuple[str, str]:
    """Two company ids that Firestore keeps in one shard (at a new key's shard count)."""
    seen: dict[str, str] = {}
    for n in count():
        company_id = f"{prefix}-{n}"
        shard = shard_of(company_id, SHARDS)
        if shard in seen:
            return seen[shard], company_id
        seen[shard] = company_id
    raise AssertionError("unreachable: the shards are finite")


def company(company_id: str, *people: str, name: str = "") -> CompanyRecord:
    return CompanyRecord(company_id, name or f"Company {company_id}", "+3293000000", {p: "" for p in people})


def ids(found: dict[str, CompanyRecord]) -> set[str]:
    return set(found)


def test_a_contact_who_leaves_one_of_two_companies_kept_together_still_finds_the_other(
    any_state: StateStore,
) -> None:
    first, second = sharing_a_shard("co")
    any_state.commit("a", Checkpoint(companies=[company(first, "x", "y"), company(second, "x")]))
    assert ids(any_state.companies_of("a", ["y"])) == {first}
    assert ids(any_state.companies_of("a", ["x"])) == {first, second}
    # x leaves the first company: the second still employs x, and is still found for x.
    any_state.commit("a", Checkpoint(companies=[company(first, "y", name="Renamed")]))
    assert ids(any_state.companies_of("a", ["x"])) == {second}
    assert any_state.companies("a", [first])[first] == company(first, "y", name="Renamed")
    any_state.commit("a", Checkpoint(removed_companies=[second]))
    assert any_state.companies_of("a", ["x"]) == {}
    assert ids(any_state.companies_of("a", ["x", "y"])) == {first}
    assert any_state.count_companies("a") == 1


def test_many_companies_read_by_id_by_their_people_and_all(any_state: StateStore) -> None:
    # More companies than Firestore's shards, so that shards hold several; people of many.
    stored = [company(f"c{n}", f"p{n}", f"p{n + 1}", "everyone") for n in range(700)]
    for start in range(0, len(stored), 100):
        any_state.commit("a", Checkpoint(companies=stored[start : start + 100]))
    assert any_state.count_companies("a") == 700
    assert sorted(any_state.all_companies("a"), key=lambda c: int(c.company_id[1:])) == stored
    assert any_state.companies("a", ["c5", "c699", "nowhere"]) == {"c5": stored[5], "c699": stored[699]}
    # 45 contacts: two queries' worth; p0 works for c0 only, p45 for c44 and c45.
    assert ids(any_state.companies_of("a", [f"p{n}" for n in range(46)])) == {f"c{n}" for n in range(46)}
    assert len(any_state.companies_of("a", ["everyone"])) == 700
    any_state.commit("a", Checkpoint(removed_companies=[f"c{n}" for n in range(0, 700, 2)]))
    assert any_state.count_companies("a") == 350
    assert ids(any_state.companies_of("a", ["p2", "p3"])) == {"c1", "c3"}
    assert any_state.companies("b", ["c1"]) == {} and any_state.count_companies("b") == 0


def test_awkward_company_ids_and_a_company_written_and_removed_at_once(any_state: StateStore) -> None:
    awkward = ["a/b", "dots.in.it", "back`tick", "100%", "spaces in it", "ünïcode"]
    any_state.commit("a", Checkpoint(companies=[company(cid, f"p-{cid}") for cid in awkward]))
    assert ids(any_state.companies("a", awkward)) == set(awkward)
    assert ids(any_state.companies_of("a", [f"p-{cid}" for cid in awkward])) == set(awkward)
    # Removed wins over written in one checkpoint, as a company deleted after it was read.
    any_state.commit("a", Checkpoint(companies=[company("dots.in.it", "q")], removed_companies=["dots.in.it"]))
    any_state.commit("a", Checkpoint(companies=[company("back`tick", "q")]))
    assert ids(any_state.companies_of("a", ["q", "p-dots.in.it", "p-back`tick"])) == {"back`tick"}
    assert any_state.count_companies("a") == len(awkward) - 1
