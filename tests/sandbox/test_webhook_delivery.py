"""The sandbox's webhook deliveries and their faults: what the receiver must survive."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

from sandbox.webhook_delivery import DeliveryFaults, WebhookSender


def capture() -> tuple[str, list[tuple[float, bytes]], HTTPServer]:
    received: list[tuple[float, bytes]] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append((time.monotonic(), self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(202)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return

    server = HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/acme/secret", received, server


def test_deliveries_go_to_the_addresses_registered_for_their_type() -> None:
    url, received, server = capture()
    sender = WebhookSender()
    sender.register("acme", url, ["contact.updated"])
    sender.emit("acme", "contact.updated", "c-1")
    sender.emit("acme", "company.updated", "k-1")  # not registered for it
    sender.emit("globex", "contact.updated", "c-2")  # another account
    assert sender.idle()
    server.shutdown()
    assert [body for _, body in received] == [
        b'{"type":"contact.updated","subject":{"type":"contact","id":"c-1"},"account":{"type":"account","id":"acme"}}'
    ]
    sender.unregister("acme", url, ["contact.updated"])
    assert sender.listed("acme") == []


def test_deliveries_late_and_out_of_order() -> None:
    url, received, server = capture()
    sender = WebhookSender(DeliveryFaults(delay_seconds=0.2, reorder_window=10, seed=3))
    sender.register("acme", url, ["contact.updated"])
    emitted = time.monotonic()
    for n in range(10):
        sender.emit("acme", "contact.updated", f"c-{n}")
    assert sender.idle(timeout=20)
    server.shutdown()
    ids = [body.split(b'"id":"')[1].split(b'"')[0].decode() for _, body in received]
    assert sorted(ids) == sorted(f"c-{n}" for n in range(10)) and ids != sorted(ids)
    assert received[0][0] - emitted >= 0.2
