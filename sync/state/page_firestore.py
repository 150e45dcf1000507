"""The page's records in Firestore: `{root}-sessions/{id}` and `{root}-page/{account}`, beside
the accounts' collection (a session belongs to no account until its person signs in)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sync.state.page import PageRules, Session


class FirestorePageStore:
    """Mixed into `FirestoreState`: its client and root name these collections too."""

    _db: Any
    _root: str

    def _sessions(self) -> Any:
        return self._db.collection(f"{self._root}-sessions")

    def session(self, session_id: str, now: float) -> Session | None:
        snapshot = self._sessions().document(session_id).get()
        data = snapshot.to_dict() if snapshot.exists else None
        if data is None:
            return None
        if float(data.get("expires", 0)) <= now:
            self.drop_session(session_id)
            return None
        return Session.from_json(data)

    def put_session(self, session: Session) -> None:
        # `expire_at`, a timestamp: a Firestore TTL policy on it deletes sessions nobody reads again.
        expire_at = datetime.fromtimestamp(session.expires, UTC)
        self._sessions().document(session.session_id).set({**session.to_json(), "expire_at": expire_at})

    def drop_session(self, session_id: str) -> None:
        self._sessions().document(session_id).delete()

    def page_rules(self, account_id: str) -> PageRules | None:
        snapshot = self._db.collection(f"{self._root}-page").document(account_id).get()
        return PageRules.from_json(snapshot.to_dict()) if snapshot.exists else None

    def put_page_rules(self, rules: PageRules) -> None:
        self._db.collection(f"{self._root}-page").document(rules.account_id).set(rules.to_json())
