"""Teamleader Focus API client (httpx): paging and retries; OAuth with rotating tokens is
`sync.teamleader.oauth`'s, the rate limit `sync.teamleader.limit`'s."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from sync.errors import TeamleaderError, TeamleaderForbiddenError, TeamleaderNotFoundError
from sync.progress import Announce, Wait, unheard
from sync.teamleader.limit import RateLimit
from sync.teamleader.oauth import TeamleaderAuth, TransientError, json_object
from sync.teamleader.tokens import TeamleaderTokens

PAGE_SIZE = 100
# The API version the sync is written for: without it, each integration is answered in the
# version current when it was created (older ones lowercase tags, or name addresses otherwise).
API_VERSION = "2023-09-26"
MAX_RATE_WAITS = 10


class TeamleaderClient:
    """Calls Teamleader Focus on behalf of one account."""

    def __init__(
        self,
        http: httpx.Client,
        *,
        api_url: str,
        token_url: str,
        client_id: str,
        client_secret: str,
        tokens: TeamleaderTokens,
        on_rotate: Callable[[TeamleaderTokens], None],
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        attempts: int = 5,
        calls_per_minute: int = 200,
        on_wait: Announce = unheard,
        reload: Callable[[], TeamleaderTokens] | None = None,
        reload_client: Callable[[], tuple[str, str]] | None = None,
    ) -> None:
        self._http = http
        self._api_url = api_url.rstrip("/")
        # `reload` and `reload_client` are given for what was kept from an earlier run.
        self._auth = TeamleaderAuth(
            http, token_url, (client_id, client_secret), tokens, on_rotate, clock, reload, reload_client
        )
        self._sleep = sleep
        self._attempts = attempts
        self.calls_per_minute = calls_per_minute
        self._on_wait = on_wait
        self._limit = RateLimit(calls_per_minute, clock=clock, sleep=sleep, on_wait=on_wait)
        self.calls = 0
        # Calls Teamleader refused with 429 (counted in `calls` too).
        self.rate_limited = 0
        # The longest page Teamleader has answered (the cap on its pages, once one is capped).
        self.longest_page = 0

    # ---- calls ----

    def _with_retries(self, action: Callable[[], Any]) -> Any:
        retrying = Retrying(
            retry=retry_if_exception_type((TransientError, httpx.TransportError)),
            stop=stop_after_attempt(self._attempts),
            wait=wait_exponential_jitter(multiplier=0.5, max=20),
            sleep=self._sleep,
            before_sleep=self._retrying,
            reraise=True,
        )
        try:
            return retrying(action)
        except (TransientError, httpx.TransportError) as exc:
            # Still failing after every retry: the run stops here and the next one goes on.
            raise TeamleaderError(503, f"unavailable after {self._attempts} attempts") from exc

    def _retrying(self, attempt: RetryCallState) -> None:
        self._on_wait(Wait("teamleader_unavailable", attempt.upcoming_sleep))

    def call(self, endpoint: str, body: dict[str, Any]) -> Any:
        """POST one API call and return its `data`; waits out rate limits, retries transient
        failures, refreshes an expired access token once."""
        return self._with_retries(lambda: self._call_once(endpoint, body))

    def _call_once(self, endpoint: str, body: dict[str, Any]) -> Any:
        refreshed = False
        for refusals in range(MAX_RATE_WAITS):
            self._limit.wait_for_a_slot()
            token = self._auth.access_token()
            self.calls += 1
            try:
                answer = self._http.post(
                    f"{self._api_url}/{endpoint}",
                    json=body,
                    headers={"Authorization": f"Bearer {token}", "X-Api-Version": API_VERSION},
                )
            finally:
                self._limit.made()
            if answer.status_code == 429:
                self.rate_limited += 1
                self._limit.refused(answer, refusals)
                continue
            self._limit.answered(answer)
            if answer.status_code == 200:
                return answer.json()["data"]
            if answer.status_code == 204:
                return None  # done, nothing to say (webhooks.register, for one)
            if answer.status_code == 401 and not refreshed:
                refreshed = True
                self._auth.expire()
                continue
            if answer.status_code >= 500:
                raise TransientError(f"{endpoint} answered {answer.status_code}")
            title = _error_title(answer)
            if answer.status_code == 403:
                raise TeamleaderForbiddenError(403, title)
            if answer.status_code == 404:
                raise TeamleaderNotFoundError(404, title)
            raise TeamleaderError(answer.status_code, title)
        raise TeamleaderError(429, f"still rate limited after {MAX_RATE_WAITS} waits")

    # ---- endpoints the sync uses ----

    def last_page(self, page: list[dict[str, Any]]) -> bool:
        """Whether a listing ends with this page. The largest page Teamleader gives is not
        documented, and a server capping pages below the size asked would end every listing
        after its first page if a short page were taken for the last. A page ends a listing
        when it is empty or shorter than the longest page seen; a page as long as the longest
        (or the first ever seen) costs one call more, an empty page."""
        longest, self.longest_page = self.longest_page, max(self.longest_page, len(page))
        return not page or len(page) < longest

    def _changed_since(self, endpoint: str, updated_since: datetime | None, page: int) -> list[dict[str, Any]]:
        body: dict[str, Any] = {
            "sort": [{"field": "updated_at", "order": "asc"}],
            "page": {"size": PAGE_SIZE, "number": page},
        }
        if updated_since is not None:
            body["filter"] = {"updated_since": updated_since.astimezone(UTC).isoformat(timespec="seconds")}
        result: list[dict[str, Any]] = self.call(endpoint, body)
        return result

    def list_contacts(self, *, updated_since: datetime | None = None, page: int = 1) -> list[dict[str, Any]]:
        """One page of contacts sorted by updated_at, oldest first."""
        return self._changed_since("contacts.list", updated_since, page)

    def list_companies(self, *, updated_since: datetime | None = None, page: int = 1) -> list[dict[str, Any]]:
        """One page of companies sorted by updated_at, oldest first."""
        return self._changed_since("companies.list", updated_since, page)

    def webhooks(self) -> list[dict[str, Any]]:
        """The webhooks registered for this integration and account: url and event types."""
        listed: list[dict[str, Any]] = self.call("webhooks.list", {})
        return listed

    def register_webhook(self, url: str, types: list[str]) -> None:
        self.call("webhooks.register", {"url": url, "types": types})

    def unregister_webhook(self, url: str, types: list[str]) -> None:
        self.call("webhooks.unregister", {"url": url, "types": types})

    def company(self, company_id: str) -> dict[str, Any] | None:
        """A company with its name, phones and the contacts who work there; None once deleted.
        A deleted company is documented to come back as 404 or as 400 ("references
        non-existing resources"): either is confirmed by listing the company by its id."""
        try:
            found: dict[str, Any] = self.call("companies.info", {"id": company_id, "includes": "related_contacts"})
        except TeamleaderError as exc:
            if exc.status not in (400, 404):
                raise
            listed = self.call("companies.list", {"filter": {"ids": [company_id]}, "page": {"size": 1, "number": 1}})
            if listed:
                raise  # it exists: the refusal is about something else
            return None
        return found

    @staticmethod
    def calls_by_ids(count: int) -> int:
        """The fewest calls reading `count` contacts by id takes (more if pages are capped)."""
        return -(-count // PAGE_SIZE)

    def contacts_by_ids(self, ids: list[str]) -> list[dict[str, Any]]:
        """The contacts among `ids` that still exist (deleted ones are simply absent)."""
        found: list[dict[str, Any]] = []
        for start in range(0, len(ids), PAGE_SIZE):
            chunk, number = ids[start : start + PAGE_SIZE], 1
            while True:
                body = {"filter": {"ids": chunk}, "page": {"size": PAGE_SIZE, "number": number}}
                page: list[dict[str, Any]] = self.call("contacts.list", body)
                found += page
                # All of a chunk's contacts fit in one page, unless pages are capped lower.
                if len(page) >= len(chunk) or self.last_page(page):
                    break
                number += 1
        return found

    def _every(self, endpoint: str, page: int) -> list[dict[str, Any]]:
        # Sorted by added_at, which edits never move: paging shifts only when something is deleted.
        result: list[dict[str, Any]] = self.call(
            endpoint, {"sort": [{"field": "added_at", "order": "asc"}], "page": {"size": PAGE_SIZE, "number": page}}
        )
        return result

    def list_contact_ids(self, page: int) -> list[dict[str, Any]]:
        """One page of every contact, in the order they were added (for full reconciliation)."""
        return self._every("contacts.list", page)

    def list_company_ids(self, page: int) -> list[dict[str, Any]]:
        """One page of every company, in the order they were added (for full reconciliation)."""
        return self._every("companies.list", page)


def _error_title(answer: httpx.Response) -> str:
    errors = json_object(answer).get("errors") or [{}]
    return str(errors[0].get("title") or answer.reason_phrase)
