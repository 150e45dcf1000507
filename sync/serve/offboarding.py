"""Removing a departed person's copy of the CRM from their Google account: the persons the sync
created (the id map's entries that name one, then any other person of its group that carries a
Teamleader id: a create whose answer was lost), then the group, under that Google user's lease so
that no run writes there meanwhile. One piece of code for the page's "remove now" and for the
runner's removal after the grace period.

The deletion guard is for runs that did not mean to delete; this removal is meant, so it does not
pass through it. It is resumable: each batch's persons leave the id map in the write that follows
the batch, so a removal cut off goes on with the rest at the next run, and persons already gone
count as removed. What was removed, and when, is recorded on the destination."""

from __future__ import annotations

import logging
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sync.config import Settings
from sync.errors import ConfigError, GoogleError, LeaseLostError, ReauthRequiredError, describe
from sync.google.people import PeopleClient
from sync.secrets.port import SecretStore
from sync.serve.wiring import http_client, people_client
from sync.state.connections import DestinationRecord
from sync.state.idmap import Checkpoint
from sync.state.port import StateStore

log = logging.getLogger("sync.offboarding")
REVOKED = (
    "Google no longer accepts this account's permission (revoked or expired): the contacts could not be "
    "removed; the removal is tried again at the next runs, or after Google is reconnected"
)


class RemovalBusyError(RuntimeError):
    """A run is writing to this Google account right now."""


@dataclass
class Removal:
    """How one removal went: the persons it removed, whether the copy is gone, and if not why."""

    destination: str
    removed: int = 0
    finished: bool = False
    problem: str | None = None


def iso(moment: float) -> str:
    """A clock's reading as the ISO time the records keep."""
    return datetime.fromtimestamp(moment, tz=UTC).isoformat(timespec="seconds")


@dataclass
class Remover:
    """Removes copies with the settings, stores and clock of a run or of the page."""

    settings: Settings
    state: StateStore
    secrets: SecretStore
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep

    def remove(self, account_id: str, destination: DestinationRecord, deadline: float | None = None) -> Removal:
        """Remove the copy of one destination that is off (no run writes there any more);
        RemovalBusyError while a run holds its Google user. Stops between batches once
        `deadline` has passed; a refused grant or an outage is recorded as its problem, never
        raised, and the removal is tried again at the next run."""
        holder = "removal-" + secrets.token_hex(6)
        ttl = self.settings.lease_seconds
        if not self.state.acquire_lease(destination.lease_key, holder, self.clock(), ttl):
            raise RemovalBusyError("a sync is writing to this Google account; try again in a minute")
        outcome = Removal(destination.name)
        try:
            self._remove(account_id, destination, outcome, holder, deadline)
        except ReauthRequiredError:
            outcome.problem = REVOKED
        except (GoogleError, ConfigError, LeaseLostError) as exc:
            outcome.problem = f"the removal stopped ({describe(exc)}); it goes on at the next run"
        except Exception:
            error_id = uuid.uuid4().hex[:12]
            outcome.problem = f"the removal failed (error id {error_id}); it is tried again at the next run"
            log.error("removal failed", exc_info=True, extra={"destination": destination.name, "error_id": error_id})
        finally:
            self.state.release_lease(destination.lease_key, holder)
        self._note(account_id, destination.name, outcome=outcome)
        # Counts and the destination's name only: never an address.
        log.info(
            "copy removed" if outcome.finished else "removal not finished",
            extra={
                "account": account_id,
                "destination": destination.name,
                "counts": {"removed": outcome.removed},
                "status": "removed" if outcome.finished else "removing",
            },
        )
        return outcome

    def _remove(
        self, account_id: str, destination: DestinationRecord, outcome: Removal, holder: str, deadline: float | None
    ) -> None:
        key = destination.state_key
        entries = [e for e in self.state.all_entries(key) if e.resource_name]
        refused: dict[str, str] = {}
        with http_client(self.settings) as http:
            secret, consented = destination.google_secret, destination.google_consent
            client = people_client(self.settings, self.secrets, secret, http, self.sleep, consented=consented)
            size = client.limits.delete
            for start in range(0, len(entries), size):
                if deadline is not None and self.clock() > deadline:
                    return  # not finished, and nothing wrong: it goes on at the next tick
                if not self.state.renew_lease(destination.lease_key, holder, self.clock(), self.settings.lease_seconds):
                    raise LeaseLostError(f"lost the lease of {destination.lease_key}")
                chunk = entries[start : start + size]
                names = {e.resource_name: e.teamleader_id for e in chunk if e.resource_name}
                refused.update(client.delete(list(names)))
                gone = [teamleader_id for name, teamleader_id in names.items() if name not in refused]
                # The map forgets them (turned on again, the sync starts afresh): a removal cut
                # off after this batch does not send it again.
                self.state.commit(key, Checkpoint(removed=gone, cursor={}))
                outcome.removed += len(gone)
                self._note(account_id, destination.name, removed=len(gone))
            group = self.state.account_state(key).group
            intents = self.state.intents(key)
            # Only a create whose answer was lost leaves persons the map does not name.
            if group and intents and not refused:
                swept = self._sweep(client, group, refused)
                outcome.removed += swept
                self._note(account_id, destination.name, removed=swept)
            if refused:
                outcome.problem = f"Google refused to delete {len(refused)} contacts; tried again at the next run"
                return
            if group:
                client.delete_group(group)
            if intents:
                # Their persons went with the sweep: turned on again, the sync starts afresh.
                self.state.commit(key, Checkpoint(settled=[i.batch_id for i in intents]))
        outcome.finished = True

    @staticmethod
    def _sweep(client: PeopleClient, group: str, refused: dict[str, str]) -> int:
        """Delete the persons of the group the id map does not name (a create whose answer was
        lost): the ones carrying a Teamleader id that Google still has (its lists lag, and
        show persons deleted a moment ago). Answers how many went; the refused ones are added
        to `refused`."""
        listed = [ref.resource_name for _, ref in client.stamped(group)]
        alive = list(client.get(listed)) if listed else []
        gone = 0
        for start in range(0, len(alive), client.limits.delete):
            chunk = alive[start : start + client.limits.delete]
            failed = client.delete(chunk)
            refused.update(failed)
            gone += len(chunk) - len(failed)
        return gone

    def _note(self, account_id: str, name: str, *, removed: int = 0, outcome: Removal | None = None) -> None:
        """Record on the destination as stored now: `removed` more persons gone, and with
        `outcome` the attempt's end: when it was tried, whether it finished, and why not."""
        record = self.state.account(account_id)
        destination = next((d for d in record.targets if d.name == name), None) if record else None
        if record is None or destination is None:
            return
        destination.removed_persons += removed
        if outcome is not None:
            now = iso(self.clock())
            destination.removal_tried_at = now
            destination.removal_problem = outcome.problem
            destination.removed_at = now if outcome.finished else None
        self.state.put_account(record)


def departure(destination: DestinationRecord, grace_hours: float) -> str | None:
    """The destination's departure in words (for the status and the pages): when its copy is to
    be removed, why it is not yet, or what was removed and when; None when nobody left."""
    if destination.removed_at is not None:
        return f"{destination.removed_persons} contacts removed from Google on {destination.removed_at}"
    if destination.leaving_since is None:
        return None
    why = f" ({destination.leaving_reason})" if destination.leaving_reason else ""
    if destination.removal_problem:
        return f"left{why}; {destination.removal_problem}"
    if destination.remove_now:
        return f"left{why}; its contacts are being removed from Google"
    left = datetime.fromisoformat(destination.leaving_since).timestamp()
    return f"left{why}; its contacts are removed from Google after {iso(left + grace_hours * 3600)}"
