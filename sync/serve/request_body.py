"""A request's body, read only when the handler asks, only so much, and only so long.

The public functions must not spend a worker on a body they refuse, nor wait on a client that
announces 60,000 bytes and sends four. Flask reads nothing by itself, but two layers under it
do: functions-framework reads the whole body after every answer (an `after_request` hook that
calls `get_data()`), and the WSGI server drains what is left before it reuses the connection
(gunicorn for seconds). So a handler's first act is to fence the body: the framework then
sees an empty stream, the handler reads through `Body.read` with a byte limit and a deadline
(a timer shuts the socket's read side when it passes, whatever the client trickles), and
`Body.close` shuts the read side of a connection whose body was left unread, so that the server
answers and closes instead of draining it.
"""

from __future__ import annotations

import io
import socket
import threading
from typing import Any

from flask import Request

# Where the WSGI servers we run under put the client's socket.
SOCKET_KEYS = ("gunicorn.socket", "werkzeug.socket")
CHUNK = 16 * 1024


class BodyError(ValueError):
    """A body that could not be taken: too large, too slow, or cut short. `status` is the
    HTTP status that says so."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Body:
    """The fenced body of one request."""

    def __init__(self, environ: dict[str, Any]) -> None:
        self._raw = environ.get("wsgi.input") or io.BytesIO()
        # gunicorn ends the stream itself (Content-Length or chunks); werkzeug's server marks
        # chunked input so and otherwise hands over the bare socket file.
        self._terminated = bool(environ.get("wsgi.input_terminated"))
        self._length = _content_length(environ.get("CONTENT_LENGTH"))
        self._socket: socket.socket | None = next(
            (s for key in SOCKET_KEYS if isinstance(s := environ.get(key), socket.socket)), None
        )
        self._finished = self._length == 0 or (self._length is None and not self._terminated)
        environ["wsgi.input"] = io.BytesIO()
        environ["wsgi.input_terminated"] = True

    @classmethod
    def fence(cls, request: Request) -> Body:
        """Take the body away from everything but this object (before anything reads it)."""
        return cls(request.environ)

    def read(self, limit: int, deadline_seconds: float) -> bytes:
        """The whole body, at most `limit` bytes, within `deadline_seconds`; else BodyError."""
        if self._finished:
            return b""
        if self._length is not None and self._length > limit:
            raise BodyError(413, f"the body is larger than {limit} bytes")
        wanted = limit + 1 if self._length is None else self._length
        expired = threading.Event()
        timer = threading.Timer(deadline_seconds, self._expire, args=(expired,))
        timer.daemon = True
        timer.start()
        parts: list[bytes] = []
        size = 0
        try:
            while size < wanted:
                chunk = self._raw.read(min(CHUNK, wanted - size))
                if not chunk:
                    break
                parts.append(chunk)
                size += len(chunk)
        except Exception:
            # A socket shut by the deadline, reset by the client, or a malformed chunk: the
            # body cannot be had, and the connection must not be reused.
            if not expired.is_set():
                raise BodyError(400, "the body could not be read") from None
        finally:
            timer.cancel()
        if expired.is_set():
            raise BodyError(408, f"the body did not arrive within {deadline_seconds:g} s")
        if size > limit:
            raise BodyError(413, f"the body is larger than {limit} bytes")
        if self._length is not None and size < self._length:
            raise BodyError(400, "the body ended before its Content-Length")
        self._finished = True
        return b"".join(parts)

    def _expire(self, expired: threading.Event) -> None:
        expired.set()
        self._stop_reading()

    def close(self) -> bool:
        """Stop the server from reading a body the handler left unread: True when the
        connection's read side was shut for that."""
        if self._finished:
            return False
        return self._stop_reading()

    def _stop_reading(self) -> bool:
        if self._socket is None:
            return False
        try:
            self._socket.shutdown(socket.SHUT_RD)
        except OSError:
            return False
        return True


def _content_length(value: object) -> int | None:
    if not isinstance(value, str) or not value.strip().isdigit():
        return None
    return int(value)
