"""Settling uncertain creates: batches recorded as intended whose answer never arrived (a
crash, a dropped connection). What Google lists decides: a person carrying the contact's
Teamleader id was made and is adopted; one not listed once the lists can show it was never
made and is created again; until then it stays uncertain and nothing is sent for it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from sync.engine.ledger import Ledger, synced
from sync.ports import Checkpoint, Destination, Entry, Intent, PersonRef


@dataclass
class Settlement:
    """What settling decided: the state to commit, the persons made twice, the contacts to
    read again, and the ones still uncertain."""

    checkpoint: Checkpoint = field(default_factory=Checkpoint)
    duplicates: list[str] = field(default_factory=list)
    recheck: list[str] = field(default_factory=list)
    uncertain: set[str] = field(default_factory=set)


def settle_intents(
    intents: list[Intent],
    listed: dict[str, list[PersonRef]],
    *,
    now: float,
    visibility_delay: float,
    new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
) -> Settlement:
    """Settle every intent against the persons Google lists, by Teamleader id. Listed persons
    an intent claims are removed from `listed`."""
    settlement = Settlement()
    for intent in intents:
        still_unknown: dict[str, str] = {}
        for teamleader_id, content_hash in intent.items.items():
            refs = listed.pop(teamleader_id, None)
            if refs:
                settlement.checkpoint.entries.append(synced(teamleader_id, content_hash, refs[0], intent.sent_at))
                settlement.duplicates += [r.resource_name for r in refs[1:]]
                settlement.recheck.append(teamleader_id)
            elif now - intent.sent_at >= visibility_delay:
                settlement.recheck.append(teamleader_id)  # never made: it will be created again
            else:
                still_unknown[teamleader_id] = content_hash
        settlement.checkpoint.settled.append(intent.batch_id)
        if still_unknown:
            settlement.checkpoint.new_intents.append(Intent(new_id(), intent.sent_at, still_unknown))
            settlement.uncertain.update(still_unknown)
    return settlement


def adopt(listed: dict[str, list[PersonRef]], known: dict[str, Entry], settlement: Settlement, now: float) -> None:
    """On a first run, take up persons that already carry a Teamleader id (state lost, or an
    account added again): the one the id map names, else the first; the rest are duplicates."""
    for teamleader_id, refs in listed.items():
        entry = known.get(teamleader_id)
        keep = next((r for r in refs if entry and r.resource_name == entry.resource_name), refs[0])
        if entry is None or entry.resource_name != keep.resource_name:
            settlement.checkpoint.entries.append(synced(teamleader_id, "", keep, now))
        settlement.duplicates += [r.resource_name for r in refs if r is not keep]


def settle(
    destination: Destination,
    ledger: Ledger,
    group: str,
    *,
    now: float,
    visibility_delay: float,
    first_run: bool,
) -> Settlement:
    """Settle the account's uncertain creates (and on a first run adopt stamped persons) and
    delete the duplicates found. The settlement says what to commit, what to read again and
    what is still uncertain."""
    intents = ledger.state.intents(ledger.account)
    if not intents and not first_run:
        return Settlement()
    listed: dict[str, list[PersonRef]] = {}
    for teamleader_id, ref in destination.stamped(group):
        listed.setdefault(teamleader_id, []).append(ref)
    settlement = settle_intents(intents, listed, now=now, visibility_delay=visibility_delay)
    if first_run:
        adopt(listed, ledger.state.entries(ledger.account, list(listed)), settlement, now)
    if settlement.duplicates:
        destination.delete(settlement.duplicates)
    return settlement
