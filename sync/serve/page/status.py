"""A person's status in words: the last sync and its result, the next, how many contacts are
in Google, the problem if any, and the skipped contacts with their reasons, by name."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sync.serve.page import PageContext
from sync.serve.wiring import http_client, teamleader_client
from sync.state.connections import AccountRecord, DestinationRecord
from sync.teamleader.client import TeamleaderClient

log = logging.getLogger("sync.page")
# Skipped contacts whose names are looked up for one page view.
MAX_SKIPPED_SHOWN = 500
# How long the page holds the connection's lease to read names (a run's lease waits for it).
NAMES_LEASE_SECONDS = 60.0
PROBLEMS = {
    "needs_reauth": "Reconnect Google: the permission you gave is no longer valid.",
    "held": "Held before deleting many contacts: ask your admin to confirm.",
    "failing": "The last syncs failed; they are retried on their own.",
}


@dataclass
class Skipped:
    """One contact not in Google, and why."""

    name: str
    reason: str


@dataclass
class Status:
    """What the card shows of a destination."""

    in_google: int = 0
    failed: int = 0
    last_sync: str | None = None
    last_result: str | None = None
    problem: str | None = None
    skipped: list[Skipped] = field(default_factory=list)
    names_unavailable: bool = False


def status_of(page: PageContext, record: AccountRecord, destination: DestinationRecord, query: str) -> Status:
    """The destination's status; the skipped contacts whose name holds `query` (all when empty)."""
    status = Status()
    skipped: dict[str, str] = {}
    for entry in page.state.all_entries(destination.state_key):
        if entry.state == "synced":
            status.in_google += 1
        elif entry.state == "failed":
            status.failed += 1
        elif len(skipped) < MAX_SKIPPED_SHOWN:
            skipped[entry.teamleader_id] = entry.reason or "not eligible"
    report: dict[str, Any] = page.state.last_report(destination.state_key) or {}
    status.last_sync = report.get("finished") or None
    status.last_result = _result(report) if report else None
    status.problem = _problem(destination)
    names = _names(page, record, list(skipped)) if skipped else {}
    status.names_unavailable = bool(skipped) and names is None
    wanted = query.strip().casefold()
    for teamleader_id, reason in skipped.items():
        name = (names or {}).get(teamleader_id) or "(a contact)"
        if not wanted or wanted in name.casefold():
            status.skipped.append(Skipped(name, reason))
    status.skipped.sort(key=lambda s: s.name.casefold())
    return status


def _problem(destination: DestinationRecord) -> str | None:
    """The problem in words: the fixed sentence for a grant to renew, else the recorded reason
    (a full Google account, a hold and its count)."""
    if destination.status == "ok":
        return None
    if destination.status == "needs_reauth":
        return PROBLEMS["needs_reauth"]
    return destination.reason or PROBLEMS.get(destination.status)


def _result(report: dict[str, Any]) -> str:
    counts = ", ".join(f"{report.get(k) or 0} {k}" for k in ("created", "updated", "deleted", "skipped", "failed"))
    return f"{report.get('status', 'unknown')}: {counts}"


def _names(page: PageContext, record: AccountRecord, ids: list[str]) -> dict[str, str] | None:
    """Names of the contacts by id; None while a run holds the connection."""
    found = reading(page, record, lambda client: client.contacts_by_ids(ids))
    if found is None:
        return None
    return {str(c["id"]): f"{c.get('first_name') or ''} {c.get('last_name') or ''}".strip() for c in found}


def teams_of(page: PageContext, record: AccountRecord) -> dict[str, str] | None:
    """The account's teams, id → name; None while a run holds the connection."""
    found = reading(page, record, lambda client: client.call("teams.list", {"page": {"size": 100, "number": 1}}))
    return None if found is None else {str(t["id"]): str(t.get("name") or t["id"]) for t in found}


def users_of(page: PageContext, record: AccountRecord) -> dict[str, str] | None:
    """The account's active users, id → name; None while a run holds the connection."""
    body = {"filter": {"status": ["active"]}, "page": {"size": 100, "number": 1}}
    found = reading(page, record, lambda client: client.call("users.list", body))
    if found is None:
        return None
    return {str(u["id"]): f"{u.get('first_name') or ''} {u.get('last_name') or ''}".strip() for u in found}


def reading(page: PageContext, record: AccountRecord, read: Callable[[TeamleaderClient], Any]) -> Any:
    """Read through the connection's Teamleader token under the connection's lease (its
    refresh token is single-use: never refreshed by a run and the page at once); None while
    a run holds it, or when the read fails."""
    holder = "page-" + secrets.token_hex(6)
    if not page.state.acquire_lease(record.account_id, holder, page.clock(), NAMES_LEASE_SECONDS):
        return None
    try:
        with http_client(page.settings) as http:
            return read(teamleader_client(page.settings, page.secrets, record.teamleader_secret, http))
    except Exception:
        log.warning("a read of Teamleader for the page failed", exc_info=True, extra={"account": record.account_id})
        return None
    finally:
        page.state.release_lease(record.account_id, holder)
