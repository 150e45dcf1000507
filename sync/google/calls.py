"""Sending People API requests: once per attempt (the transport never re-sends), failures
classified as retryable or final, and retries chosen per method. Reads, updates and deletes are
retried on 429, 5xx and lost connections; a create only on 429, because a create whose answer
was lost may have happened, and re-sending it is how syncs make duplicates."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
from google.auth.exceptions import RefreshError
from google.auth.exceptions import TransportError as AuthTransportError
from googleapiclient.errors import HttpError
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from sync.errors import AmbiguousWriteError, GoogleError, ReauthRequiredError
from sync.google.answers import error_message, oauth_error
from sync.google.pace import WritePace
from sync.progress import Announce, Wait, unheard


class _ThrottledError(Exception):
    pass


class _TransientError(Exception):
    pass


class Sender:
    """Executes googleapiclient requests under the retry policy, counting every attempt."""

    def __init__(
        self,
        sleep: Callable[[float], None] = time.sleep,
        attempts: int = 8,
        on_wait: Announce = unheard,
        http: Any = None,
        pace: WritePace | None = None,
    ) -> None:
        # The user's transport, when the request was made by a service users share.
        self._http = http
        # Keeps the user's writes (each attempt) within Google's per-user quota.
        self._pace = pace
        self._sleep = sleep
        self._attempts = attempts
        self._on_wait = on_wait
        self.calls = 0
        self.writes = 0

    def __call__(self, request: Any, *, create: bool = False, write: bool = False) -> Any:
        """The request's answer; HttpError for a refusal retrying will not fix, GoogleError
        once retries are spent, AmbiguousWriteError when a create's answer was lost."""

        def attempt() -> Any:
            if write and self._pace is not None:
                self._pace.take()
            self.calls += 1
            self.writes += write
            try:
                return request.execute(http=self._http, num_retries=0)
            except RefreshError as exc:
                if exc.retryable:  # 5xx, 429 or a timeout at the token endpoint: not a refusal
                    raise _TransientError("token endpoint") from exc
                raise ReauthRequiredError("Google", oauth_error(exc)) from exc
            except HttpError as exc:
                if exc.status_code == 429:
                    raise _ThrottledError(error_message(exc)) from exc
                if exc.status_code >= 500:
                    if create:
                        raise AmbiguousWriteError(f"create answered {exc.status_code}") from exc
                    raise _TransientError(error_message(exc)) from exc
                raise
            except (httpx.TransportError, AuthTransportError, OSError) as exc:
                if create:
                    raise AmbiguousWriteError(f"create lost its answer: {exc!r}") from exc
                raise _TransientError(repr(exc)) from exc

        retrying = Retrying(
            retry=retry_if_exception(lambda e: isinstance(e, _ThrottledError | _TransientError)),
            stop=stop_after_attempt(self._attempts),
            wait=wait_exponential_jitter(multiplier=1, max=60),
            sleep=self._sleep,
            before_sleep=self._retrying,
            reraise=True,
        )
        try:
            return retrying(attempt)
        except (_ThrottledError, _TransientError) as exc:
            raise GoogleError(429 if isinstance(exc, _ThrottledError) else 503, str(exc)) from exc

    def _retrying(self, attempt: RetryCallState) -> None:
        assert attempt.outcome is not None  # tenacity sleeps only after a failed attempt
        throttled = isinstance(attempt.outcome.exception(), _ThrottledError)
        self._on_wait(Wait("google_throttled" if throttled else "google_unavailable", attempt.upcoming_sleep))
