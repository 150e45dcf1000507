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

from flask import Request, Response, jsonify

from sync.errors import AccountBusyError, UnknownAccountError
from sync.ports import Mode
from sync.runner import Runner
from sync.status import account_statuses

log = logging.getLogger("sync.http")
PARAMETERS = {"account", "user", "mode", "dry_run", "allow_deletions", "scheduled", "targeted"}
MODES = set(get_args(Mode))
FLAGS = {"1": True, "true": True, "0": False, "false": False, "": False}


class BadRequestError(ValueError):
    """A parameter the function does not understand."""


def parse(request: Request) -> dict[str, Any]:
    """The run's parameters from the query string and, optionally, a JSON object body."""
    values: dict[str, Any] = dict(request.args.items())
    if request.get_data():
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise BadRequestError("the body must be a JSON object (or empty)")
        values.update({k: v if isinstance(v, str) else str(v).lower() for k, v in body.items()})
    unknown = set(values) - PARAMETERS
    if unknown:
        raise BadRequestError(f"unknown parameter(s): {', '.join(sorted(unknown))}")
    mode = values.get("mode", "incremental")
    if mode not in MODES:
        raise BadRequestError("mode must be incremental or full")
    flags = {}
    for name in ("dry_run", "allow_deletions", "scheduled", "targeted"):
        flag = str(values.get(name, "")).lower()
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


class Handler:
    """Turns requests into runs. The runner is built on first use and kept for the instance's
    life (clients and connections are reused across invocations)."""

    def __init__(self, make_runner: Callable[[], Runner]) -> None:
        self._make_runner = make_runner
        self._runner: Runner | None = None
        self._lock = threading.Lock()

    def _get_runner(self) -> Runner:
        with self._lock:
            if self._runner is None:
                self._runner = self._make_runner()
            return self._runner

    def __call__(self, request: Request) -> Response:
        if request.method == "GET":
            return self._status()
        if request.method != "POST":
            return answer(405, {"error": "use POST to sync, GET for the status"}, {"Allow": "GET, POST"})
        try:
            params = parse(request)
        except BadRequestError as exc:
            return answer(400, {"error": str(exc)})
        try:
            invocation = self._get_runner().run(**params)
        except UnknownAccountError as exc:
            return answer(404, {"error": f"unknown account: {exc}"})
        except AccountBusyError as exc:
            return answer(409, {"error": f"account busy: another invocation is syncing {exc}"})
        except Exception:
            error_id = uuid.uuid4().hex[:12]
            log.error("invocation failed", exc_info=True, extra={"error_id": error_id})
            return answer(500, {"error": "internal error", "error_id": error_id})
        return answer(200, invocation.to_json())

    def _status(self) -> Response:
        try:
            statuses = account_statuses(self._get_runner().state)
        except Exception:
            error_id = uuid.uuid4().hex[:12]
            log.error("status failed", exc_info=True, extra={"error_id": error_id})
            return answer(500, {"error": "internal error", "error_id": error_id})
        return answer(200, {"accounts": statuses})
