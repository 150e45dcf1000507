"""The full run's reconciliation: Teamleader announces no deletions and Google's persons can be
deleted by hand, so once a day every id is compared on both sides."""

from __future__ import annotations

from sync.engine.ledger import Ledger
from sync.ports import Checkpoint, Destination

GET_CHUNK = 200


def reconcile(
    present: set[str], destination: Destination, ledger: Ledger, *, now: float, visibility_delay: float
) -> list[str]:
    """The contacts to read again, given the ids Teamleader lists (`present`, read once for
    every destination): the ones the id map knows and Teamleader no longer lists
    (gone, or merely moved while paged), the ones Teamleader lists and the map never saw, the
    ones whose person was deleted in Google (their entries are dropped first, so that they
    are created again), and the ones Google refused, to be tried again.

    Whether Google's reads see a write at once is undocumented: a person written less than
    `visibility_delay` ago and not found yet is not taken for lost (re-creating it would make
    a duplicate); the next full run asks again."""
    entries = ledger.load_all()
    absent = [e.teamleader_id for e in entries if e.teamleader_id not in present]
    unknown = sorted(present - {e.teamleader_id for e in entries})
    settled = now - visibility_delay
    synced = [e for e in entries if e.state == "synced" and e.resource_name and e.written_at <= settled]
    lost: list[str] = []
    for start in range(0, len(synced), GET_CHUNK):
        chunk = synced[start : start + GET_CHUNK]
        current = destination.get([e.resource_name for e in chunk if e.resource_name])
        lost += [e.teamleader_id for e in chunk if e.resource_name not in current]
    if lost:
        ledger.commit(Checkpoint(removed=lost))
    refused = [e.teamleader_id for e in entries if e.state == "failed" and e.teamleader_id in present]
    return absent + lost + unknown + refused
