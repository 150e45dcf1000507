"""A redirect URI on this machine: where a consent page sends the browser back, standing in for
the people's page. It records each redirect's query and answers a small page (styled by the
consent pages' stylesheet, which it serves too)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sandbox.httpserver import Response
from sandbox.pages import STYLESHEET_PATH, items, page, stylesheet, text

# Given the path and query of a redirect, the lines the answer page shows below them.
Reaction = Callable[[str, dict[str, str]], list[str]]


class RedirectCatcher:
    """Serves http://127.0.0.1:PORT/ until stopped; every GET is a redirect received."""

    def __init__(self, react: Reaction | None = None) -> None:
        self.received: list[tuple[str, dict[str, str]]] = []
        self._arrived = threading.Condition()
        self._react = react
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="redirect-catcher", daemon=True)

    def url(self, path: str = "/") -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}{path}"

    def __enter__(self) -> RedirectCatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def wait(self, count: int, timeout: float = 10) -> tuple[str, dict[str, str]]:
        """The `count`-th redirect received, waiting for it; TimeoutError if it never comes."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.received) >= count, timeout):
                raise TimeoutError(f"no redirect number {count} within {timeout} s")
            return self.received[count - 1]

    def _record(self, path: str, query: dict[str, str]) -> list[str]:
        with self._arrived:
            self.received.append((path, query))
            self._arrived.notify_all()
        return self._react(path, query) if self._react else []

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        catcher = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                """Quiet: `received` is the record."""

            def do_GET(self) -> None:
                split = urlsplit(self.path)
                if split.path == STYLESHEET_PATH:
                    self._send(stylesheet())
                    return
                if split.path.endswith(".ico"):
                    self.send_error(404)
                    return
                query = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
                try:
                    lines = catcher._record(split.path, query)
                except Exception as exc:  # shown to the person, not a dead page
                    lines = [f"Could not finish: {exc!r}"]
                self._send(
                    page(
                        "Redirect received",
                        text(f"Back at {split.path} with:"),
                        items(f"{name} = {value}" for name, value in query.items()),
                        items(lines) if lines else "",
                    )
                )

            def _send(self, answer: Response) -> None:
                body: bytes = answer.body
                self.send_response(200)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler
