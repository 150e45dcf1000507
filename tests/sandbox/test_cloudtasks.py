"""The Cloud Tasks adapter against the stand-in over HTTP: a named create, ALREADY_EXISTS taken
as enqueued, a transient refusal retried, and the dispatch that follows (the body, the OIDC
token's claims, the retries after a refusal)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from sandbox.cloudtasks import CloudTasksSandbox
from sandbox.cloudtasks.service import token_claims
from sandbox.httpserver import SandboxServer
from sync.queue.cloudtasks import CloudTasksQueue
from sync.queue.port import QueueError, Task

QUEUE = "projects/demo/locations/here/queues/runs"
ACCOUNT = "tasks@demo.iam.gserviceaccount.com"


class Target:
    """An HTTP target that records what it is sent and answers the given statuses in turn."""

    def __init__(self, statuses: list[int]) -> None:
        self.received: list[tuple[dict[str, str], Any]] = []
        self.statuses = statuses
        target = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                target.received.append((dict(self.headers), json.loads(body)))
                self.send_response(target.statuses.pop(0) if target.statuses else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/task"

    def stop(self) -> None:
        self._httpd.shutdown()


@pytest.fixture
def served() -> Iterator[tuple[CloudTasksSandbox, SandboxServer]]:
    tasks = CloudTasksSandbox().start()
    server = SandboxServer(tasks).start()
    yield tasks, server
    tasks.stop()
    server.stop()


def _queue(server: SandboxServer, target: str) -> CloudTasksQueue:
    return CloudTasksQueue(
        httpx.Client(), lambda: None, queue=QUEUE, target_url=target, service_account=ACCOUNT, api_url=server.base_url
    )


def _wait(condition: Any, tasks: CloudTasksSandbox, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline
        tasks.clock.advance(1)
        time.sleep(0.05)


def test_a_named_task_is_created_once_and_delivered_with_the_tasks_accounts_token(
    served: tuple[CloudTasksSandbox, SandboxServer],
) -> None:
    tasks, server = served
    target = Target([])
    queue = _queue(server, target.url)
    assert queue.enqueue(Task("abc-tick-1", {"task": "tick", "account": "acme", "after": ""}))
    assert not queue.enqueue(Task("abc-tick-1", {"task": "tick", "account": "acme", "after": ""}))
    _wait(lambda: tasks.idle(), tasks)
    ((headers, body),) = target.received
    assert body == {"task": "tick", "account": "acme", "after": ""}
    claims = token_claims(headers["Authorization"].removeprefix("Bearer "))
    assert (claims["email"], claims["aud"]) == (ACCOUNT, target.url)
    assert headers["X-CloudTasks-TaskName"] == "abc-tick-1"
    # Executed within the hour: the name is still refused.
    assert not queue.enqueue(Task("abc-tick-1", {}))
    target.stop()


def test_a_refused_delivery_is_tried_again_after_its_back_off(served: tuple[CloudTasksSandbox, SandboxServer]) -> None:
    tasks, server = served
    target = Target([409, 503])
    assert _queue(server, target.url).enqueue(Task("busy", {}))
    _wait(lambda: tasks.idle(), tasks)
    assert [d.status for d in tasks.deliveries] == [409, 503, 200]
    target.stop()


def test_a_transient_refusal_of_the_create_is_retried_and_a_lasting_one_raised(
    served: tuple[CloudTasksSandbox, SandboxServer],
) -> None:
    _, server = served
    target = Target([])
    server.faults.update({"outage_path": "/v2/", "outage_next": 2, "outage_status": 503})
    assert _queue(server, target.url).enqueue(Task("after-outage", {}))
    server.faults.update({"outage_path": "/v2/", "outage_next": 10, "outage_status": 503})
    with pytest.raises(QueueError):
        _queue(server, target.url).enqueue(Task("never", {}))
    bad = CloudTasksQueue(
        httpx.Client(), lambda: None, queue=QUEUE, target_url="", service_account=ACCOUNT, api_url=server.base_url
    )
    server.faults.update({"outage_next": 0})
    with pytest.raises(QueueError):
        bad.enqueue(Task("no-target", {}))
    target.stop()
