"""A run's view of its state store that passes every call to the real one: the base of the
views that change a few of them (`dry_run.ReadOnlyState`, `quiet_state.QuietState`)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from sync.ports import AccountState, Checkpoint, CompanyRecord, Entry, Intent, SyncState


class StateView:
    """Every read and write of `SyncState`, passed to `real`."""

    def __init__(self, real: SyncState) -> None:
        self._real = real

    def account_state(self, account: str) -> AccountState:
        return self._real.account_state(account)

    def entries(self, account: str, teamleader_ids: Iterable[str]) -> dict[str, Entry]:
        return self._real.entries(account, teamleader_ids)

    def all_entries(self, account: str) -> Iterator[Entry]:
        return self._real.all_entries(account)

    def intents(self, account: str) -> list[Intent]:
        return self._real.intents(account)

    def companies(self, account: str, company_ids: Iterable[str]) -> dict[str, CompanyRecord]:
        return self._real.companies(account, company_ids)

    def companies_of(self, account: str, contact_ids: Iterable[str]) -> dict[str, CompanyRecord]:
        return self._real.companies_of(account, contact_ids)

    def all_companies(self, account: str) -> Iterator[CompanyRecord]:
        return self._real.all_companies(account)

    def count_companies(self, account: str) -> int:
        return self._real.count_companies(account)

    def record_intent(self, account: str, intent: Intent) -> None:
        self._real.record_intent(account, intent)

    def commit(self, account: str, checkpoint: Checkpoint) -> None:
        self._real.commit(account, checkpoint)

    def commit_all(self, checkpoints: dict[str, Checkpoint]) -> None:
        self._real.commit_all(checkpoints)

    def save_report(self, account: str, report: dict[str, Any]) -> None:
        self._real.save_report(account, report)
