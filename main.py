"""The Cloud Function entry point: `sync_http`, fired hourly by Cloud Scheduler or by hand.

curl -X POST -H "Authorization: Bearer $(gcloud auth print-identity-token)" "$URL?account=acme"
"""

from __future__ import annotations

import functions_framework
from flask import Request, Response

from sync import logs
from sync.config import load_settings
from sync.http_api import Handler
from sync.runner import Runner
from sync.wiring import open_secrets, open_state

logs.configure()


def _make_runner() -> Runner:
    settings = load_settings()
    return Runner(settings, open_state(settings), open_secrets(settings))


handler = Handler(_make_runner)


@functions_framework.http
def sync_http(request: Request) -> Response:
    """POST / syncs every enabled account (scheduled=1: the ones whose turn it is); ?account=ID
    one; mode=full; dry_run=1; allow_deletions=1. GET / answers every account's status."""
    return handler(request)
