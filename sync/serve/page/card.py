"""A person's own card: on/off, the group's name, all contacts or chosen tags, a default
region, Save; turning off keeping the synced contacts, or removing them after the grace period or
now; the status in words with the skipped contacts searchable by name; "Sync now" at most once a
minute."""

from __future__ import annotations

import re
import secrets
from typing import Any

from flask import Blueprint, redirect, render_template, request

from sync.serve.offboarding import departure, iso
from sync.serve.page import context, message
from sync.serve.page.access import may_turn_on, own_destination
from sync.serve.page.auth import signed_in
from sync.serve.page.removal import remove_now
from sync.serve.page.status import status_of
from sync.state.connections import KEY_SEPARATOR, AccountRecord, DestinationRecord
from sync.state.page import PageRules, Session

blueprint = Blueprint("card", __name__)
REGION = re.compile(r"^[A-Z]{2}$")
MAX_TAGS = 50
# Turning off: the contacts stay, go after the grace period, or go now.
REMOVALS = ("keep", "later", "now")
# The card's notices by code: the address carries the code, never a sentence (a link made
# elsewhere cannot put words on this page).
NOTICES = {
    "saved": "Saved.",
    "off": "Turned off; the contacts already in your Google account stay.",
    "later": "Turned off; the contacts the sync put in your Google account are removed in {hours:g} hours, "
    "unless you turn it on again before.",
    "removed": "Turned off; {n} contacts removed from your Google account.",
    "sync": "A sync has started; open this page again in a minute.",
}


def _mine(session: Session) -> tuple[AccountRecord | None, PageRules | None, DestinationRecord | None]:
    """The person's account, its rules, and their own destination (access.own_destination)."""
    page = context()
    record = page.state.account(session.account_id)
    rules = page.state.page_rules(session.account_id)
    return record, rules, own_destination(record, rules, session)


@blueprint.get("/card")
@signed_in
def show(session: Session) -> Any:
    page = context()
    record, rules, destination = _mine(session)
    refusal = may_turn_on(rules, session) if rules else "Your account is not connected."
    query = request.args.get("q", "")[:100]
    status = status_of(page, record, destination, query) if record and destination else None
    is_admin = bool(rules and session.user_id in rules.admins)
    return render_template(
        "card.html",
        session=session,
        destination=destination,
        refusal=refusal,
        status=status,
        query=query,
        is_admin=is_admin,
        departure=departure(destination, page.settings.removal_grace_hours) if destination else None,
        grace_hours=page.settings.removal_grace_hours,
        notice=NOTICES.get(request.args.get("notice", ""), "").format(
            n=request.args.get("n", "0")[:9], hours=page.settings.removal_grace_hours
        ),
    )


def _form_settings() -> tuple[dict[str, Any], str | None]:
    """The card's settings from the form, or the sentence saying what is wrong."""
    group = request.form.get("group", "").strip()
    if not 0 < len(group) <= 100:
        return {}, "The group's name must be 1 to 100 characters."
    scope = request.form.get("scope", "all")
    tags = [t.strip() for t in request.form.get("tags", "").split(",") if t.strip()] if scope == "tags" else []
    if scope == "tags" and not tags:
        return {}, "Name at least one tag, or choose all contacts."
    if len(tags) > MAX_TAGS or any(len(t) > 100 for t in tags):
        return {}, "Too many tags, or one too long."
    region = request.form.get("region", "").strip().upper()
    if region and not REGION.match(region):
        return {}, "The region is a two-letter country code, like BE or NL."
    enabled = request.form.get("enabled") == "on"
    return {"group_name": group, "tags": tags, "default_region": region or None, "enabled": enabled}, None


@blueprint.post("/card")
@signed_in
def save(session: Session) -> Any:
    page = context()
    record, rules, destination = _mine(session)
    if record is None or destination is None:
        return message("Nothing to save", "Connect your Google account first.", 404)
    values, problem = _form_settings()
    if problem:
        return message("Not saved", problem, 400)
    if values["enabled"] and rules and may_turn_on(rules, session):
        return message("Not saved", may_turn_on(rules, session) or "", 403)
    removal = request.form.get("remove", "keep")
    if removal not in REMOVALS:
        return message("Not saved", "Choose to keep the contacts, remove them later, or remove them now.", 400)
    turning_off = destination.enabled and not values["enabled"]
    turning_on = values["enabled"] and not destination.enabled
    # Off, with the copy to go: now, or once the grace period has passed (also asked later).
    leaving = not values["enabled"] and removal != "keep"
    for name, value in values.items():
        setattr(destination, name, value)
    if turning_on:
        destination.rejoin()  # before the grace period ends: the copy stays
    if leaving:
        destination.leave("turned off on the page by its person", iso(page.clock()))
        destination.remove_now = destination.remove_now or removal == "now"
    page.state.put_account(record)
    if leaving and removal == "now":
        return remove_now(page, record.account_id, destination)
    notice = "later" if leaving else "off" if turning_off else "saved"
    return redirect(f"/card?notice={notice}", 303)


@blueprint.post("/card/sync")
@signed_in
def sync_now(session: Session) -> Any:
    page = context()
    record, _, destination = _mine(session)
    if record is None or destination is None or not destination.enabled or not destination.user:
        return message("Not started", "Turn it on first.", 400)
    # A lease nobody releases is a per-person limit that holds across sessions and instances.
    key = f"{KEY_SEPARATOR}sync-now-{destination.name}"
    if not page.state.acquire_lease(key, secrets.token_hex(8), page.clock(), page.sync_now_every):
        return message("Not started", "A sync was started less than a minute ago; it is on its way.", 429)
    page.start_run(record.account_id, destination.user, False)
    return redirect("/card?notice=sync", 303)


@blueprint.post("/card/confirm")
@signed_in
def confirm_deletions(session: Session) -> Any:
    """The person confirms the deletions a run held back before (their own Google account's
    contacts only): their run goes ahead with them."""
    page = context()
    record, _, destination = _mine(session)
    if record is None or destination is None or destination.status != "held" or not destination.user:
        return message("Nothing to confirm", "No sync of yours is waiting for a confirmation.", 400)
    page.start_run(record.account_id, destination.user, True)
    return redirect("/card?notice=sync", 303)
