"""The webhook receiver: a public endpoint Teamleader posts events to. A webhook is a hint,
never data: the receiver keeps only the event's type and its subject's id, as a hint for the
connection, and the sync reads that contact or company again through the API.

Teamleader signs nothing and cannot present a Google identity, so the address itself carries a
per-connection secret: POST /ACCOUNT/TOKEN, the token 256 random bits whose SHA-256 alone is
stored, compared in constant time. The address is checked before a byte of the body is read: an
unknown account or token gets 404, costs no API call and no read of the body, and takes the
same path whether or not the account exists. Other methods 405, bodies over 64 KB 413, bodies
slower than the read deadline 408, anything but a known event about an id 400; hints are capped
per connection. A forged or replayed request can at most make the sync read a real contact again.
"""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Callable
from typing import Any, cast

import orjson
from flask import Request, Response

from sync.serve.http_api import answer
from sync.serve.request_body import Body, BodyError
from sync.state.hints import HintKind
from sync.state.port import StateStore
from sync.teamleader.webhook_setup import EVENT_TYPES, token_digest

log = logging.getLogger("sync.webhooks")
MAX_BODY_BYTES = 64 * 1024
# Teamleader's ids are UUIDs; anything else is not one of its records.
SUBJECT_ID = re.compile(r"[0-9A-Za-z-]{1,64}")
PATH = re.compile(r"/([a-z0-9][a-z0-9-]{0,62})/([A-Za-z0-9_-]{20,100})/?")
# Compared against when the account has no webhook (or does not exist), so that both paths
# do the same work.
NO_DIGEST = "0" * 64


class Receiver:
    """Turns Teamleader's webhook requests into hints; `trigger(account)` is called after each
    accepted one (to start a targeted run, or leave it to the one in progress)."""

    def __init__(
        self,
        state: StateStore,
        *,
        cap: int,
        trigger: Callable[[str], None] | None = None,
        read_seconds: float = 5.0,
    ) -> None:
        self._state = state
        self._cap = cap
        self._trigger = trigger
        self._read_seconds = read_seconds

    def __call__(self, request: Request, body: Body | None = None) -> Response:
        """Answer one request. `body` is the request's fenced body (the entry point fences it
        before anything can read it); fenced here when the caller did not."""
        body = body or Body.fence(request)
        if request.method != "POST":
            return answer(405, {"error": "webhooks are POSTed"}, {"Allow": "POST"})
        match = PATH.fullmatch(request.path)
        if match is None:
            return answer(404, {"error": "not found"})
        account, token = match.groups()
        stored = self._state.webhook_digest(account)
        # One comparison whether or not the account exists or has webhooks.
        if not hmac.compare_digest(token_digest(token), stored or NO_DIGEST) or stored is None:
            return answer(404, {"error": "not found"})
        try:
            event = _event(body.read(MAX_BODY_BYTES, self._read_seconds))
        except BodyError as exc:
            return answer(exc.status, {"error": str(exc)})
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
        # orjson refuses nesting past 1,024 levels with a ValueError, where json recurses.
        data: Any = orjson.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    kind = data.get("type")
    if not isinstance(kind, str) or kind not in EVENT_TYPES:
        return None
    subject = data.get("subject")
    teamleader_id = subject.get("id") if isinstance(subject, dict) else None
    if not isinstance(teamleader_id, str) or not SUBJECT_ID.fullmatch(teamleader_id):
        return None
    return cast(HintKind, kind.split(".", 1)[0]), teamleader_id
