"""The guard against mass deletion. A scope that suddenly matches nothing (tags renamed in
Teamleader, a mistyped `--tags`) or a connection to the wrong Teamleader account would make
an ordinary run delete every synced contact from Google; the guard stops such a run before it
deletes more than a share of them, and a person decides."""

from __future__ import annotations

from collections.abc import Callable

from sync.engine.decide import Decision, Delete

# Deletions a run may always make, however small the account.
DELETION_FLOOR = 25


class MassDeletionError(Exception):
    """The run was about to delete more than its share of the account's persons."""

    def __init__(self, limit: int, persons: int) -> None:
        super().__init__(f"more than {limit} of {persons} persons")
        self.limit = limit
        self.persons = persons


class DeletionGuard:
    """Admits deletions until they pass `share` of the persons the account had in Google
    (never fewer than DELETION_FLOOR); `share` None admits every deletion."""

    def __init__(self, share: float | None, count_persons: Callable[[], int]) -> None:
        self._share = share
        self._count_persons = count_persons
        self._deletions = 0
        self._limit: int | None = None
        self._persons = 0

    def admit(self, decision: Decision) -> None:
        """Count a deletion; raise MassDeletionError instead of admitting one too many."""
        if not isinstance(decision, Delete) or self._share is None:
            return
        self._deletions += 1
        if self._deletions <= DELETION_FLOOR:
            return
        if self._limit is None:
            # Counted once, and only in a run that deletes more than a few.
            self._persons = self._count_persons()
            self._limit = max(DELETION_FLOOR, int(self._share * self._persons))
        if self._deletions > self._limit:
            raise MassDeletionError(self._limit, self._persons)
