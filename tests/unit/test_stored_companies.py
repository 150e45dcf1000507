"""The stored companies as a run reads them: by need, what the run changed winning over what
the store says, and every company once when reading them by contact would cost more."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from sync.engine.stored_companies import COUNT_AFTER, QUERY_SIZE, StoredCompanies
from sync.ports import Checkpoint, CompanyRecord
from sync.state.sqlite import SqliteState


class CountingState(SqliteState):
    """SQLite state in memory that counts the company records it hands out."""

    def __init__(self) -> None:
        super().__init__(":memory:")
        self.handed = 0

    def companies(self, account: str, company_ids: Iterable[str]) -> dict[str, CompanyRecord]:
        found = super().companies(account, company_ids)
        self.handed += len(found)
        return found

    def companies_of(self, account: str, contact_ids: Iterable[str]) -> dict[str, CompanyRecord]:
        found = super().companies_of(account, contact_ids)
        self.handed += len(found)
        return found

    def all_companies(self, account: str) -> Iterator[CompanyRecord]:
        for record in super().all_companies(account):
            self.handed += 1
            yield record


def stored(*records: CompanyRecord) -> CountingState:
    state = CountingState()
    state.commit("acme", Checkpoint(companies=list(records)))
    return state


def test_a_contact_gets_its_companies_and_no_others() -> None:
    state = stored(
        CompanyRecord("b", "Bakkerij", contacts={"c-1": "Baker", "c-2": ""}),
        CompanyRecord("a", "Atelier", contacts={"c-1": ""}),
        CompanyRecord("z", "Zaak", contacts={"c-3": ""}),
    )
    companies = StoredCompanies(state, "acme")
    companies.place(["c-1"])
    assert [(c.name, c.title) for c in companies.of("c-1")] == [("Atelier", None), ("Bakkerij", "Baker")]
    assert state.handed == 2, "the one company c-1 does not work for is not read"
    companies.place(["c-1"])
    assert state.handed == 2, "a contact placed once is not looked up again"


def test_what_the_run_changed_wins_over_the_store() -> None:
    """A dry run stores nothing: the store still has the company as it was."""
    state = stored(CompanyRecord("a", "Oud", contacts={"c-1": ""}), CompanyRecord("b", "Weg", contacts={"c-1": ""}))
    companies = StoredCompanies(state, "acme")
    companies.load(["a", "b"])
    companies.put(CompanyRecord("a", "Nieuw", contacts={"c-1": "CEO", "c-2": ""}))
    companies.remove("b")
    companies.place(["c-1", "c-2"])
    assert [c.name for c in companies.of("c-1")] == ["Nieuw"]
    assert [c.name for c in companies.of("c-2")] == ["Nieuw"]
    assert companies.get("b") is None and companies.ids() == {"a"}


def test_a_run_mapping_many_contacts_reads_every_company_once_instead() -> None:
    """Ten companies, each employing a tenth of 600 contacts: every query of 30 contacts
    finds all ten, so reading them chunk after chunk would read each of them 20 times."""
    people = [f"c-{n}" for n in range(600)]
    records = [CompanyRecord(f"co-{k}", f"Company {k}", contacts={p: "" for p in people[k::10]}) for k in range(10)]
    state = stored(*records)
    companies = StoredCompanies(state, "acme")
    for start in range(0, len(people), QUERY_SIZE):
        companies.place(people[start : start + QUERY_SIZE])
    assert companies.complete
    # What was spent before the switch, one query more, and each company once.
    assert state.handed <= COUNT_AFTER + 10 + 10
    assert all(len(companies.of(p)) == 1 for p in people)
