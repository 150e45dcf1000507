"""Leases in Firestore: `{root}-leases/{key}`, a holder and an expiry. Each is taken, renewed
and given back by a write conditioned on the document as last read or written, never in a
transaction: an abandoned transaction keeps its lock for a minute (a crash or a timeout can
stop a run anywhere), where a conditioned write leaves nothing behind. A run reads a lease once
to take it and not at all to give it back: the holder remembers when it last wrote it."""

from __future__ import annotations

import random
import threading
import time
from datetime import datetime
from typing import Any

from google.api_core import exceptions as gexc
from google.cloud import firestore

from sync.errors import LeaseContentionError

LEASE_ATTEMPTS = 8
# What a conditioned write answers when the document changed since (or, for a create, exists).
CHANGED_MEANWHILE = (gexc.FailedPrecondition, gexc.Aborted, gexc.Conflict, gexc.NotFound)


class FirestoreLeases:
    """The leases of one state root."""

    def __init__(self, db: firestore.Client, collection: str) -> None:
        self._db = db
        self._collection = collection
        # When this process last wrote each lease it holds, by (key, holder): giving it back
        # deletes the document only as this holder left it, so a lease that lapsed and was
        # taken by another run stays theirs.
        self._written: dict[tuple[str, str], datetime] = {}
        self._lock = threading.Lock()

    def _ref(self, key: str) -> Any:
        return self._db.collection(self._collection).document(key)

    def _remember(self, key: str, holder: str, written: datetime) -> None:
        with self._lock:
            self._written[key, holder] = written

    def acquire(self, key: str, holder: str, now: float, ttl: float) -> bool:
        """Take the lease unless another holder's is live; False when it is."""
        lease = self._ref(key)
        fields = {"holder": holder, "expires": now + ttl}
        for _ in range(LEASE_ATTEMPTS):
            snapshot = lease.get()
            current = snapshot.to_dict()
            if current is not None and current["holder"] != holder and current["expires"] > now:
                return False
            try:
                if snapshot.exists:
                    option = self._db.write_option(last_update_time=snapshot.update_time)
                    result = lease.update(fields, option=option)
                else:
                    result = lease.create(fields)
            except CHANGED_MEANWHILE:
                # Another taker wrote it between the read and the write: look again.
                time.sleep(random.uniform(0.05, 0.5))
                continue
            self._remember(key, holder, result.update_time)
            return True
        raise LeaseContentionError(f"the lease of {key} is contended")

    def renew(self, key: str, holder: str, now: float, ttl: float) -> bool:
        """Extend the holder's lease; False when it is not the holder's any more."""
        lease = self._ref(key)
        for _ in range(LEASE_ATTEMPTS):
            snapshot = lease.get()
            current = snapshot.to_dict()
            if current is None or current["holder"] != holder:
                return False
            try:
                option = self._db.write_option(last_update_time=snapshot.update_time)
                result = lease.update({"expires": now + ttl}, option=option)
            except CHANGED_MEANWHILE:
                continue  # written meanwhile (by a taker, if it expired): look again
            self._remember(key, holder, result.update_time)
            return True
        raise LeaseContentionError(f"the lease of {key} is contended")

    def release(self, key: str, holder: str) -> None:
        """Give the lease back if it is still the holder's; nothing otherwise."""
        lease = self._ref(key)
        with self._lock:
            written = self._written.pop((key, holder), None)
        if written is None:
            # Not taken through this store (another instance or process): read whose it is.
            snapshot = lease.get()
            if (snapshot.to_dict() or {}).get("holder") != holder:
                return
            written = snapshot.update_time
        try:
            lease.delete(option=self._db.write_option(last_update_time=written))
        except CHANGED_MEANWHILE:
            pass  # it lapsed and another run took it: theirs now
