"""The admin's view of their own account: everyone who turned it on with their status and
counts, the rules of who may turn it on and which Google domains may receive the CRM,
turning a person off (their copy of the CRM removed after the grace period, or now), and the
connection's health."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, abort, redirect, render_template, request

from sync.serve.offboarding import departure, iso
from sync.serve.page import context
from sync.serve.page.access import is_admin
from sync.serve.page.auth import signed_in
from sync.serve.page.removal import remove_now
from sync.serve.page.status import teams_of, users_of
from sync.state.page import PageRules, Session

blueprint = Blueprint("admin", __name__)
DOMAIN = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$")
MAX_LISTED = 200


def _own_account(session: Session) -> PageRules:
    """The admin's own account's rules; anyone else is refused."""
    rules = context().state.page_rules(session.account_id)
    if rules is None or not is_admin(rules, session, session.account_id):
        abort(403, "Only an admin of your Teamleader account's connection can open this page.")
    return rules


@blueprint.get("/admin")
@signed_in
def show(session: Session) -> Any:
    rules = _own_account(session)
    page = context()
    record = page.state.account(session.account_id)
    users = (users_of(page, record) if record else None) or {p: p for p in rules.people}
    people = []
    for destination in record.targets if record else []:
        entries = list(page.state.all_entries(destination.state_key))
        people.append(
            {
                "destination": destination,
                "owner": users.get(destination.teamleader_user or "", ""),
                "in_google": sum(1 for e in entries if e.state == "synced"),
                "skipped": sum(1 for e in entries if e.state == "skipped"),
                "departure": departure(destination, page.settings.removal_grace_hours),
            }
        )
    reports = [page.state.last_report(d.state_key) or {} for d in (record.targets if record else [])]
    report = max(reports, key=lambda r: str(r.get("finished") or ""), default={})
    teams = (teams_of(page, record) if record else None) or {t: t for t in rules.teams}
    return render_template(
        "admin.html",
        session=session,
        rules=rules,
        record=record,
        people=people,
        report=report,
        teams=teams,
        users=users,
        limit=page.settings.teamleader_calls_per_minute,
        is_admin=True,
        grace_hours=page.settings.removal_grace_hours,
        notice=f"{request.args.get('n', '0')[:9]} contacts removed." if request.args.get("notice") == "removed" else "",
    )


def _listed(field: str) -> list[str]:
    values = [v.strip() for v in re.split(r"[,\s]+", request.form.get(field, "")) if v.strip()]
    if len(values) > MAX_LISTED or any(len(v) > 200 for v in values):
        abort(400, f"Too many {field}, or one too long.")
    return values


@blueprint.post("/admin/rules")
@signed_in
def save_rules(session: Session) -> Any:
    rules = _own_account(session)
    who = request.form.get("who", "all")
    if who not in ("all", "teams", "people"):
        abort(400, "Choose everyone, chosen teams, or chosen people.")
    domains = [d.casefold().lstrip("@") for d in _listed("domains")]
    if any(not DOMAIN.match(d) for d in domains):
        abort(400, "A Google domain looks like acme.com.")
    rules.who = who  # type: ignore[assignment]
    teams = request.form.getlist("team")[:MAX_LISTED] + _listed("teams")
    people = request.form.getlist("person")[:MAX_LISTED] + _listed("people")
    rules.teams, rules.people, rules.domains = teams, people, domains
    context().state.put_page_rules(rules)
    return redirect("/admin", 303)


@blueprint.post("/admin/off")
@signed_in
def turn_off(session: Session) -> Any:
    _own_account(session)
    page = context()
    record = page.state.account(session.account_id)
    name = request.form.get("destination", "")
    # Only a destination of the admin's own account is found here.
    destination = next((d for d in record.targets if d.name == name), None) if record else None
    if record is None or destination is None:
        abort(404, "No such person in your account.")
    removal = request.form.get("remove", "later")
    if removal not in ("later", "now"):
        abort(400, "Choose to remove the contacts after the grace period, or now.")
    destination.leave("turned off by the admin", iso(page.clock()))
    destination.remove_now = destination.remove_now or removal == "now"
    page.state.put_account(record)
    if removal == "now":
        return remove_now(page, record.account_id, destination, back="/admin")
    return redirect("/admin", 303)
