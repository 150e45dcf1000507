"""Who may do what on the page, checked in one place: a person reaches only their own
destination, an admin only their own account, and who may turn the sync on (and with which
Google address) is the admin's rule."""

from __future__ import annotations

from sync.state.connections import AccountRecord, DestinationRecord
from sync.state.page import PageRules, Session


def is_admin(rules: PageRules | None, session: Session, account_id: str) -> bool:
    """Whether the signed-in person administers `account_id`: an admin of their own account only."""
    return rules is not None and session.account_id == account_id and session.user_id in rules.admins


def may_turn_on(rules: PageRules, session: Session) -> str | None:
    """None when the person may turn the sync on; else the sentence saying why not."""
    if session.account_id != rules.account_id:
        return "You belong to another Teamleader account."
    if session.user_id in rules.admins or rules.who == "all":
        return None
    if rules.who == "teams" and set(session.teams) & set(rules.teams):
        return None
    if rules.who == "people" and session.user_id in rules.people:
        return None
    if rules.who == "teams":
        return "Your account's admin allows only members of chosen teams to turn this on, and you are in none of them."
    return "Your account's admin allows only chosen people to turn this on, and you are not one of them."


def domain_refused(rules: PageRules, address: str) -> str | None:
    """None when this Google address may receive the CRM; else the sentence saying why not."""
    if not rules.domains:
        return None
    domain = address.rpartition("@")[2].casefold()
    if domain in {d.casefold() for d in rules.domains}:
        return None
    allowed = ", ".join(rules.domains)
    return f"Your account's admin allows only Google addresses of {allowed}; {address} is not one of them."


def own_destination(
    record: AccountRecord | None, rules: PageRules | None, session: Session
) -> DestinationRecord | None:
    """The signed-in person's own destination, found by who they are in Teamleader (never by
    anything the browser sends), in their own account only."""
    if record is None or rules is None or record.account_id != session.account_id:
        return None
    name = rules.owners.get(session.user_id)
    mine = [d for d in record.targets if d.name == name and d.teamleader_user == session.user_id]
    return mine[0] if mine else None
