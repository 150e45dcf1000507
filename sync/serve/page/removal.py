"""Turning off with removal: the persons the sync created in a person's Google account (the id
map's synced entries) are deleted, then its group, under that Google user's lease so that no
run writes there meanwhile. The deletion guard is for runs that did not mean to delete; this
removal is meant, so it does not pass through it."""

from __future__ import annotations

import logging
import secrets

from sync.serve.page import PageContext
from sync.serve.wiring import http_client, people_client
from sync.state.connections import DestinationRecord
from sync.state.idmap import Checkpoint

log = logging.getLogger("sync.page")
DELETE_BATCH = 500
LEASE_SECONDS = 300.0


class RemovalBusyError(RuntimeError):
    """A run is writing to this Google account right now."""


def remove_synced(page: PageContext, destination: DestinationRecord) -> int:
    """Delete what the sync put in the destination's Google account; answers how many
    persons went. The destination must already be off (no new run writes there)."""
    holder = "page-" + secrets.token_hex(6)
    if not page.state.acquire_lease(destination.lease_key, holder, page.clock(), LEASE_SECONDS):
        raise RemovalBusyError("a sync is writing to this Google account; try again in a minute")
    try:
        entries = [e for e in page.state.all_entries(destination.state_key) if e.state == "synced"]
        names = [e.resource_name for e in entries if e.resource_name]
        group = page.state.account_state(destination.state_key).group
        with http_client(page.settings) as http:
            client = people_client(page.settings, page.secrets, destination.google_secret, http)
            for start in range(0, len(names), DELETE_BATCH):
                client.delete(names[start : start + DELETE_BATCH])
            if group:
                client.delete_group(group)
        # The map forgets them: turned on again, the sync starts afresh.
        page.state.commit(destination.state_key, Checkpoint(removed=[e.teamleader_id for e in entries], cursor={}))
        return len(names)
    finally:
        page.state.release_lease(destination.lease_key, holder)
