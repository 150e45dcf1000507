"""The registry's records: a connection (one Teamleader account, its token and standing) and
its destinations (the Google users it writes to), with the keys and names each goes by."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

# held: a run stopped before deleting more than its share; it waits for `--allow-deletions`.
AccountStatus = Literal["ok", "needs_reauth", "failing", "held"]
# The destination of a connection that predates teams, or of a one-person setup: its state
# lives under the connection's own key and its user is not named.
DEFAULT_DESTINATION = "default"
# Google users one connection serves: a company change is committed with every user's
# bookmark in one write, which holds at most 500 documents: 100 companies (COMPANY_FLUSH), the
# connection's own, and one per user leave room for 399; 300 keeps a margin (a whole Workspace
# group of 200 fits).
MAX_DESTINATIONS = 300
# Between a connection's id and a destination's name in the destination's state key; an
# account id cannot hold it, so no key of one connection is another's.
KEY_SEPARATOR = "~"


def destination_name(user: str) -> str:
    """The name a Google user's destination goes by in logs and state keys: derived from the
    address, never showing it."""
    return "u" + hashlib.sha256(user.strip().casefold().encode()).hexdigest()[:10]


def user_lease_key(user: str | None, google_secret: str) -> str:
    """The lease every run writing to one Google user takes, whichever connection it serves.
    A destination whose user is not named is known by its token's secret."""
    identity = user.strip().casefold() if user else "secret:" + google_secret
    # Starts with the separator, which no account id holds: it never names an account's lease.
    return f"{KEY_SEPARATOR}user-" + hashlib.sha256(identity.encode()).hexdigest()[:24]


def new_consent() -> str:
    """An id for a consent that wrote a destination's Google tokens (`google_consent`)."""
    return uuid.uuid4().hex


@dataclass
class DestinationRecord:
    """One Google user a connection writes to: its own group, scope, id map and standing."""

    name: str
    # The Google account's address as given when it was added; None for the default destination.
    user: str | None = None
    state_key: str = ""
    google_secret: str = ""
    # The consent that last wrote its Google tokens: a new id at each (None: before ids were
    # recorded). A warm instance keeps a user's credentials only while this stays what it was.
    google_consent: str | None = None
    enabled: bool = True
    group_name: str = "Teamleader"
    tags: list[str] = field(default_factory=list)
    # The country whose numbers a contact's phone numbers are taken for when neither the
    # contact nor its company has an address (ISO code); None: such numbers are sent as typed.
    default_region: str | None = None
    status: AccountStatus = "ok"
    reason: str | None = None
    last_status: str | None = None
    failures_in_a_row: int = 0
    # The Teamleader user it belongs to, when that person connected it on the page.
    teamleader_user: str | None = None
    # When its person left (ISO time) and why: its copy of the CRM is to be removed from their
    # Google account once the grace period has passed. None: nobody asked for a removal.
    leaving_since: str | None = None
    leaving_reason: str | None = None
    # Removal without waiting for the grace period (a person asked for it now).
    remove_now: bool = False
    # The removal: when it finished (ISO time), the persons gone so far, when it was last tried
    # and, while it cannot finish, why (retried at the next runs).
    removed_at: str | None = None
    removed_persons: int = 0
    removal_tried_at: str | None = None
    removal_problem: str | None = None
    # Its tokens come from the Workspace's domain-wide delegation, not from a consent: no
    # secret of its own.
    delegated: bool = False

    @property
    def lease_key(self) -> str:
        return user_lease_key(self.user, self.google_secret)

    def leave(self, reason: str, now: str) -> None:
        """Turn the destination off because its person left (`reason` says how, in a sentence);
        what the sync put in their Google account is removed after the grace period. Leaving
        again keeps the first time: the grace period does not start over."""
        self.enabled = False
        if self.leaving_since is None:
            self.leaving_since = now
        self.leaving_reason = reason

    def rejoin(self) -> None:
        """Turn the destination on again: a removal not done yet is called off (the copy stays
        and is kept in step), and a past removal's record is cleared with it."""
        self.enabled = True
        self.leaving_since = self.leaving_reason = None
        self.remove_now = False
        self.removed_at = self.removal_tried_at = self.removal_problem = None
        self.removed_persons = 0

    def removal_due(self, now: float, grace_hours: float) -> bool:
        """Whether the copy in the Google account is to be removed now: its person left, the
        grace period has passed (or they asked for it now), and it is not removed yet."""
        if self.leaving_since is None or self.removed_at is not None:
            return False
        left = datetime.fromisoformat(self.leaving_since).timestamp()
        return self.remove_now or now - left >= grace_hours * 3600

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DestinationRecord:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


def new_destination(account_id: str, user: str | None, secret_prefix: str = "") -> DestinationRecord:
    """A destination of `account_id` for `user` (None: the default one), with the state key and
    secret name it keeps for life."""
    if user is None:
        return DestinationRecord(DEFAULT_DESTINATION, None, account_id, f"{secret_prefix}{account_id}-google-tokens")
    name = destination_name(user)
    return DestinationRecord(
        name, user.strip(), f"{account_id}{KEY_SEPARATOR}{name}", f"{secret_prefix}{account_id}-google-{name}-tokens"
    )


@dataclass
class AccountRecord:
    """A registered account: one Teamleader connection (its token, lease and reads) and the
    Google users it writes to. Built without destinations, it has the default one."""

    account_id: str
    enabled: bool = True
    teamleader_secret: str = ""
    # The Teamleader side's standing; each destination has its own.
    status: AccountStatus = "ok"
    reason: str | None = None
    last_run: str | None = None
    last_status: str | None = None
    # When deletions were last mirrored (a full run, or the first run, which reads everything).
    last_full_run: str | None = None
    # Runs that failed one after the other (0 once one succeeds): alerts fire from 2.
    failures_in_a_row: int = 0
    destinations: list[DestinationRecord] | None = None
    # SHA-256 (hex) of the secret in the connection's webhook address; None: no webhooks.
    webhook_token_sha256: str | None = None
    # When `accounts add` registered it (ISO 8601): an account that never ran is overdue from then.
    added_at: str | None = None
    # Workspace delegation: its destinations' tokens come from the domain-wide delegation of
    # this domain, and only its users may receive. With `team_group`, they are that group's
    # members, read at every run as `directory_admin`.
    workspace_domain: str | None = None
    team_group: str | None = None
    directory_admin: str | None = None
    # What the last read of the group could not follow, in sentences for the admin (they name
    # addresses: shown on the page and in the status, never logged).
    recipients_notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.teamleader_secret = self.teamleader_secret or f"{self.account_id}-teamleader-tokens"
        if self.destinations is None:
            self.destinations = [new_destination(self.account_id, None)]

    @property
    def targets(self) -> list[DestinationRecord]:
        """The destinations, typed as never None (set in __post_init__)."""
        assert self.destinations is not None
        return self.destinations

    @property
    def waits_for_reconnect(self) -> bool:
        """Whether its runs wait for a person to reconnect it. A Workspace's refused delegation
        does not: its admin mends it in the Admin console, which the sync is not told of, so it
        is looked at again at its turn."""
        return self.status == "needs_reauth" and not self.workspace_domain

    def destination(self, user: str | None) -> DestinationRecord | None:
        """The destination of `user` (None: the default one)."""
        name = DEFAULT_DESTINATION if user is None else destination_name(user)
        return next((d for d in self.targets if d.name == name), None)

    def to_json(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["destinations"] = [d.to_json() for d in self.targets]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AccountRecord:
        """A stored record; one stored before destinations existed becomes a connection whose
        default destination keeps its state key, secret, group and scope, and its hold."""
        known = set(cls.__dataclass_fields__) - {"destinations"}
        record = cls(**{k: v for k, v in data.items() if k in known}, destinations=[])
        if "destinations" in data:
            record.destinations = [DestinationRecord.from_json(d) for d in data["destinations"]]
            return record
        default = new_destination(record.account_id, None)
        default.google_secret = data.get("google_secret") or default.google_secret
        default.group_name = data.get("group_name") or default.group_name
        default.tags = list(data.get("tags") or [])
        default.default_region = data.get("default_region")
        if record.status == "held":
            # A hold is about one Google account's contacts: it moves to its destination.
            default.status, default.reason = "held", record.reason
            record.status, record.reason = "ok", None
        record.destinations = [default]
        return record
