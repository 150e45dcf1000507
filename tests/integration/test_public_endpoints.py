"""The public receiver as the cloud serves it (functions-framework on gunicorn, its own
process), attacked over raw sockets: the address is checked before a byte of the body is read,
a body is read only so long and so far, odd JSON is a 400, and nothing of the address reaches
a log line."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sandbox.datagen import generate
from sandbox.stack import SandboxStack
from sync.state.connections import AccountRecord
from sync.state.sqlite import SqliteState
from sync.teamleader.webhook_setup import new_token
from tests.integration.conftest import serve_function

READ_SECONDS = 1.0
# Longer than the body's deadline, shorter than the 5 s for which gunicorn would drain a body
# left unread: an answer not here by then is a hang.
PATIENCE = 3.5


@dataclass
class Served:
    host: str
    port: int
    token: str
    contact: str
    process: subprocess.Popen[bytes]
    log_path: Path
    state: SqliteState

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def receiver(stack: SandboxStack, tmp_path: Path) -> Iterator[Served]:
    data = generate(5, 0, seed=90)
    stack.connect_account("acme", data, tmp_path)
    settings = stack.sync_settings(tmp_path)
    state = SqliteState(settings["SYNC_SQLITE_PATH"])
    token, digest = new_token()
    state.put_account(AccountRecord("acme", webhook_token_sha256=digest))
    state.put_account(AccountRecord("quiet"))  # an account without webhooks
    env = {**os.environ, **settings, "SYNC_BODY_READ_SECONDS": str(READ_SECONDS), "SYNC_LOG_LEVEL": "DEBUG"}
    url, process = serve_function("receive_webhook", env, tmp_path / "receiver.log")
    host, port = url.removeprefix("http://").rstrip("/").split(":")
    yield Served(host, int(port), token, sorted(data.eligible_ids())[0], process, tmp_path / "receiver.log", state)
    process.terminate()
    process.wait(10)


def _head(path: str, length: int | None, extra: str = "") -> bytes:
    declared = f"Content-Length: {length}\r\n" if length is not None else ""
    return f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{declared}{extra}\r\n".encode()


def exchange(served: Served, request: bytes, patience: float = PATIENCE) -> tuple[int | None, bool]:
    """Send `request` (which may promise more than it holds) and wait: the answer's status, and
    whether the server closed the connection after it, each within `patience` seconds."""
    with socket.create_connection((served.host, served.port), timeout=patience) as client:
        client.sendall(request)
        received = b""
        try:
            while True:
                chunk = client.recv(65536)
                if not chunk:
                    closed = True
                    break
                received += chunk
        except TimeoutError:
            closed = False
    status = int(received.split(b" ", 2)[1]) if received.startswith(b"HTTP/1.") else None
    return status, closed


def event_body(contact: str, kind: str = "contact.updated") -> bytes:
    return f'{{"type":"{kind}","subject":{{"type":"contact","id":"{contact}"}}}}'.encode()


def test_a_wrong_address_is_refused_before_its_body_and_the_connection_closed(receiver: Served) -> None:
    wrong = receiver.token[:-4] + ("AAAA" if not receiver.token.endswith("AAAA") else "BBBB")
    for path in (f"/acme/{wrong}", f"/nobody/{receiver.token}", f"/quiet/{receiver.token}"):
        # Announces 60,000 bytes, sends 4, and waits: answered at once, never drained.
        status, closed = exchange(receiver, _head(path, 60_000) + b"{...")
        assert (status, closed) == (404, True), path


def test_a_body_slower_than_the_deadline_is_a_408_and_the_connection_closed(receiver: Served) -> None:
    status, closed = exchange(receiver, _head(f"/acme/{receiver.token}", 60_000) + b"{...")
    assert (status, closed) == (408, True)
    # A body too large is refused from its Content-Length, unread; a chunked one as it passes the limit.
    assert exchange(receiver, _head(f"/acme/{receiver.token}", 70_000) + b"{") == (413, True)
    chunked = _head(f"/acme/{receiver.token}", None, "Transfer-Encoding: chunked\r\n")
    chunks = b"".join(b"4000\r\n" + b" " * 0x4000 + b"\r\n" for _ in range(5))
    assert exchange(receiver, chunked + chunks)[0] == 413


def test_slow_clients_do_not_hold_the_receiver(receiver: Served) -> None:
    """Sixteen clients that promise a body and send none (half of them with the right address)
    leave the receiver's eight threads free for Teamleader's next webhook."""
    wrong = "x" * 43
    answers: list[tuple[int | None, bool]] = []
    lock = threading.Lock()

    def slow(path: str) -> None:
        result = exchange(receiver, _head(path, 60_000) + b"{", patience=PATIENCE + 2)
        with lock:
            answers.append(result)

    threads = [threading.Thread(target=slow, args=(f"/acme/{receiver.token if n % 2 else wrong}",)) for n in range(16)]
    for thread in threads:
        thread.start()
    body = event_body(receiver.contact)
    status, _ = exchange(receiver, _head(f"/acme/{receiver.token}", len(body)) + body)
    assert status == 202
    for thread in threads:
        thread.join()
    assert sorted(answers) == [(404, True)] * 8 + [(408, True)] * 8


def test_odd_events_are_a_400_and_no_log_line_carries_the_address(receiver: Served) -> None:
    path = f"/acme/{receiver.token}"
    odd = [
        b"[" * 30_000 + b"]" * 30_000,
        b'{"type":["contact.updated"],"subject":{"id":"x"}}',
        b'{"type":{"a":1},"subject":{"id":"x"}}',
        b'{"type":1,"subject":{"id":"x"}}',
        b'{"type":"contact.updated","subject":{"id":["x"]}}',
        b'{"type":"contact.updated","subject":{"id":"\\ud800"}}',
        b"\xff\xfe{",
    ]
    for body in odd:
        assert exchange(receiver, _head(path, len(body)) + body)[0] == 400, body[:60]
    assert receiver.state.hints("acme").contacts == frozenset()
    log = receiver.log()
    assert receiver.token not in log and "Traceback" not in log and "Exception on" not in log
