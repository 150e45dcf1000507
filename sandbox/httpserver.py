"""A small threaded JSON HTTP server with a request log and faults switchable at run time.

Each sandbox API is an `App` that turns a `Request` into a `Response`; this module owns the
sockets, so that faults such as "apply the write, then drop the connection" are real TCP
behaviour that the product's HTTP stacks must survive.
"""

from __future__ import annotations

import json
import random
import socket
import threading
import time
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from sandbox.clock import Clock
from sandbox.faults import Faults, Hold, LoggedCall, RequestLog


@dataclass
class Request:
    """One HTTP request as the apps see it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON; an empty body is an empty object."""
        if not self.body:
            return {}
        return json.loads(self.body)

    def arg(self, name: str, default: str | None = None) -> str | None:
        """The first value of a query parameter."""
        values = self.query.get(name)
        return values[0] if values else default

    def bearer(self) -> str | None:
        """The bearer token of the Authorization header, if any."""
        auth = self.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            return auth[7:].strip()
        return None


@dataclass
class Response:
    """What an app answers: a status, a JSON (or raw) body and headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    # Set by apps on requests that changed server state; the drop fault only hits those.
    wrote: bool = False


class DroppedConnectionError(Exception):
    """Raised by fault handling: close the socket without answering."""


class App(Protocol):
    """A sandbox API: answers requests, and shapes the fault answers in its own error format."""

    name: str
    # The time the app lives in, shared by the stack's apps.
    clock: Clock

    def handle(self, request: Request) -> Response: ...

    def error_response(self, status: int, message: str) -> Response: ...

    def control(self, request: Request) -> Response | None: ...


CONTROL_PREFIX = "/_sandbox/"


class SandboxServer:
    """Serves one `App` on 127.0.0.1 in background threads."""

    def __init__(self, app: App, port: int = 0, seed: int = 0) -> None:
        self.app = app
        self.faults = Faults()
        self.log = RequestLog()
        self._random = random.Random(seed)
        self._fault_lock = threading.Lock()
        self._holds: list[Hold] = []
        self._httpd = _QuietServer(("127.0.0.1", port), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> SandboxServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"sandbox-{self.app.name}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _pre_fault(self, path: str) -> int | None:
        """A status to answer instead of calling the app: an outage, or drawn from the rates."""
        with self._fault_lock:
            if self.faults.outage_next > 0 and self.faults.outage_path and path.startswith(self.faults.outage_path):
                self.faults.outage_next -= 1
                return self.faults.outage_status
            if self.faults.throttle_next > 0:
                self.faults.throttle_next -= 1
                return 429
            if self.faults.error_rate and self._random.random() < self.faults.error_rate:
                return self._random.choice([500, 502, 503])
            if self.faults.throttle_rate and self._random.random() < self.faults.throttle_rate:
                return 429
        return None

    def hold(self, path: str, nth: int = 1, *, apply: bool = False) -> Hold:
        """Hold the `nth` request to `path` from now on (see `Hold`)."""
        held = Hold(path, nth, apply)
        with self._fault_lock:
            self._holds.append(held)
        return held

    def _hold_for(self, path: str) -> Hold | None:
        with self._fault_lock:
            for held in self._holds:
                if held.path == path:
                    held.seen += 1
                    if held.seen == held.nth:
                        self._holds.remove(held)
                        return held
        return None

    def _drop_this_write(self) -> bool:
        with self._fault_lock:
            if self.faults.drop_after_write_next > 0:
                self.faults.drop_after_write_next -= 1
                return True
            rate = self.faults.drop_after_write_rate
            return bool(rate) and self._random.random() < rate

    def dispatch(self, request: Request) -> Response:
        """Answer one request: control endpoints, faults, then the app."""
        if request.path.startswith(CONTROL_PREFIX):
            if request.path == CONTROL_PREFIX + "faults":
                if request.method == "POST":
                    try:
                        self.faults.update(request.json())
                    except (ValueError, TypeError) as exc:
                        return Response(400, {"error": str(exc)})
                return Response(200, asdict(self.faults))
            if request.path == CONTROL_PREFIX + "log":
                return Response(200, dict(self.log.counts()))
            answer = self.app.control(request)
            return answer if answer is not None else Response(404, {"error": "no such control"})
        if self.faults.latency_ms and self.faults.virtual_latency:
            self.app.clock.advance(self.faults.latency_ms / 1000)
        elif self.faults.latency_ms:
            time.sleep(self.faults.latency_ms / 1000)
        status = self._pre_fault(request.path)
        if status is not None:
            message = "Too many requests" if status == 429 else "Backend error"
            return self.app.error_response(status, message)
        held = self._hold_for(request.path)
        if held is not None and not held.apply:
            held.arrived.set()
            held.released.wait(120)
            raise DroppedConnectionError
        response = self.app.handle(request)
        if held is not None:
            held.applied = response.wrote
            held.arrived.set()
            held.released.wait(120)
            raise DroppedConnectionError
        if response.wrote and self._drop_this_write():
            raise DroppedConnectionError
        return response

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body leave in two writes: with Nagle's algorithm on, the body waits
            # for the client's delayed ACK, 40 ms a request that no real API charges.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                """Quiet: the request log is the record."""

            def _serve(self) -> None:
                split = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = Request(
                    method=self.command,
                    path=split.path,
                    query=parse_qs(split.query, keep_blank_values=True),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                )
                try:
                    response = server.dispatch(request)
                except DroppedConnectionError:
                    server.log.add(_logged(request, 0, server.app))
                    self.close_connection = True
                    try:
                        self.connection.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    return
                except Exception as exc:  # a sandbox bug must still answer, like a real 500
                    response = server.app.error_response(500, f"sandbox error: {exc!r}")
                if not request.path.startswith(CONTROL_PREFIX):
                    server.log.add(_logged(request, response.status, server.app))
                self._write(response)

            def _write(self, response: Response) -> None:
                if isinstance(response.body, bytes | bytearray):
                    payload = bytes(response.body)
                    content_type = response.headers.pop("Content-Type", "application/octet-stream")
                elif response.body is None:
                    payload = b""
                    content_type = "application/json"
                else:
                    payload = json.dumps(response.body).encode()
                    content_type = "application/json; charset=UTF-8"
                self.send_response(response.status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                for name, value in response.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                try:
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client went away (killed, timed out)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve  # noqa: N815 (http.server names)

        return Handler


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up (killed, timed out) is normal here; anything else is shown."""
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _logged(request: Request, status: int, app: App) -> LoggedCall:
    account_of = getattr(app, "account_of_token", None)
    token = request.bearer()
    account = account_of(token) if (account_of and token) else None
    return LoggedCall(request.method, request.path, status, account, time.time())
