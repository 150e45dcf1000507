"""The connection's stored companies as one run needs them, read by need: the records of the
companies the company stream sees changed (by id), and for each chunk of contacts to map the
companies those contacts work for. Only a run that maps every contact anyway (a first or a
full run) reads them all, each once. A run that changes nothing reads none, and a webhook's
run only the companies of the contacts it names: the reads do not grow with the connection's
companies.

What this run changed (or removed) stays as the run left it, whatever the store answers
later: the store may be older (a dry run writes nothing)."""

from __future__ import annotations

import math
from collections.abc import Iterable

from sync.companies import companies_of
from sync.mapping import Company
from sync.ports import CompanyRecord, SyncState

# Reads `place` may spend before it asks how many companies are stored: a routine run's
# contacts cost fewer, and never pay for the count.
COUNT_AFTER = 50
# Contacts one query of the store takes (Firestore's `array_contains_any` limit).
QUERY_SIZE = 30


class StoredCompanies:
    """The stored company records this run knows, and who works where among them."""

    def __init__(self, state: SyncState, account: str) -> None:
        self._state = state
        self._account = account
        # Known companies: read, or changed by this run; None: not stored, or removed.
        self._records: dict[str, CompanyRecord | None] = {}
        # Each contact's companies among the known records (contact id → company ids).
        self._people: dict[str, set[str]] = {}
        # Contacts whose companies are all known.
        self._placed: set[str] = set()
        # Every stored company is known.
        self.complete = False
        # Reads spent on `place`, and how many companies are stored (counted once needed).
        self._spent = 0
        self._stored: int | None = None

    def load_all(self) -> None:
        """Know every stored company (a run that maps every contact, or looks for the
        companies Teamleader no longer lists)."""
        if self.complete:
            return
        for record in self._state.all_companies(self._account):
            self._learn(record)
        self.complete = True

    def load(self, company_ids: Iterable[str]) -> None:
        """Know these companies' stored records."""
        wanted = [cid for cid in dict.fromkeys(company_ids) if cid not in self._records]
        if self.complete or not wanted:
            return
        found = self._state.companies(self._account, wanted)
        for company_id in wanted:
            if company_id in found:
                self._learn(found[company_id])
            else:
                self._records[company_id] = None

    def place(self, contact_ids: Iterable[str]) -> None:
        """Know every company these contacts work for. Once that has cost as many reads as
        half the stored companies (a run catching up reads many contacts), every company is
        read instead: a company employing people of many chunks is read again for each."""
        wanted = [tid for tid in dict.fromkeys(contact_ids) if tid not in self._placed]
        if self.complete or not wanted:
            return
        if self._spent >= COUNT_AFTER:
            if self._stored is None:
                self._stored = self._state.count_companies(self._account)
            if self._spent >= self._stored // 2:
                self.load_all()
                return
        found = self._state.companies_of(self._account, wanted)
        # At least one read per query, as Firestore bills them.
        self._spent += len(found) + math.ceil(len(wanted) / QUERY_SIZE)
        for record in found.values():
            self._learn(record)
        self._placed.update(wanted)

    def get(self, company_id: str) -> CompanyRecord | None:
        """A known company's record (`load` it first); None when it has none."""
        return self._records.get(company_id)

    def ids(self) -> set[str]:
        """Every known company's id (every stored one's, after `load_all`)."""
        return {cid for cid, record in self._records.items() if record is not None}

    def records(self) -> list[CompanyRecord]:
        """Every known company's record, by id."""
        return [record for _, record in sorted(self._records.items()) if record is not None]

    def put(self, record: CompanyRecord) -> None:
        """This run read the company again: its record from now on."""
        self._set(record.company_id, record)

    def remove(self, company_id: str) -> None:
        """Teamleader no longer has the company."""
        self._set(company_id, None)

    def of(self, contact_id: str) -> tuple[Company, ...]:
        """A contact's companies (`place` it first), as its Google contact shows them."""
        records = (self._records[cid] for cid in self._people.get(contact_id, ()))
        return companies_of(contact_id, [r for r in records if r is not None])

    def _learn(self, record: CompanyRecord) -> None:
        if record.company_id not in self._records:
            self._set(record.company_id, record)

    def _set(self, company_id: str, record: CompanyRecord | None) -> None:
        old = self._records.get(company_id)
        for contact_id in old.contacts if old else ():
            self._people[contact_id].discard(company_id)
        self._records[company_id] = record
        for contact_id in record.contacts if record else ():
            self._people.setdefault(contact_id, set()).add(company_id)
