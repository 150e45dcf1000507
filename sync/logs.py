"""Logs as one JSON object per line, with the fields Cloud Logging reads as they are."""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from typing import Any

account_var: ContextVar[str | None] = ContextVar("account", default=None)
run_var: ContextVar[str | None] = ContextVar("run_id", default=None)


class JsonFormatter(logging.Formatter):
    """severity, message, account, run_id, and the logger name; exceptions by type only, so
    that a token or an address inside an exception's text never reaches the logs."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "severity": record.levelname,
            "message": record.getMessage(),
            "logger": record.name,
            "account": getattr(record, "account", None) or account_var.get(),
            "run_id": getattr(record, "run_id", None) or run_var.get(),
        }
        if record.exc_info and record.exc_info[0] is not None:
            entry["error_type"] = record.exc_info[0].__name__
        for key in ("counts", "error_id", "status"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure(level: int = logging.INFO) -> None:
    """Send the root logger's records to stderr as JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Client libraries log request URLs and bodies at DEBUG; keep them quiet.
    for noisy in ("httpx", "httpcore", "googleapiclient", "google", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
