"""Logs as one JSON object per line, with the fields Cloud Logging reads as they are."""

from __future__ import annotations

import json
import logging
import os
import sys
import traceback
from contextvars import ContextVar
from types import TracebackType
from typing import Any

account_var: ContextVar[str | None] = ContextVar("account", default=None)
run_var: ContextVar[str | None] = ContextVar("run_id", default=None)
# The destination (a team member's Google account, by its name, never its address) a line is about.
destination_var: ContextVar[str | None] = ContextVar("destination", default=None)
# The innermost frames say where a failure happened; more is noise in a log line.
MAX_FRAMES = 12


def _frames(tb: TracebackType | None) -> list[str]:
    return [f"{f.filename}:{f.lineno} in {f.name}" for f in traceback.extract_tb(tb)][-MAX_FRAMES:]


def _chain(error: BaseException) -> list[str]:
    """The types of the exceptions that led to this one, outermost first."""
    found: list[str] = []
    cause = error.__cause__ or error.__context__
    while cause is not None and len(found) < 5:
        found.append(type(cause).__name__)
        cause = cause.__cause__ or cause.__context__
    return found


class JsonFormatter(logging.Formatter):
    """severity, message, account, run_id, and the logger name. An exception is logged by its
    type, the types of its causes and its frames (file, line, function): where it happened,
    never what its text says, so that a token or an address inside an exception's message or
    a frame's variables never reaches the logs."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "severity": record.levelname,
            "message": record.getMessage(),
            "logger": record.name,
            "account": getattr(record, "account", None) or account_var.get(),
            "run_id": getattr(record, "run_id", None) or run_var.get(),
        }
        if destination := getattr(record, "destination", None) or destination_var.get():
            entry["destination"] = destination
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            entry["error_type"] = type(error).__name__
            entry["error_causes"] = _chain(error)
            entry["frames"] = _frames(record.exc_info[2])
        for key in ("counts", "error_id", "status", "failures_in_a_row", "progress"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure(level: int = logging.INFO) -> None:
    """Send the root logger's records to stderr as JSON lines, at `level` unless the
    environment asks for another (SYNC_LOG_LEVEL=DEBUG, WARNING, …)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    named = os.environ.get("SYNC_LOG_LEVEL", "").upper()
    root.setLevel(logging.getLevelName(named) if named in logging.getLevelNamesMapping() else level)
    # Client libraries log request URLs and bodies at DEBUG; keep them quiet.
    for noisy in ("httpx", "httpcore", "googleapiclient", "google", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
