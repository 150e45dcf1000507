"""Signing in with Teamleader (and connecting the account, for its first allowed person) and
connecting a person's own Google account. Each flow's `state` is single-use and bound to the
session that started it; tokens never reach the browser."""

from __future__ import annotations

import hmac
import json
import logging
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Blueprint, redirect, render_template, request
from werkzeug.wrappers import Response

from sync.serve.offboarding import iso
from sync.serve.page import PageContext, access, context, message, oauth, security
from sync.state.connections import MAX_DESTINATIONS, AccountRecord, new_consent, new_destination
from sync.state.page import PageRules, Session

log = logging.getLogger("sync.page")
blueprint = Blueprint("auth", __name__)
View = TypeVar("View", bound=Callable[..., Any])


def signed_in(view: View) -> View:
    """A view for signed-in people only; others go to the sign-in page."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        session = security.current_session()
        if session is None or not session.user_id:
            return redirect("/", 303)
        return view(session, *args, **kwargs)

    return cast(View, wrapped)


@blueprint.get("/")
def home() -> Any:
    session = security.current_session()
    if session is not None and session.user_id:
        return redirect("/card", 303)
    return render_template("signin.html")


@blueprint.get("/auth/teamleader/start")
def teamleader_start() -> Response:
    page = context()
    session = security.start_session(page.state, page.clock, page.settings.session_hours)
    session.flow = {"kind": "teamleader", "state": secrets.token_urlsafe(24)}
    page.state.put_session(session)
    client_id = oauth.client(page.settings, page.secrets, "teamleader")["client_id"]
    return redirect(oauth.teamleader_link(page.settings, client_id, session.flow["state"]), 303)


def _take_flow(kind: str) -> tuple[Session, dict[str, str]]:
    """The session whose flow of `kind` this redirect finishes, its flow used up; a redirect
    that is not this session's (a forged, replayed or stale one) is refused."""
    page = context()
    session = security.current_session()
    flow = dict(session.flow) if session else {}
    given = request.args.get("state", "")
    if session is None or flow.get("kind") != kind or not hmac.compare_digest(given, flow.get("state", "")):
        raise oauth.SignInError("This sign-in was not started here, or was already used: start again.")
    session.flow = {}
    page.state.put_session(session)
    if "error" in request.args or not request.args.get("code"):
        raise oauth.SignInError("The sign-in was cancelled; nothing changed.")
    return session, flow


@blueprint.get("/auth/teamleader")
def teamleader_done() -> Any:
    page = context()
    try:
        _take_flow("teamleader")
        person = oauth.teamleader_person(page.settings, page.secrets, page.http, request.args["code"])
    except oauth.SignInError as exc:
        return message("Not signed in", str(exc), 400)
    record = page.state.account(person.account_id)
    if record is None:
        if not page.settings.may_connect(person.account_id):
            return message(
                "Not available for your account",
                f"Your Teamleader account ({person.account_id}) is not connected to this service, "
                "and may not be connected from this page. Ask the service's operator to allow it.",
                403,
            )
        _connect_account(page, person)
    elif page.state.page_rules(person.account_id) is None:
        # Connected by an operator at a terminal: its page rules start empty (no admin yet).
        page.state.put_page_rules(PageRules(person.account_id))
    # A new session id at sign-in: one planted before it is worth nothing after.
    session = security.start_session(page.state, page.clock, page.settings.session_hours)
    session.user_id, session.account_id, session.name, session.teams = (
        person.user_id,
        person.account_id,
        person.name,
        person.teams,
    )
    page.state.put_session(session)
    return redirect("/card", 303)


def _connect_account(page: PageContext, person: oauth.Person) -> None:
    """The first allowed person of an account connects it: their refresh token becomes the
    connection's (as `connect teamleader` does), the webhook is registered, and they are its
    first admin."""
    prefix = page.settings.secret_prefix
    secret = f"{prefix}{person.account_id}-teamleader-tokens"
    tokens = person.tokens
    page.secrets.write(
        secret,
        json.dumps(
            {
                "refresh_token": tokens["refresh_token"],
                "access_token": tokens["access_token"],
                "expires_at": tokens["expires_at"],
            }
        ),
    )
    record = AccountRecord(
        person.account_id, teamleader_secret=secret, destinations=[], added_at=datetime.now(UTC).isoformat()
    )
    page.state.put_account(record)
    page.state.put_page_rules(PageRules(person.account_id, admins=[person.user_id]))
    if page.settings.webhook_url is not None:
        try:
            from sync.serve.cli.webhooks import register_webhook

            register_webhook(page.settings, page.state, record)
        except Exception:
            # The hourly run still reads every change; `webhooks register` can add it later.
            log.warning("webhook registration failed", exc_info=True, extra={"account": person.account_id})


@blueprint.post("/signout")
def sign_out() -> Response:
    security.end_session(context().state)
    return redirect("/", 303)


@blueprint.get("/auth/google/start")
@signed_in
def google_start(session: Session) -> Any:
    page = context()
    rules = page.state.page_rules(session.account_id)
    refusal = "Your account is not connected." if rules is None else access.may_turn_on(rules, session)
    if refusal:
        return message("Not allowed", refusal, 403)
    verifier, challenge = oauth.new_verifier()
    session.flow = {"kind": "google", "state": secrets.token_urlsafe(24), "verifier": verifier}
    page.state.put_session(session)
    client_id = oauth.client(page.settings, page.secrets, "google-web")["client_id"]
    return redirect(oauth.google_link(page.settings, client_id, session.flow["state"], challenge), 303)


@blueprint.get("/auth/google")
def google_done() -> Any:
    page = context()
    try:
        session, flow = _take_flow("google")
        code = request.args["code"]
        address, refresh_token = oauth.google_grant(page.settings, page.secrets, page.http, code, flow["verifier"])
    except oauth.SignInError as exc:
        return message("Google not connected", str(exc), 400)
    record = page.state.account(session.account_id)
    rules = page.state.page_rules(session.account_id)
    if record is None or rules is None or not session.user_id:
        return message("Google not connected", "Sign in with Teamleader first.", 403)
    refusal = access.may_turn_on(rules, session) or access.domain_refused(rules, address)
    if refusal:
        return message("Google not connected", refusal, 403)
    destination = record.destination(address)
    owner = next((user for user, name in rules.owners.items() if destination and name == destination.name), None)
    if owner is not None and owner != session.user_id:
        return message("Google not connected", f"{address} is already connected by someone else.", 403)
    if destination is None:
        if len(record.targets) >= MAX_DESTINATIONS:
            return message("Google not connected", "This account serves as many people as it can.", 403)
        destination = new_destination(record.account_id, address, page.settings.secret_prefix)
        record.targets.append(destination)
    page.secrets.write(destination.google_secret, json.dumps({"refresh_token": refresh_token, "client": "google-web"}))
    destination.status, destination.reason = "ok", None
    destination.google_consent = new_consent()
    destination.rejoin()  # connected again before the grace period ends: the copy stays
    previous = rules.owners.get(session.user_id)
    for other in record.targets:
        # One Google account per person: the one they connected before stops receiving, and
        # its copy is removed after the grace period.
        if previous and other.name == previous != destination.name:
            other.leave("replaced on the page by another Google account of its person", iso(page.clock()))
    rules.owners[session.user_id] = destination.name
    destination.teamleader_user = session.user_id
    page.state.put_account(record)
    page.state.put_page_rules(rules)
    # The first run starts now, not at the next tick.
    page.start_run(record.account_id, address, False)
    return redirect("/card", 303)
