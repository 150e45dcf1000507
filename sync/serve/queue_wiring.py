"""The task queue the settings name: Cloud Tasks (Google's, with the runtime's credentials from
google-auth, or a local stand-in, anonymous), or none when runs are served in the tick's loop."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from sync.config import Settings, url
from sync.errors import ConfigError
from sync.queue.cloudtasks import API_URL, SCOPES, CloudTasksQueue
from sync.queue.port import TaskQueue
from sync.serve.dispatch import TASK_PATH


def open_queue(settings: Settings) -> TaskQueue | None:
    """The configured queue; None with `dispatch=loop`."""
    if settings.dispatch == "loop":
        return None
    if not (settings.tasks_queue and settings.tasks_service_account and settings.sync_function_url):
        raise ConfigError(
            "dispatch=tasks needs SYNC_TASKS_QUEUE, SYNC_TASKS_SERVICE_ACCOUNT and SYNC_SYNC_FUNCTION_URL"
        )
    token: Callable[[], str | None] = (lambda: None) if settings.cloud_tasks_url else _google_token()
    return CloudTasksQueue(
        httpx.Client(),
        token,
        queue=settings.tasks_queue,
        target_url=url(settings.sync_function_url) + TASK_PATH,
        service_account=settings.tasks_service_account,
        audience=url(settings.sync_function_url),
        api_url=url(settings.cloud_tasks_url) or API_URL,
    )


def _google_token() -> Callable[[], str | None]:
    """An access token of the runtime's own credentials, refreshed when it expires."""
    import google.auth
    from google.auth.transport.requests import Request

    credentials, _ = google.auth.default(scopes=list(SCOPES))

    def token() -> str | None:
        if not credentials.valid:
            credentials.refresh(Request())
        return str(credentials.token)

    return token
