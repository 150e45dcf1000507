"""The contact group the synced persons live in, kept in existence."""

from __future__ import annotations

from sync.engine.ledger import Ledger
from sync.ports import Checkpoint, Destination


def ensure_group(destination: Destination, ledger: Ledger, name: str, known: str | None) -> str:
    """The group's resource name: the one known if Google still has it, else a group of that
    name (created, or adopted if the name is taken). A group deleted by hand gets every synced person back."""
    if known and destination.group_exists(known):
        return known
    # Created outright, found only when the name is taken (409): one call on a first run.
    found = destination.create_group(name)
    ledger.commit(Checkpoint(group=found))
    if known and found != known:
        _refill(destination, ledger, found)
    return found


def _refill(destination: Destination, ledger: Ledger, group: str) -> None:
    """Put every synced person back into the group; persons Google no longer has lose their
    entries, so that they are created again."""
    synced = {e.resource_name: e for e in ledger.load_all() if e.state == "synced" and e.resource_name}
    if not synced:
        return
    gone = set(destination.add_members(group, list(synced)))
    if gone:
        ledger.commit(Checkpoint(removed=[synced[name].teamleader_id for name in gone]))
