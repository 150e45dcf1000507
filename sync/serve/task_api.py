"""A task's run on the sync function (`POST /task`, from Cloud Tasks): one connection, as its
task says. Who may call is Cloud Run's invoker check (the function is private: the tasks
service account, the scheduler's, the receiver's and the page's runtime are its invokers), as
for every other request to this function; the token is not read again here.

Answers, as Cloud Tasks reads them (anything but 2xx is tried again after the queue's back-off):
200 the run's report, or a recorded skip (a connection gone, or served since the task was
enqueued: a task delivered again after it ran runs nothing); 400 a body that is not a task (the queue
gives up after its attempts); 409 the connection is leased by a run going on: the queue tries
again later. 409 rather than 429 or 503, which Cloud Tasks also takes as a sign to slow the whole
queue down: one busy connection says nothing about the function's capacity."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import orjson

from sync.errors import AccountBusyError, AlreadyServedError, UnknownAccountError
from sync.serve.dispatch import KINDS, Dispatcher, Kind
from sync.serve.runner import Invocation

log = logging.getLogger("sync.task")
FIELDS = {"task", "account", "after", "user", "allow_deletions"}
# The kinds that serve a connection's turn, and carry the last run they follow.
TURNS = ("tick", "continue")


class BadTaskError(ValueError):
    """A body that is not one of the tasks the dispatcher makes."""


@dataclass(frozen=True)
class TaskRequest:
    """What a task asks for."""

    kind: Kind
    account: str
    # The connection's last run when the task was enqueued ("" for none); turns only.
    after: str | None = None
    user: str | None = None
    allow_deletions: bool = False


def parse_task(body: bytes) -> TaskRequest:
    """The task from its JSON object body of strings; anything else is a BadTaskError."""
    try:
        data = orjson.loads(body)
    except ValueError:
        raise BadTaskError("the body must be a task's JSON object") from None
    if not isinstance(data, dict) or set(data) - FIELDS or not all(isinstance(v, str) for v in data.values()):
        raise BadTaskError("the body must be a task's JSON object of strings")
    kind, account = data.get("task"), data.get("account", "")
    if kind not in KINDS:
        raise BadTaskError(f"task must be one of {', '.join(KINDS)}")
    if not 0 < len(account) <= 200:
        raise BadTaskError("account must be a registered account id")
    after = data.get("after")
    if (kind in TURNS) != (after is not None) or not _time_or_nothing(after or ""):
        raise BadTaskError("a turn's task, and only one, names the last run it follows (an ISO time, or empty)")
    user, deletions = data.get("user"), data.get("allow_deletions", "0")
    if (kind == "person") != (user is not None) or (user is not None and not 0 < len(user) <= 320):
        raise BadTaskError("a person's task, and only one, names its user")
    if deletions not in ("0", "1") or (deletions == "1" and kind != "person"):
        raise BadTaskError("allow_deletions is 0 or 1, in a person's task only")
    return TaskRequest(cast(Kind, kind), account, after, user, deletions == "1")


def run_task(dispatcher: Dispatcher, task: TaskRequest) -> tuple[int, dict[str, Any]]:
    """Serve the task's connection; its status and JSON answer."""
    runner = dispatcher.runner
    try:
        if task.kind == "person":
            invocation = runner.run(account=task.account, user=task.user, allow_deletions=task.allow_deletions)
        else:
            invocation = runner.run(task=task.account, targeted=task.kind == "hints", after=task.after)
    except UnknownAccountError:
        return 200, {"skipped": "unknown account or user"}
    except AlreadyServedError:
        # At least once: this task ran already (or a later one did); its turn is served.
        return 200, {"skipped": "served since the task was enqueued"}
    except AccountBusyError:
        return 409, {"error": "account busy: another run holds its lease; the queue tries again later"}
    if task.kind != "hints" and _unfinished(invocation):
        stored = runner.state.account(task.account)
        if stored is not None and stored.last_run:
            dispatcher.continuation(task.account, stored.last_run)
    return 200, invocation.to_json()


def _time_or_nothing(value: str) -> bool:
    if not value:
        return True
    try:
        return len(value) <= 40 and datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False


def _unfinished(invocation: Invocation) -> bool:
    """Whether the run stopped at its time budget with contacts left to read (not for a
    problem a person must solve, such as a full Google account)."""
    for outcome in invocation.accounts:
        for lane in (outcome.report or {}).get("destinations", []):
            if lane.get("status") == "partial" and not lane.get("problem"):
                return True
    return False
