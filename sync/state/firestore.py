"""Firestore state: accounts/{account} with its id map's shards (`idmap_firestore`), its
companies' shards (`companies_firestore`), intents and runs below it.

A checkpoint is one batched write, so the id-map entries of a batch and the cursor that covers
them are stored together or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

from google.cloud import firestore

from sync.state.companies import CompanyRecord
from sync.state.companies_firestore import SHARDS as COMPANY_SHARDS
from sync.state.companies_firestore import ShardedCompanies
from sync.state.connections import AccountRecord
from sync.state.hints import HintKind, Hints
from sync.state.idmap import AccountState, Checkpoint, Entry, Intent
from sync.state.idmap_firestore import SHARDS, ShardedIdMap
from sync.state.leases_firestore import FirestoreLeases
from sync.state.page_firestore import FirestorePageStore

# The hint document saying more hints came than the cap (no Teamleader id holds "~").
OVERFLOW = "~overflow"


def _doc_id(teamleader_id: str) -> str:
    # Firestore ids cannot hold "/"; Teamleader's are UUIDs, but a stray one must not break paths.
    return teamleader_id.replace("%", "%25").replace("/", "%2F")


class FirestoreState(FirestorePageStore):
    """Sync state in Cloud Firestore (native mode), or its emulator."""

    def __init__(
        self,
        client: firestore.Client,
        root: str = "accounts",
        report_retention_days: int = 90,
        id_map_shards: int = SHARDS,
        company_shards: int = COMPANY_SHARDS,
    ) -> None:
        self._db = client
        self._root = root
        self._retention = timedelta(days=report_retention_days)
        self._id_map = ShardedIdMap(client, self._account, id_map_shards)
        self._leases = FirestoreLeases(client, root + "-leases")
        self._companies = ShardedCompanies(client, self._account, company_shards)

    def _account(self, account: str) -> Any:
        return self._db.collection(self._root).document(account)

    def account_state(self, account: str) -> AccountState:
        snapshot = self._account(account).get()
        data = snapshot.to_dict() or {}
        self._id_map.note(account, data)
        self._companies.note(account, data)
        return AccountState(data.get("cursor") or {}, data.get("group"), data.get("source_cursor"))

    def entries(self, account: str, teamleader_ids: Iterable[str]) -> dict[str, Entry]:
        return self._id_map.entries(account, teamleader_ids)

    def all_entries(self, account: str) -> Iterator[Entry]:
        return self._id_map.all_entries(account)

    def intents(self, account: str) -> list[Intent]:
        found = [
            Intent(s.id, s.get("sent_at"), dict(s.get("items")))
            for s in self._account(account).collection("intents").stream()
        ]
        return sorted(found, key=lambda i: i.sent_at)

    def companies(self, account: str, company_ids: Iterable[str]) -> dict[str, CompanyRecord]:
        return self._companies.companies(account, company_ids)

    def companies_of(self, account: str, contact_ids: Iterable[str]) -> dict[str, CompanyRecord]:
        return self._companies.companies_of(account, contact_ids)

    def all_companies(self, account: str) -> Iterator[CompanyRecord]:
        return self._companies.all_companies(account)

    def count_companies(self, account: str) -> int:
        return self._companies.count(account)

    def record_intent(self, account: str, intent: Intent) -> None:
        self._account(account).collection("intents").document(intent.batch_id).set(
            {"sent_at": intent.sent_at, "items": intent.items}
        )

    def commit(self, account: str, checkpoint: Checkpoint) -> None:
        self.commit_all({account: checkpoint})

    def commit_all(self, checkpoints: dict[str, Checkpoint]) -> None:
        batch = self._db.batch()
        for account, checkpoint in checkpoints.items():
            self._write(batch, account, checkpoint)
        batch.commit()

    def _write(self, batch: Any, account: str, checkpoint: Checkpoint) -> None:
        account_ref = self._account(account)
        self._id_map.write(batch, account, checkpoint.entries, checkpoint.removed)
        intents = account_ref.collection("intents")
        for batch_id in checkpoint.settled:
            batch.delete(intents.document(batch_id))
        for intent in checkpoint.new_intents:
            batch.set(intents.document(intent.batch_id), {"sent_at": intent.sent_at, "items": intent.items})
        self._companies.write(batch, account, checkpoint.companies, checkpoint.removed_companies)
        fields: dict[str, Any] = {}
        if checkpoint.cursor is not None:
            fields["cursor"] = checkpoint.cursor
        if checkpoint.group is not None:
            fields["group"] = checkpoint.group
        if checkpoint.source_cursor is not None:
            fields["source_cursor"] = checkpoint.source_cursor
        if fields:
            # Named fields are replaced whole (a cursor key dropped is gone), as in SQLite.
            batch.set(account_ref, fields, merge=list(fields))

    def save_report(self, account: str, report: dict[str, Any]) -> None:
        # Firestore's TTL policy on runs.expire_at (see infra/terraform) deletes old reports.
        expire_at = datetime.fromisoformat(report["finished"]) + self._retention
        self._account(account).collection("runs").document(report["run_id"]).set({**report, "expire_at": expire_at})

    def last_report(self, account: str) -> dict[str, Any] | None:
        query = (
            self._account(account)
            .collection("runs")
            .order_by("finished", direction=firestore.Query.DESCENDING)
            .limit(1)
        )
        for snapshot in query.stream():
            report: dict[str, Any] = snapshot.to_dict()
            report.pop("expire_at", None)
            return report
        return None

    def accounts(self) -> list[AccountRecord]:
        found = []
        for snapshot in self._db.collection(self._root).stream():
            record = (snapshot.to_dict() or {}).get("record")
            if record:
                found.append(AccountRecord.from_json(record))
        return sorted(found, key=lambda r: r.account_id)

    def account(self, account: str) -> AccountRecord | None:
        record = (self._account(account).get().to_dict() or {}).get("record")
        return AccountRecord.from_json(record) if record else None

    def webhook_digest(self, account: str) -> str | None:
        # Only the one field comes back, so a found record costs no more than a missing one.
        snapshot = self._account(account).get(field_paths=["record.webhook_token_sha256"])
        digest = ((snapshot.to_dict() or {}).get("record") or {}).get("webhook_token_sha256")
        return digest if isinstance(digest, str) else None

    def put_account(self, record: AccountRecord) -> None:
        self._account(record.account_id).set({"record": record.to_json()}, merge=True)

    def add_hint(self, account: str, kind: HintKind, teamleader_id: str, cap: int) -> None:
        hints = self._account(account).collection("hints")
        # Counted, then written: a burst may pass the cap by the requests in flight, no more.
        (result,) = hints.count().get()[0]
        if result.value >= cap:
            hints.document(OVERFLOW).set({"overflow": True})
            return
        hints.document(_doc_id(f"{kind}:{teamleader_id}")).set({"kind": kind, "teamleader_id": teamleader_id})

    def hints(self, account: str) -> Hints:
        contacts, companies, overflow = set(), set(), False
        for snapshot in self._account(account).collection("hints").stream():
            data = snapshot.to_dict() or {}
            if snapshot.id == OVERFLOW:
                overflow = True
            elif data.get("kind") == "contact":
                contacts.add(data["teamleader_id"])
            elif data.get("kind") == "company":
                companies.add(data["teamleader_id"])
        return Hints(frozenset(contacts), frozenset(companies), overflow)

    def clear_hints(self, account: str, taken: Hints) -> None:
        hints = self._account(account).collection("hints")
        names = [f"contact:{tid}" for tid in taken.contacts] + [f"company:{tid}" for tid in taken.companies]
        for start in range(0, len(names), 400):
            batch = self._db.batch()
            for name in names[start : start + 400]:
                batch.delete(hints.document(_doc_id(name)))
            batch.commit()
        if taken.overflow:
            hints.document(OVERFLOW).delete()

    def acquire_lease(self, account: str, holder: str, now: float, ttl: float) -> bool:
        return self._leases.acquire(account, holder, now, ttl)

    def renew_lease(self, account: str, holder: str, now: float, ttl: float) -> bool:
        return self._leases.renew(account, holder, now, ttl)

    def release_lease(self, account: str, holder: str) -> None:
        self._leases.release(account, holder)
