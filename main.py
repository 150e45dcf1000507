"""The Cloud Functions' entry points: `sync_http`, fired by Cloud Scheduler or by hand,
`receive_webhook`, the public receiver of Teamleader's webhooks (a function of its own), and
`page_http`, the people's page (public, a function of its own).

curl -X POST -H "Authorization: Bearer $(gcloud auth print-identity-token)" "$URL?account=acme"
"""

from __future__ import annotations

import io
from collections.abc import Callable

import functions_framework
import httpx
from flask import Flask, Request, Response

from sync import logs, runtime
from sync.config import load_settings, url
from sync.serve import triggers
from sync.serve.dispatch import Dispatcher
from sync.serve.http_api import Handler, serve
from sync.serve.queue_wiring import open_queue
from sync.serve.receiver import Receiver
from sync.serve.request_body import Body, BodyError
from sync.serve.runner import Runner
from sync.serve.wiring import open_secrets, open_state

logs.configure()
runtime.tune_garbage_collector()


def _make_runner() -> Runner:
    settings = load_settings()
    return Runner(settings, open_state(settings), open_secrets(settings))


def _make_dispatcher(runner: Runner) -> Dispatcher | None:
    """With dispatch=tasks, the dispatcher on the configured queue."""
    queue = open_queue(runner.settings)
    return Dispatcher(queue, runner) if queue is not None else None


handler = Handler(_make_runner, _make_dispatcher)
_receiver: Receiver | None = None
_page: Flask | None = None
PAGE_BODY_BYTES = 64 * 1024


def _get_receiver() -> Receiver:
    """The receiver, built on first use; it enqueues targeted runs as tasks (dispatch=tasks),
    or asks the sync function for them when one is configured, else runs them in this process."""
    global _receiver
    if _receiver is None:
        settings = load_settings()
        state = open_state(settings)
        queue = open_queue(settings)
        if queue is not None:
            trigger: Callable[[str], None] = Dispatcher(queue, Runner(settings, state, open_secrets(settings))).targeted
        elif settings.sync_function_url:
            trigger = triggers.over_http(url(settings.sync_function_url), _identity_token, httpx.Client())
        else:
            trigger = triggers.in_process(Runner(settings, state, open_secrets(settings)))
        _receiver = Receiver(
            state, cap=settings.webhook_hint_cap, trigger=trigger, read_seconds=settings.body_read_seconds
        )
    return _receiver


@functions_framework.http
def sync_http(request: Request) -> Response:
    """POST / syncs every enabled account (scheduled=1: the ones whose turn it is); ?account=ID
    one; mode=full; dry_run=1; allow_deletions=1. GET / answers every account's status."""
    return serve(request, handler)


@functions_framework.http
def receive_webhook(request: Request) -> Response:
    """POST /ACCOUNT/TOKEN with a Teamleader event: taken as a hint, the change read again
    through the API in a targeted run. Public: the token in the address is the credential,
    checked before the body is read. A failure of ours is a 503: Teamleader may try again."""
    return serve(request, lambda request, body: _get_receiver()(request, body), failure_status=503)


def _identity_token(audience: str) -> str:
    from google.auth.transport.requests import Request as AuthRequest
    from google.oauth2 import id_token

    return str(id_token.fetch_id_token(AuthRequest(), audience))


def _get_page() -> Flask:
    """The page's app, built on first use; a person's run is a task (dispatch=tasks), or goes
    to the sync function when one is configured, else runs in this process."""
    global _page
    if _page is None:
        from sync.serve.page import PageContext, create_app, runs

        settings = load_settings()
        state, secrets = open_state(settings), open_secrets(settings)
        queue = open_queue(settings)
        if queue is not None:
            start: Callable[[str, str, bool], None] = Dispatcher(queue, Runner(settings, state, secrets)).person
        elif settings.sync_function_url:
            start = runs.over_http(url(settings.sync_function_url), _identity_token, httpx.Client())
        else:
            start = runs.in_process(Runner(settings, state, secrets))
        _page = create_app(PageContext(settings, state, secrets, start))
    return _page


def _page_answer(request: Request, body: Body) -> Response:
    """The page's answer; a form's body read (at most 64 KiB, within the read deadline) and
    handed to the app as its own stream."""
    app = _get_page()
    environ = request.environ
    if request.method not in ("GET", "HEAD"):
        try:
            data = body.read(PAGE_BODY_BYTES, load_settings().body_read_seconds)
        except BodyError as exc:
            return Response(str(exc), exc.status, mimetype="text/plain")
        environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(data), str(len(data))
    with app.request_context(environ):
        answer: Response = app.full_dispatch_request()
        return answer


@functions_framework.http
def page_http(request: Request) -> Response:
    """The people's page: sign in with Teamleader, connect Google, one's own card, the admin's
    view. Public: every unsafe request carries the session's CSRF token."""
    return serve(request, _page_answer)
