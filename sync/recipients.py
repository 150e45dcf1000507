"""Who receives a delegating connection's contacts: the members of a Google Group (nested groups
expanded, each once), read again at every run, set against the connection's destinations: a
member added gets a destination, a member gone or suspended leaves. Pure: the directory is
read by the caller."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from sync.state.connections import MAX_DESTINATIONS, AccountRecord, DestinationRecord, new_destination

SUSPENDED = "suspended in Google Workspace"


@dataclass(frozen=True)
class Member:
    """A group's member as the Directory lists it: an address, USER or GROUP (or CUSTOMER: the
    whole domain), and ACTIVE or SUSPENDED."""

    email: str
    kind: str
    status: str = "ACTIVE"


@dataclass
class Roster:
    """The users a group reaches: active users of the domain (each once, as first listed),
    the suspended ones, and the members refused, each with the sentence that says why."""

    users: list[str] = field(default_factory=list)
    suspended: set[str] = field(default_factory=set)
    refused: dict[str, str] = field(default_factory=dict)


@dataclass
class Changes:
    """What a roster changed in a connection's destinations (their names, never addresses),
    or why it changed nothing."""

    added: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    returned: list[str] = field(default_factory=list)
    held: str | None = None


def outside(address: str, domain: str) -> str | None:
    """The sentence refusing an address that delegation cannot reach, or None when it can."""
    if address.rpartition("@")[2].casefold() == domain.casefold():
        return None
    return (
        f"{address} is not a user of {domain}: domain-wide delegation reaches only the Workspace's own "
        "users (a consumer or other address can connect its own Google account on the page instead)"
    )


def expand(group: str, domain: str, members_of: Callable[[str], list[Member]]) -> Roster:
    """Every user `group` reaches through its nested groups, each group read once however
    often it is named (a group inside itself is read once too)."""
    roster = Roster()
    seen_users: set[str] = set()
    seen_groups = {group.casefold()}
    waiting = [group]
    while waiting:
        for member in members_of(waiting.pop(0)):
            key = member.email.casefold()
            if member.kind not in ("USER", "GROUP"):
                roster.refused[member.email or member.kind] = (
                    f"a member of type {member.kind} (the whole domain) is not expanded: name its users or groups"
                )
            elif (problem := outside(member.email, domain)) is not None:
                roster.refused[member.email] = problem
            elif member.kind == "GROUP":
                if key not in seen_groups:
                    seen_groups.add(key)
                    waiting.append(member.email)
            elif member.status == "SUSPENDED":
                roster.suspended.add(key)
            elif key not in seen_users:
                seen_users.add(key)
                roster.users.append(member.email)
    return roster


def left(group: str) -> str:
    """Why a member removed from the group left."""
    return f"left {group}"


def apply_roster(record: AccountRecord, group: str, roster: Roster, now: str, secret_prefix: str = "") -> Changes:
    """Set the connection's delegated destinations to the roster: a new member gets a
    destination, one who left because of the group and is back comes back, one gone or
    suspended leaves. A roster of nobody leaves nobody: a group read as empty is more often
    a wrong answer or a wrong address than a whole team gone."""
    changes = Changes()
    members = {user.casefold() for user in roster.users}
    if not members:
        changes.held = f"{group} lists no active member: nobody is removed until it lists some"
        return changes
    ours = {left(group), SUSPENDED}
    for user in roster.users:
        destination = record.destination(user)
        if destination is None:
            if len(record.targets) >= MAX_DESTINATIONS:
                roster.refused[user] = f"{user} is not served: the connection serves {MAX_DESTINATIONS} users already"
                continue
            destination = new_destination(record.account_id, user, secret_prefix)
            destination.delegated = True
            record.targets.append(destination)
            changes.added.append(destination.name)
        elif destination.leaving_since is not None and destination.leaving_reason in ours:
            destination.rejoin()
            changes.returned.append(destination.name)
    for destination in record.targets:
        if destination.delegated and destination.user and destination.enabled:
            _leave_unless_member(destination, members, roster.suspended, group, now, changes)
    return changes


def _leave_unless_member(
    destination: DestinationRecord, members: set[str], suspended: set[str], group: str, now: str, changes: Changes
) -> None:
    assert destination.user is not None  # the caller's filter
    key = destination.user.casefold()
    if key in members:
        return
    destination.leave(SUSPENDED if key in suspended else left(group), now)
    changes.left.append(destination.name)


# Where a connection's recipients are set (the CLI, the admin's page): the same rules for both.
ADDRESS = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
DOMAIN_NAME = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+")
UNLISTED = "no longer listed for this connection"
NO_LONGER_DELEGATED = "the connection no longer reaches its users by the Workspace's delegation"


def set_group(record: AccountRecord, group: str, admin: str, domain: str | None = None) -> None:
    """Make the connection's team every member of `group`, read as `admin`, in the Workspace
    `domain` (default: the group's). ValueError says in a sentence what is wrong."""
    group, admin = group.strip(), admin.strip()
    for address in (group, admin):
        if not ADDRESS.fullmatch(address):
            raise ValueError(f"{address or 'an empty value'} is not an address")
    domain = (domain or group.rpartition("@")[2]).strip().casefold()
    if not DOMAIN_NAME.fullmatch(domain):
        raise ValueError(f"{domain or 'an empty value'} is not a domain: it looks like acme.com")
    if (problem := outside(admin, domain)) is not None:
        raise ValueError(problem)
    record.workspace_domain, record.team_group, record.directory_admin = domain, group, admin
    record.recipients_notes = []


def set_listed(record: AccountRecord, users: list[str], domain: str, now: str, secret_prefix: str = "") -> None:
    """Make the connection's team the listed users of Workspace `domain`, reached by
    delegation; a delegated destination not listed any more leaves. ValueError refuses an
    address outside the domain (or past the connection's share) before anything changes."""
    domain = domain.strip().casefold()
    if not DOMAIN_NAME.fullmatch(domain):
        raise ValueError(f"{domain or 'an empty value'} is not a domain: it looks like acme.com")
    listed = list(dict.fromkeys(u.strip() for u in users if u.strip()))
    if not listed:
        raise ValueError("name at least one address")
    for user in listed:
        if not ADDRESS.fullmatch(user):
            raise ValueError(f"{user} is not an address")
        if (problem := outside(user, domain)) is not None:
            raise ValueError(problem)
    new = [u for u in listed if record.destination(u) is None]
    if len(record.targets) + len(new) > MAX_DESTINATIONS:
        raise ValueError(f"a connection serves at most {MAX_DESTINATIONS} users")
    record.workspace_domain, record.team_group, record.directory_admin = domain, None, None
    record.recipients_notes = []
    keys = {u.casefold() for u in listed}
    for user in listed:
        destination = record.destination(user)
        if destination is None:
            destination = new_destination(record.account_id, user, secret_prefix)
            destination.delegated = True
            record.targets.append(destination)
        elif destination.leaving_since is not None and destination.leaving_reason == UNLISTED:
            destination.rejoin()
    for destination in record.targets:
        unlisted = destination.user is not None and destination.user.casefold() not in keys
        if destination.delegated and destination.enabled and unlisted:
            destination.leave(UNLISTED, now)


def set_consented(record: AccountRecord, now: str) -> None:
    """Back to each person connecting their own Google account: the users reached by the
    delegation leave."""
    record.workspace_domain, record.team_group, record.directory_admin = None, None, None
    record.recipients_notes = []
    for destination in record.targets:
        if destination.delegated and destination.enabled:
            destination.leave(NO_LONGER_DELEGATED, now)
