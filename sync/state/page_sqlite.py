"""The page's records in SQLite: sessions and page rules, each a JSON document by its id."""

from __future__ import annotations

import json
import sqlite3
import threading
from typing import Any

from sync.state.page import PageRules, Session

PAGE_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (session_id TEXT PRIMARY KEY, expires REAL NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS page_rules (account TEXT PRIMARY KEY, data TEXT NOT NULL);
"""


class SqlitePageStore:
    """Mixed into `SqliteState`: its connection and lock hold these tables too."""

    _db: sqlite3.Connection
    _lock: threading.RLock

    def _page(self, sql: str, parameters: tuple[Any, ...] = ()) -> list[Any]:
        with self._lock:
            # Made on first use: files from before the page gain the tables then.
            self._db.executescript(PAGE_SCHEMA)
            return self._db.execute(sql, parameters).fetchall()

    def session(self, session_id: str, now: float) -> Session | None:
        rows = self._page("SELECT expires, data FROM sessions WHERE session_id = ?", (session_id,))
        if not rows:
            return None
        if rows[0][0] <= now:
            self.drop_session(session_id)
            return None
        return Session.from_json(json.loads(rows[0][1]))

    def put_session(self, session: Session) -> None:
        self._page(
            "INSERT OR REPLACE INTO sessions (session_id, expires, data) VALUES (?, ?, ?)",
            (session.session_id, session.expires, json.dumps(session.to_json())),
        )

    def drop_session(self, session_id: str) -> None:
        self._page("DELETE FROM sessions WHERE session_id = ?", (session_id,))

    def page_rules(self, account_id: str) -> PageRules | None:
        rows = self._page("SELECT data FROM page_rules WHERE account = ?", (account_id,))
        return PageRules.from_json(json.loads(rows[0][0])) if rows else None

    def put_page_rules(self, rules: PageRules) -> None:
        self._page(
            "INSERT OR REPLACE INTO page_rules (account, data) VALUES (?, ?)",
            (rules.account_id, json.dumps(rules.to_json())),
        )
