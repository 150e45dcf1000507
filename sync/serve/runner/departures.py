"""What a connection's run does for the people who left: it learns from Teamleader who was
deactivated there (their destinations leave), and removes the copy of every destination whose
grace period has passed (`sync.serve.offboarding`)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sync.config import Settings
from sync.errors import TeamleaderError
from sync.secrets.port import SecretStore
from sync.serve.offboarding import RemovalBusyError, Remover, iso
from sync.serve.runner.outcomes import DestinationOutcome
from sync.serve.wiring import http_client, teamleader_client
from sync.state.connections import AccountRecord
from sync.state.port import StateStore

log = logging.getLogger("sync.runner")
DEACTIVATED = "deactivated in Teamleader"
# MAX_DESTINATIONS: every watched user fits one page.
USERS_PAGE = 100


@dataclass
class Departures:
    """The departures of one connection's run, with the runner's settings, stores and clock."""

    settings: Settings
    state: StateStore
    secrets: SecretStore
    clock: Callable[[], float]
    sleep: Callable[[float], None]

    def mark_deactivated(self, record: AccountRecord) -> list[str]:
        """The destinations (by name) whose Teamleader user is deactivated leave, in the stored
        record and in `record`; the caller holds the connection's lease (its Teamleader token
        is single-use). A Teamleader refusal is logged and tried again at the next run."""
        watched = {d.teamleader_user for d in record.targets if d.teamleader_user and d.leaving_since is None}
        if not watched:
            return []
        try:
            deactivated = self._deactivated(record, sorted(watched))
        except TeamleaderError:
            log.warning("the Teamleader users could not be read; departures wait for the next run", exc_info=True)
            return []
        if not deactivated:
            return []
        now = iso(self.clock())
        stored = self.state.account(record.account_id) or record
        left = []
        for copy in (record, stored):
            for destination in copy.targets:
                if destination.teamleader_user in deactivated and destination.leaving_since is None:
                    destination.leave(DEACTIVATED, now)
                    left.append(destination.name)
        self.state.put_account(stored)
        for name in dict.fromkeys(left):
            log.info("destination left: its Teamleader user is deactivated", extra={"destination": name})
        return list(dict.fromkeys(left))

    def _deactivated(self, record: AccountRecord, users: list[str]) -> set[str]:
        """Which of `users` (at most MAX_DESTINATIONS ids) are deactivated: one call as a rule,
        an empty answer ending the listing at once."""
        found: set[str] = set()
        with http_client(self.settings) as http:
            client = teamleader_client(
                self.settings, self.secrets, record.teamleader_secret, http, self.sleep, self.clock
            )
            number = 1
            while True:
                body = {
                    "filter": {"ids": users, "status": ["deactivated"]},
                    "page": {"size": USERS_PAGE, "number": number},
                }
                page: list[dict[str, object]] = client.call("users.list", body)
                found |= {str(u["id"]) for u in page}
                if len(found) >= len(users) or client.last_page(page):
                    return found
                number += 1

    def remove_due(self, record: AccountRecord, user: str | None, deadline: float) -> list[DestinationOutcome]:
        """Remove the copy of each destination (of `user` only, if named) whose removal is due;
        each one's outcome: removed, removing (not finished: its problem says why), or busy."""
        outcomes = []
        remover = Remover(self.settings, self.state, self.secrets, self.clock, self.sleep)
        only = record.destination(user) if user is not None else None
        for destination in record.targets:
            if user is not None and destination is not only:
                continue
            if not destination.removal_due(self.clock(), self.settings.removal_grace_hours):
                continue
            try:
                removal = remover.remove(record.account_id, destination, deadline)
            except RemovalBusyError as exc:
                outcomes.append(DestinationOutcome(destination.name, "busy", str(exc)))
                continue
            status = "removed" if removal.finished else "removing"
            outcomes.append(DestinationOutcome(destination.name, status, removal.problem, removed=removal.removed))
        return outcomes
