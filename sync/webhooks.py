"""The webhook receiver: a public endpoint Teamleader posts events to. A webhook is a hint,
never data: the receiver keeps only the event's type and its subject's id, as a hint for the
connection, and the sync reads that contact or company again through the API.

Teamleader signs nothing and cannot present a Google identity, so the address itself carries a
per-connection secret: POST /ACCOUNT/TOKEN, the token 256 random bits whose SHA-256 alone is
stored, compared in constant time. An unknown account or token gets 404 and costs no API call;
other methods 405, bodies over 64 KB 413, anything but a known event about an id 400; hints
are capped per connection. A forged or replayed request can at most make the sync read a real
contact again.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
from collections.abc import Callable
from typing import Any, cast

from flask import Request, Response

from sync.http_api import answer
from sync.state.port import HintKind, StateStore
from sync.webhook_setup import EVENT_TYPES, token_digest

log = logging.getLogger("sync.webhooks")
MAX_BODY_BYTES = 64 * 1024
# Teamleader's ids are UUIDs; anything else is not one of its records.
SUBJECT_ID = re.compile(r"[0-9A-Za-z-]{1,64}")
PATH = re.compile(r"/([a-z0-9][a-z0-9-]{0,62})/([A-Za-z0-9_-]{20,100})/?")


class Receiver:
    """Turns Teamleader's webhook requests into hints; `trigger(account)` is called after each
    accepted one (to start a targeted run, or leave it to the one in progress)."""

    def __init__(self, state: StateStore, *, cap: int, trigger: Callable[[str], None] | None = None) -> None:
        self._state = state
        self._cap = cap
        self._trigger = trigger

    def __call__(self, request: Request) -> Response:
        if request.method != "POST":
            return answer(405, {"error": "webhooks are POSTed"}, {"Allow": "POST"})
        match = PATH.fullmatch(request.path)
        if match is None:
            return answer(404, {"error": "not found"})
        # Never more than the limit is read, whatever Content-Length says (or does not).
        body = request.stream.read(MAX_BODY_BYTES + 1)
        if len(body) > MAX_BODY_BYTES:
            return answer(413, {"error": "body too large"})
        account, token = match.groups()
        record = self._state.account(account)
        stored = record.webhook_token_sha256 if record is not None else None
        # Compared in constant time whether or not the account exists, so neither answers sooner.
        if not hmac.compare_digest(token_digest(token), stored or "0" * 64) or stored is None:
            return answer(404, {"error": "not found"})
        event = _event(body)
        if event is None:
            return answer(400, {"error": "expected a JSON event: a known type and subject.id"})
        kind, teamleader_id = event
        self._state.add_hint(account, kind, teamleader_id, self._cap)
        log.info("webhook taken as a hint", extra={"account": account})
        if self._trigger is not None:
            self._trigger(account)
        return answer(202, {"accepted": True})


def _event(body: bytes) -> tuple[HintKind, str] | None:
    """The kind and id an event is about, or None for anything else."""
    try:
        data: Any = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("type") not in EVENT_TYPES:
        return None
    subject = data.get("subject")
    teamleader_id = subject.get("id") if isinstance(subject, dict) else None
    if not isinstance(teamleader_id, str) or not SUBJECT_ID.fullmatch(teamleader_id):
        return None
    return cast(HintKind, str(data["type"]).split(".", 1)[0]), teamleader_id
