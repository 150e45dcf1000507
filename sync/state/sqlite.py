"""SQLite state: the embedded default for running on one machine."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sync.state.companies import CompanyRecord
from sync.state.connections import AccountRecord
from sync.state.hints import HintKind, Hints
from sync.state.idmap import AccountState, Checkpoint, Entry, Intent
from sync.state.page_sqlite import SqlitePageStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (account TEXT PRIMARY KEY, cursor TEXT NOT NULL DEFAULT '{}', grp TEXT);
CREATE TABLE IF NOT EXISTS entries (
    account TEXT NOT NULL, teamleader_id TEXT NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (account, teamleader_id));
CREATE TABLE IF NOT EXISTS intents (
    account TEXT NOT NULL, batch_id TEXT NOT NULL, sent_at REAL NOT NULL, items TEXT NOT NULL,
    PRIMARY KEY (account, batch_id));
CREATE TABLE IF NOT EXISTS companies (
    account TEXT NOT NULL, company_id TEXT NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (account, company_id));
CREATE TABLE IF NOT EXISTS company_people (
    account TEXT NOT NULL, contact_id TEXT NOT NULL, company_id TEXT NOT NULL,
    PRIMARY KEY (account, contact_id, company_id));
CREATE INDEX IF NOT EXISTS company_people_by_company ON company_people (account, company_id);
CREATE TABLE IF NOT EXISTS registry (account TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS hints (
    account TEXT NOT NULL, kind TEXT NOT NULL, teamleader_id TEXT NOT NULL,
    PRIMARY KEY (account, kind, teamleader_id));
CREATE TABLE IF NOT EXISTS hint_overflow (account TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS leases (account TEXT PRIMARY KEY, holder TEXT NOT NULL, expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS reports (
    account TEXT NOT NULL, run_id TEXT NOT NULL, finished TEXT NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (account, run_id));
"""


def _private_file(path: Path) -> None:
    """Create the state file readable by its owner alone (SQLite gives its -wal and -shm files
    the database's mode), and make one made before this rule so, with its companions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        if name.exists():
            name.chmod(0o600)


class SqliteState(SqlitePageStore):
    """All accounts' state in one SQLite file; every checkpoint is one transaction."""

    def __init__(self, path: str | Path, report_retention_days: int = 90) -> None:
        self._retention = timedelta(days=report_retention_days)
        if str(path) != ":memory:":
            _private_file(Path(path))
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(accounts)")}
        if "source" not in columns:
            # Files written before connections kept the Teamleader bookmarks apart.
            self._db.execute("ALTER TABLE accounts ADD COLUMN source TEXT")
        # One connection, shared by a run's destinations (each writes from its own thread).
        self._lock = threading.RLock()

    def _read(self, sql: str, parameters: tuple[Any, ...] = ()) -> list[Any]:
        with self._lock:
            return self._db.execute(sql, parameters).fetchall()

    def account_state(self, account: str) -> AccountState:
        rows = self._read("SELECT cursor, grp, source FROM accounts WHERE account = ?", (account,))
        if not rows:
            return AccountState()
        cursor, group, source = rows[0]
        return AccountState(json.loads(cursor), group, json.loads(source) if source else None)

    def _in_chunks(self, sql: str, account: str, ids: Iterable[str]) -> Iterator[tuple[str, dict[str, Any]]]:
        """The (id, data) rows `sql` answers for the account and these ids, a chunk of ids at a
        time (`sql` holds `{marks}` where the chunk's placeholders go)."""
        ids = list(dict.fromkeys(ids))
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            for key, data in self._read(sql.format(marks=",".join("?" * len(chunk))), (account, *chunk)):
                yield key, json.loads(data)

    def entries(self, account: str, teamleader_ids: Iterable[str]) -> dict[str, Entry]:
        sql = "SELECT teamleader_id, data FROM entries WHERE account = ? AND teamleader_id IN ({marks})"
        return {tid: Entry.from_json(tid, data) for tid, data in self._in_chunks(sql, account, teamleader_ids)}

    def all_entries(self, account: str) -> Iterator[Entry]:
        rows = self._read("SELECT teamleader_id, data FROM entries WHERE account = ?", (account,))
        for tid, data in rows:
            yield Entry.from_json(tid, json.loads(data))

    def intents(self, account: str) -> list[Intent]:
        rows = self._read("SELECT batch_id, sent_at, items FROM intents WHERE account = ? ORDER BY sent_at", (account,))
        return [Intent(b, s, json.loads(i)) for b, s, i in rows]

    def companies(self, account: str, company_ids: Iterable[str]) -> dict[str, CompanyRecord]:
        sql = "SELECT company_id, data FROM companies WHERE account = ? AND company_id IN ({marks})"
        return {cid: CompanyRecord.from_json(cid, data) for cid, data in self._in_chunks(sql, account, company_ids)}

    def companies_of(self, account: str, contact_ids: Iterable[str]) -> dict[str, CompanyRecord]:
        sql = (
            "SELECT DISTINCT c.company_id, c.data FROM company_people p JOIN companies c "
            "ON c.account = p.account AND c.company_id = p.company_id "
            "WHERE p.account = ? AND p.contact_id IN ({marks})"
        )
        return {cid: CompanyRecord.from_json(cid, data) for cid, data in self._in_chunks(sql, account, contact_ids)}

    def all_companies(self, account: str) -> Iterator[CompanyRecord]:
        rows = self._read("SELECT company_id, data FROM companies WHERE account = ?", (account,))
        return (CompanyRecord.from_json(cid, json.loads(data)) for cid, data in rows)

    def count_companies(self, account: str) -> int:
        ((count,),) = self._read("SELECT COUNT(*) FROM companies WHERE account = ?", (account,))
        return int(count)

    def record_intent(self, account: str, intent: Intent) -> None:
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._insert_intent(account, intent)

    def _insert_intent(self, account: str, intent: Intent) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO intents VALUES (?, ?, ?, ?)",
            (account, intent.batch_id, intent.sent_at, json.dumps(intent.items)),
        )

    def commit(self, account: str, checkpoint: Checkpoint) -> None:
        self.commit_all({account: checkpoint})

    def commit_all(self, checkpoints: dict[str, Checkpoint]) -> None:
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            for account, checkpoint in checkpoints.items():
                self._write(account, checkpoint)

    def _write(self, account: str, checkpoint: Checkpoint) -> None:
        self._db.executemany(
            "INSERT OR REPLACE INTO entries VALUES (?, ?, ?)",
            [(account, e.teamleader_id, json.dumps(e.to_json())) for e in checkpoint.entries],
        )
        self._db.executemany(
            "DELETE FROM entries WHERE account = ? AND teamleader_id = ?",
            [(account, tid) for tid in checkpoint.removed],
        )
        self._db.executemany(
            "DELETE FROM intents WHERE account = ? AND batch_id = ?", [(account, b) for b in checkpoint.settled]
        )
        for intent in checkpoint.new_intents:
            self._insert_intent(account, intent)
        self._db.executemany(
            "INSERT OR REPLACE INTO companies VALUES (?, ?, ?)",
            [(account, c.company_id, json.dumps(c.to_json())) for c in checkpoint.companies],
        )
        # Who works where, for `companies_of`: replaced with each company's record (its last
        # one, as the companies table keeps).
        latest = {c.company_id: c for c in checkpoint.companies}
        touched = [*latest, *checkpoint.removed_companies]
        self._db.executemany(
            "DELETE FROM company_people WHERE account = ? AND company_id = ?", [(account, cid) for cid in touched]
        )
        self._db.executemany(
            "INSERT INTO company_people VALUES (?, ?, ?)",
            [(account, tid, c.company_id) for c in latest.values() for tid in c.contacts],
        )
        self._db.executemany(
            "DELETE FROM companies WHERE account = ? AND company_id = ?",
            [(account, cid) for cid in checkpoint.removed_companies],
        )
        if checkpoint.cursor is None and checkpoint.group is None and checkpoint.source_cursor is None:
            return
        current = self.account_state(account)
        cursor = checkpoint.cursor if checkpoint.cursor is not None else current.cursor
        source = checkpoint.source_cursor if checkpoint.source_cursor is not None else current.source_cursor
        self._db.execute(
            "INSERT OR REPLACE INTO accounts (account, cursor, grp, source) VALUES (?, ?, ?, ?)",
            (account, json.dumps(cursor), checkpoint.group or current.group, json.dumps(source) if source else None),
        )

    def save_report(self, account: str, report: dict[str, Any]) -> None:
        with self._lock, self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO reports VALUES (?, ?, ?, ?)",
                (account, report["run_id"], report["finished"], json.dumps(report)),
            )
            oldest = (datetime.fromisoformat(report["finished"]) - self._retention).isoformat()
            self._db.execute("DELETE FROM reports WHERE account = ? AND finished < ?", (account, oldest))

    def last_report(self, account: str) -> dict[str, Any] | None:
        rows = self._read("SELECT data FROM reports WHERE account = ? ORDER BY finished DESC LIMIT 1", (account,))
        return json.loads(rows[0][0]) if rows else None

    def accounts(self) -> list[AccountRecord]:
        rows = self._read("SELECT data FROM registry ORDER BY account")
        return [AccountRecord.from_json(json.loads(data)) for (data,) in rows]

    def account(self, account: str) -> AccountRecord | None:
        rows = self._read("SELECT data FROM registry WHERE account = ?", (account,))
        return AccountRecord.from_json(json.loads(rows[0][0])) if rows else None

    def webhook_digest(self, account: str) -> str | None:
        rows = self._read(
            "SELECT json_extract(data, '$.webhook_token_sha256') FROM registry WHERE account = ?", (account,)
        )
        return str(rows[0][0]) if rows and rows[0][0] is not None else None

    def put_account(self, record: AccountRecord) -> None:
        with self._lock, self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO registry VALUES (?, ?)", (record.account_id, json.dumps(record.to_json()))
            )

    def add_hint(self, account: str, kind: HintKind, teamleader_id: str, cap: int) -> None:
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            (count,) = self._db.execute("SELECT COUNT(*) FROM hints WHERE account = ?", (account,)).fetchone()
            if count >= cap:
                self._db.execute("INSERT OR IGNORE INTO hint_overflow VALUES (?)", (account,))
                return
            self._db.execute("INSERT OR IGNORE INTO hints VALUES (?, ?, ?)", (account, kind, teamleader_id))

    def hints(self, account: str) -> Hints:
        rows = self._read("SELECT kind, teamleader_id FROM hints WHERE account = ?", (account,))
        overflow = bool(self._read("SELECT 1 FROM hint_overflow WHERE account = ?", (account,)))
        contacts = frozenset(tid for kind, tid in rows if kind == "contact")
        companies = frozenset(tid for kind, tid in rows if kind == "company")
        return Hints(contacts, companies, overflow)

    def clear_hints(self, account: str, taken: Hints) -> None:
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            taken_rows = [("contact", tid) for tid in taken.contacts] + [("company", tid) for tid in taken.companies]
            self._db.executemany(
                "DELETE FROM hints WHERE account = ? AND kind = ? AND teamleader_id = ?",
                [(account, kind, tid) for kind, tid in taken_rows],
            )
            if taken.overflow:
                self._db.execute("DELETE FROM hint_overflow WHERE account = ?", (account,))

    def acquire_lease(self, account: str, holder: str, now: float, ttl: float) -> bool:
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            row = self._db.execute("SELECT holder, expires FROM leases WHERE account = ?", (account,)).fetchone()
            if row and row[0] != holder and row[1] > now:
                return False
            self._db.execute("INSERT OR REPLACE INTO leases VALUES (?, ?, ?)", (account, holder, now + ttl))
            return True

    def renew_lease(self, account: str, holder: str, now: float, ttl: float) -> bool:
        with self._lock, self._db:
            renewed = self._db.execute(
                "UPDATE leases SET expires = ? WHERE account = ? AND holder = ?", (now + ttl, account, holder)
            )
            return renewed.rowcount == 1

    def release_lease(self, account: str, holder: str) -> None:
        with self._lock, self._db:
            self._db.execute("DELETE FROM leases WHERE account = ? AND holder = ?", (account, holder))
