"""Cloud Tasks over REST (v2 `projects.locations.queues.tasks.create`): an HTTP task aimed at
the sync function, carrying an OIDC token of the tasks service account, created under its name
so that Cloud Tasks refuses a second one (ALREADY_EXISTS, 409) for an hour."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import httpx
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from sync.queue.port import QueueError, Task

API_URL = "https://cloudtasks.googleapis.com"
SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
# The longest Cloud Tasks waits for an HTTP target's answer; a run ends within the function's
# timeout, which is shorter.
DISPATCH_DEADLINE_SECONDS = 1800
_TRANSIENT_STATUS = {429, 500, 502, 503, 504}


class _TransientError(Exception):
    pass


def _transient(exc: BaseException) -> bool:
    return isinstance(exc, _TransientError | httpx.TransportError)


class CloudTasksQueue:
    """One queue (`projects/P/locations/L/queues/Q`). A create whose answer was lost is sent
    again safely: the name makes the second one ALREADY_EXISTS, which means enqueued."""

    def __init__(
        self,
        http: httpx.Client,
        token: Callable[[], str | None],
        *,
        queue: str,
        target_url: str,
        service_account: str,
        audience: str | None = None,
        api_url: str = API_URL,
        attempts: int = 4,
    ) -> None:
        self._http = http
        self._token = token
        self._queue = queue
        self._target = target_url
        self._service_account = service_account
        # Cloud Run checks the token's audience against the service's address (no path).
        self._audience = audience or target_url
        self._url = f"{api_url.rstrip('/')}/v2/{queue}/tasks"
        self._retrying = Retrying(
            retry=retry_if_exception(_transient),
            stop=stop_after_attempt(attempts),
            wait=wait_exponential_jitter(multiplier=0.2, max=5),
            reraise=True,
        )

    def enqueue(self, task: Task) -> bool:
        """Create the task; False when Cloud Tasks already has (or had, within the hour) one
        of that name."""
        payload = {
            "task": {
                "name": f"{self._queue}/tasks/{task.name}",
                "dispatchDeadline": f"{DISPATCH_DEADLINE_SECONDS}s",
                "httpRequest": {
                    "url": self._target,
                    "httpMethod": "POST",
                    "headers": {"Content-Type": "application/json"},
                    "body": base64.b64encode(json.dumps(task.body).encode()).decode(),
                    "oidcToken": {"serviceAccountEmail": self._service_account, "audience": self._audience},
                },
            }
        }
        try:
            status = self._retrying(self._create, payload)
        except (_TransientError, httpx.TransportError) as exc:
            raise QueueError(f"Cloud Tasks could not be reached: {type(exc).__name__}") from None
        if status == 409:
            return False
        if status >= 300:
            raise QueueError(f"Cloud Tasks refused the task: HTTP {status}")
        return True

    def _create(self, payload: dict[str, object]) -> int:
        token = self._token()
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        answer = self._http.post(self._url, json=payload, headers=headers, timeout=30)
        if answer.status_code in _TRANSIENT_STATUS:
            raise _TransientError(answer.status_code)
        return answer.status_code
