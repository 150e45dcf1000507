"""The Cloud Tasks REST stand-in: `POST /v2/projects/P/locations/L/queues/Q/tasks` creates an
HTTP task (a queue springs into being with the sandbox's config the first time it is named),
and a dispatcher thread sends each due task to its URL with the body, the headers, an
`Authorization: Bearer` token naming the task's OIDC service account and audience, and Cloud
Tasks' `X-CloudTasks-*` headers. Faults, per task, in creation order: the next N dispatches
lost (the name stays taken, the task never runs), sent twice at once, sent again after the
first delivery was answered (at least once: either may happen), or held back."""

from __future__ import annotations

import base64
import json
import re
import threading
from dataclasses import dataclass
from typing import Any

import httpx

from sandbox.clock import Clock
from sandbox.cloudtasks.queue import QueueConfig, QueuedTask, TaskQueueCore
from sandbox.httpserver import Request, Response

_TASKS = re.compile(r"/v2/(projects/[^/]+/locations/[^/]+/queues/[^/]+)/tasks")
_NAME = re.compile(r"(projects/[^/]+/locations/[^/]+/queues/[^/]+)/tasks/([A-Za-z0-9_-]{1,500})")
# How often the dispatcher looks for due tasks, in real seconds.
POLL_SECONDS = 0.02


@dataclass
class TaskFaults:
    """Dispatch faults, each for the next N tasks created."""

    lose_next: int = 0
    duplicate_next: int = 0
    redeliver_next: int = 0
    delay_next: int = 0
    delay_seconds: float = 0.0


@dataclass(frozen=True)
class Delivery:
    """One attempt: the task, the status answered (0: no answer) and the JSON answer."""

    name: str
    status: int
    answer: Any


def oidc_token(service_account: str, audience: str) -> str:
    """A token with the claims Google's would carry (unsigned: the sandbox's targets rely on the
    platform's check, as the sync function does)."""
    claims = {"iss": "https://accounts.google.com", "email": service_account, "aud": audience}
    return "sandbox." + base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")


def token_claims(token: str) -> dict[str, Any]:
    """The claims of a sandbox token (tests read what was sent)."""
    encoded = token.removeprefix("sandbox.")
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    return claims


class CloudTasksSandbox:
    """Queues in memory on the sandbox's clock, dispatching over real HTTP."""

    name = "cloudtasks"

    def __init__(self, clock: Clock | None = None, config: QueueConfig | None = None) -> None:
        self.clock = clock or Clock()
        self.config = config or QueueConfig(min_backoff=1.0, max_backoff=60.0, max_attempts=20)
        self.queues: dict[str, TaskQueueCore] = {}
        self.faults = TaskFaults()
        # Every attempt sent, in the order answered.
        self.deliveries: list[Delivery] = []
        # The bearer tokens sent, in order (tests read their claims).
        self.sent_tokens: list[str] = []
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._http = httpx.Client(timeout=1800)
        self._thread: threading.Thread | None = None

    def start(self) -> CloudTasksSandbox:
        """Start dispatching (the stack starts it with the server)."""
        self._thread = threading.Thread(target=self._dispatch_loop, name="sandbox-cloudtasks", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(5)

    def queue(self, path: str) -> TaskQueueCore:
        """The queue at `projects/P/locations/L/queues/Q`, made on first use."""
        with self._lock:
            return self.queues.setdefault(path, TaskQueueCore(self.config, self.clock.now()))

    def idle(self) -> bool:
        """Nothing waiting or running in any queue."""
        with self._lock:
            return all(q.waiting() == 0 and q.running == 0 for q in self.queues.values())

    def error_response(self, status: int, message: str) -> Response:
        name = {429: "RESOURCE_EXHAUSTED", 500: "INTERNAL"}.get(status, "UNAVAILABLE")
        return Response(status, {"error": {"code": status, "message": message, "status": name}})

    def control(self, request: Request) -> Response | None:
        if request.path == "/_sandbox/task_faults":
            for key, value in request.json().items():
                setattr(self.faults, key, type(getattr(self.faults, key))(value))
            return Response(204)
        return None

    def handle(self, request: Request) -> Response:
        match = _TASKS.fullmatch(request.path)
        if match is None or request.method != "POST":
            return _error(404, "NOT_FOUND", "no such method")
        given = request.json().get("task") if isinstance(request.json(), dict) else None
        task: dict[str, Any] = given if isinstance(given, dict) else {}
        named = _NAME.fullmatch(str(task.get("name", "")))
        http = task.get("httpRequest")
        if (
            not named
            or named.group(1) != match.group(1)
            or not isinstance(http, dict)
            or not str(http.get("url", "")).startswith(("http://", "https://"))
        ):
            return _error(400, "INVALID_ARGUMENT", "a named task with an httpRequest is required here")
        queue = self.queue(match.group(1))
        with self._lock:
            delay = self._take_fault("delay_next") * self.faults.delay_seconds
            if not queue.create(named.group(2), task, self.clock.now(), delay):
                return _error(
                    409,
                    "ALREADY_EXISTS",
                    "The task cannot be created because a task with this name existed too recently.",
                )
            if self._take_fault("lose_next"):
                queue.drop(named.group(2), self.clock.now())
            elif self._take_fault("duplicate_next"):
                task["_twice"] = True
            elif self._take_fault("redeliver_next"):
                task["_again"] = True
        return Response(200, {**task, "scheduleTime": self.clock.now_dt().isoformat()}, wrote=True)

    def _take_fault(self, name: str) -> int:
        left = int(getattr(self.faults, name))
        if left > 0:
            setattr(self.faults, name, left - 1)
            return 1
        return 0

    def _dispatch_loop(self) -> None:
        while not self._stopped.wait(POLL_SECONDS):
            with self._lock:
                now = self.clock.now()
                taken = [(q, t) for q in self.queues.values() for t in q.take(now)]
                for queue, task in list(taken):
                    if task.payload.pop("_twice", False):
                        # At least once: the same attempt delivered twice, at the same time.
                        task.running += 1
                        queue.running += 1
                        taken.append((queue, task))
            for queue, task in taken:
                threading.Thread(target=self._attempt, args=(queue, task), daemon=True).start()

    def _attempt(self, queue: TaskQueueCore, task: QueuedTask) -> None:
        delivery = self._post(task)
        if task.payload.pop("_again", False):
            # Answered, and delivered once more all the same.
            with self._lock:
                self.deliveries.append(delivery)
            delivery = self._post(task)
        with self._lock:
            self.deliveries.append(delivery)
            queue.finish(task, delivery.status, self.clock.now())

    def _post(self, task: QueuedTask) -> Delivery:
        http = task.payload["httpRequest"]
        headers = {
            **http.get("headers", {}),
            "X-CloudTasks-TaskName": task.name,
            "X-CloudTasks-TaskRetryCount": str(task.attempts - 1),
        }
        if oidc := http.get("oidcToken"):
            token = oidc_token(oidc["serviceAccountEmail"], oidc.get("audience") or http["url"])
            headers["Authorization"] = f"Bearer {token}"
            self.sent_tokens.append(token)
        try:
            body = base64.b64decode(http.get("body", ""))
            answer = self._http.request(http.get("httpMethod", "POST"), http["url"], content=body, headers=headers)
        except httpx.HTTPError:
            return Delivery(task.name, 0, None)
        try:
            content = answer.json()
        except ValueError:
            content = None
        return Delivery(task.name, answer.status_code, content)


def _error(code: int, status: str, message: str) -> Response:
    return Response(code, {"error": {"code": code, "message": message, "status": status}})
