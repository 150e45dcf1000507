"""The Cloud Function's request handling: parse and validate, call the runner, answer JSON.

POST runs: 200 with the invocation report, 400 bad parameter, 404 unknown account (or user of
it), 409 account busy, 500 with an error id (never a stack trace or a secret). GET answers every account's
status, as `python -m sync status` shows it. Any other method: 405.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from typing import Any, get_args

import orjson
from flask import Request, Response, jsonify

from sync.errors import AccountBusyError, UnknownAccountError
from sync.ports import Mode
from sync.serve.dispatch import TASK_PATH, Dispatcher
from sync.serve.request_body import Body, BodyError
from sync.serve.runner import Runner
from sync.serve.status import account_statuses
from sync.serve.task_api import BadTaskError, parse_task, run_task

log = logging.getLogger("sync.http")
PARAMETERS = {"account", "user", "mode", "dry_run", "allow_deletions", "scheduled", "targeted"}
MODES = set(get_args(Mode))
FLAG_NAMES = ("dry_run", "allow_deletions", "scheduled", "targeted")
FLAGS = {"1": True, "true": True, "0": False, "false": False, "": False}
MAX_BODY_BYTES = 64 * 1024
# A body still arriving after this long is refused (408) and its connection closed.
READ_SECONDS = 5.0


class BadRequestError(ValueError):
    """A parameter the function does not understand."""


def parse(request: Request, body: bytes = b"") -> dict[str, Any]:
    """The run's parameters from the query string and, optionally, a JSON object body whose
    values are strings (flags may also be JSON booleans); any other type is refused, never
    turned into a string."""
    values: dict[str, Any] = dict(request.args.items())
    if body:
        try:
            # orjson refuses nesting past 1,024 levels with a ValueError, where json recurses.
            data = orjson.loads(body)
        except ValueError:
            raise BadRequestError("the body must be a JSON object (or empty)") from None
        if not isinstance(data, dict):
            raise BadRequestError("the body must be a JSON object (or empty)")
        for name, value in data.items():
            if isinstance(value, bool) and name in FLAG_NAMES:
                value = "1" if value else "0"
            if not isinstance(value, str):
                raise BadRequestError(f"{name[:40]!r} must be a string")
            values[name] = value
    unknown = set(values) - PARAMETERS
    if unknown:
        shown = ", ".join(repr(name[:40]) for name in sorted(unknown)[:5])
        raise BadRequestError(f"unknown parameter(s): {shown}")
    mode = values.get("mode", "incremental")
    if mode not in MODES:
        raise BadRequestError("mode must be incremental or full")
    flags = {}
    for name in FLAG_NAMES:
        flag = values.get(name, "").lower()
        if flag not in FLAGS:
            raise BadRequestError(f"{name} must be 1, 0, true or false")
        flags[name] = FLAGS[flag]
    account = values.get("account")
    if account is not None and (not account or len(account) > 200):
        raise BadRequestError("account must be a registered account id")
    if flags["allow_deletions"] and account is None:
        raise BadRequestError("allow_deletions needs one account")
    if flags["scheduled"] and account is not None:
        raise BadRequestError("scheduled serves the accounts whose turn it is: name no account")
    user = values.get("user")
    if user is not None and (account is None or "@" not in user or len(user) > 320):
        raise BadRequestError("user must be the e-mail address of a Google user of the named account")
    return {"account": account, "user": user, "mode": mode, **flags}


def answer(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    """A JSON answer with its status and headers."""
    response = jsonify(body)
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def internal_error(what: str, status: int = 500) -> Response:
    """Log the exception being handled with an error id (never the request's path) and
    answer that id alone."""
    error_id = uuid.uuid4().hex[:12]
    log.error(what, exc_info=True, extra={"error_id": error_id})
    return answer(status, {"error": "internal error", "error_id": error_id})


class Handler:
    """Turns requests into runs. The runner is built on first use and kept for the instance's
    life (clients and connections are reused across invocations). With a dispatcher (runs
    dispatched as tasks), a scheduled tick enqueues the due connections' tasks, and POST /task
    runs one."""

    def __init__(
        self, make_runner: Callable[[], Runner], make_dispatcher: Callable[[Runner], Dispatcher | None] | None = None
    ) -> None:
        self._make_runner = make_runner
        self._make_dispatcher = make_dispatcher or (lambda runner: None)
        self._runner: Runner | None = None
        self._dispatcher: Dispatcher | None = None
        self._lock = threading.Lock()

    def _get_runner(self) -> Runner:
        with self._lock:
            if self._runner is None:
                self._runner = self._make_runner()
            return self._runner

    def _get_dispatcher(self) -> Dispatcher | None:
        runner = self._get_runner()
        with self._lock:
            if self._dispatcher is None:
                self._dispatcher = self._make_dispatcher(runner)
            return self._dispatcher

    def __call__(self, request: Request, body: Body | None = None) -> Response:
        """Answer one request; `body` is its fenced body (fenced here when not given)."""
        body = body or Body.fence(request)
        if request.method == "GET":
            return self._status()
        if request.method != "POST":
            return answer(405, {"error": "use POST to sync, GET for the status"}, {"Allow": "GET, POST"})
        if request.path == TASK_PATH:
            return self._task(body)
        try:
            params = parse(request, body.read(MAX_BODY_BYTES, READ_SECONDS))
        except BodyError as exc:
            return answer(exc.status, {"error": str(exc)})
        except BadRequestError as exc:
            return answer(400, {"error": str(exc)})
        plain_tick = (
            params["scheduled"] and not (params["targeted"] or params["dry_run"]) and params["mode"] == "incremental"
        )
        try:
            if plain_tick and (dispatcher := self._get_dispatcher()) is not None:
                enqueued = dispatcher.tick()
                return answer(503 if enqueued["failed"] else 200, enqueued)
            invocation = self._get_runner().run(**params)
        except UnknownAccountError as exc:
            return answer(404, {"error": f"unknown account: {exc}"})
        except AccountBusyError as exc:
            return answer(409, {"error": f"account busy: another invocation is syncing {exc}"})
        except Exception:
            return internal_error("invocation failed")
        return answer(200, invocation.to_json())

    def _task(self, body: Body) -> Response:
        """One task's run (sync/serve/task_api.py)."""
        try:
            dispatcher = self._get_dispatcher()
            if dispatcher is None:
                return answer(404, {"error": "runs are not dispatched as tasks here"})
            task = parse_task(body.read(MAX_BODY_BYTES, READ_SECONDS))
        except BodyError as exc:
            return answer(exc.status, {"error": str(exc)})
        except BadTaskError as exc:
            return answer(400, {"error": str(exc)})
        try:
            status, data = run_task(dispatcher, task)
        except Exception:
            return internal_error("task failed")
        return answer(status, data)

    def _status(self) -> Response:
        try:
            statuses = account_statuses(self._get_runner().state)
        except Exception:
            return internal_error("status failed")
        return answer(200, {"accounts": statuses})


def serve(request: Request, handle: Callable[[Request, Body], Response], *, failure_status: int = 500) -> Response:
    """An entry point's whole answer: the body fenced before anything can read it, any failure
    answered with an error id and logged without the request's path (which may carry a
    secret), and the server stopped from reading a body the handler left unread."""
    body = Body.fence(request)
    try:
        response = handle(request, body)
    except Exception:
        response = internal_error("request failed", failure_status)
    if body.close():
        response.headers["Connection"] = "close"
    return response
