"""The page's security in one place: the session cookie (a random id, nothing else; the
session itself in the state store, with an expiry), a CSRF token checked on every unsafe
request before any view runs (no view opts out), and the headers of every answer.

After warehouse's csp, csrf and sessions: one policy, one check, one middleware."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, abort, g, request

from sync.state.page import PageStore, Session

COOKIE = "tl_page_session"
CSRF_FIELD = "csrf"
SAFE_METHODS = {"GET", "HEAD"}
# No script at all; styles from the page's own stylesheet; forms post back to the page only;
# never framed (clickjacking); no <base> to move relative links elsewhere.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
    # An authorization code in the address must never travel on in a Referer.
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Pages show a person's contacts' names: no shared cache keeps them.
    "Cache-Control": "no-store",
}


def new_session(store: PageStore, now: float, hours: float) -> Session:
    """A fresh session with a new random id and CSRF token, stored."""
    session = Session(secrets.token_urlsafe(32), now + hours * 3600, csrf=secrets.token_urlsafe(32))
    store.put_session(session)
    return session


def current_session() -> Session | None:
    """The request's session, if the cookie names a live one."""
    found: Session | None = g.get("page_session")
    return found


def install(app: Flask, store: PageStore, clock: Callable[[], float]) -> None:
    """Load the session before every request, refuse an unsafe one without its CSRF token,
    and set the headers (and the cookie of a new session) on every answer."""

    @app.before_request
    def load_and_check() -> None:
        session_id = request.cookies.get(COOKIE, "")
        g.page_session = store.session(session_id, clock()) if 0 < len(session_id) <= 100 else None
        if request.method in SAFE_METHODS:
            return
        session = g.page_session
        sent = request.form.get(CSRF_FIELD, "") if request.content_length and request.content_length < 65536 else ""
        if session is None or not session.csrf or not hmac.compare_digest(sent, session.csrf):
            abort(403, "This form is out of date or did not come from this page: open the page again.")

    @app.after_request
    def headers(response: Response) -> Response:
        for name, value in HEADERS.items():
            response.headers[name] = value
        fresh: Session | None = g.get("new_session")
        if fresh is not None:
            set_cookie(response, fresh)
        if g.get("end_session"):
            response.delete_cookie(COOKIE, path="/", secure=True, httponly=True, samesite="Lax")
        return response


def start_session(store: PageStore, clock: Callable[[], float], hours: float) -> Session:
    """Replace the request's session by a new one (a new id at every sign-in: an id planted
    before it is worth nothing after), whose cookie the answer sets."""
    old = current_session()
    if old is not None:
        store.drop_session(old.session_id)
    session = new_session(store, clock(), hours)
    g.page_session = g.new_session = session
    return session


def end_session(store: PageStore) -> None:
    """Sign out: the session dropped from the store and its cookie cleared."""
    old = current_session()
    if old is not None:
        store.drop_session(old.session_id)
    g.page_session = None
    g.end_session = True


def set_cookie(response: Response, session: Session) -> None:
    """The session cookie: the id alone, out of scripts' reach, sent over TLS only, and not
    with cross-site POSTs. No max-age: the store's expiry is the one that counts."""
    response.set_cookie(
        COOKIE,
        session.session_id,
        path="/",
        secure=True,
        httponly=True,
        samesite="Lax",
    )


def template_globals() -> dict[str, Any]:
    """What every template may use: the session's CSRF token for its forms."""
    session = current_session()
    return {"csrf_token": session.csrf if session else "", "signed_in": bool(session and session.user_id)}
