"""The admin's choice of who receives the connection's contacts: each person connecting their
own Google account, every member of a Google Group, or listed Workspace users (the last two by
the Workspace's domain-wide delegation). An admin changes their own connection only."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, abort, redirect, request

from sync.recipients import set_consented, set_group, set_listed
from sync.serve.page import context
from sync.serve.page.admin import _listed, _own_account
from sync.serve.page.auth import signed_in
from sync.state.page import Session

blueprint = Blueprint("team", __name__)


@blueprint.post("/admin/recipients")
@signed_in
def save_recipients(session: Session) -> Any:
    _own_account(session)
    page = context()
    record = page.state.account(session.account_id)
    if record is None:
        abort(404, "Your account is not connected yet.")
    choice = request.form.get("recipients", "")
    now = datetime.fromtimestamp(page.clock(), tz=UTC).isoformat(timespec="seconds")
    try:
        if choice == "group":
            set_group(record, request.form.get("group", "")[:200], request.form.get("admin", "")[:200])
        elif choice == "listed":
            domain = request.form.get("domain", "")[:200]
            set_listed(record, _listed("listed"), domain, now, page.settings.secret_prefix)
        elif choice == "consent":
            set_consented(record, now)
        else:
            abort(400, "Choose each person's own consent, a Google Group, or listed Workspace users.")
    except ValueError as exc:
        abort(400, str(exc))
    page.state.put_account(record)
    return redirect("/admin", 303)
