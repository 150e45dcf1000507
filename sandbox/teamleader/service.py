"""`TeamleaderSandbox`: its switches, set-up and inspection, and the routing of its HTTP calls
to the resource that answers them."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from sandbox.clock import Clock
from sandbox.httpserver import Request, Response
from sandbox.pages import STYLESHEET_PATH, stylesheet
from sandbox.teamleader.companies import Companies
from sandbox.teamleader.consent import AUTHORIZE_PATH, TeamleaderConsent
from sandbox.teamleader.contacts import Contacts
from sandbox.teamleader.model import (
    ENDPOINT_SCOPE,
    PAGE_CAP,
    SPEC_PATH,
    ApiError,
    TeamleaderAccount,
    _RequestSchemas,
)
from sandbox.teamleader.oauth import TeamleaderOAuth
from sandbox.teamleader.ratelimit import RateLimit, _RateLimitedError
from sandbox.teamleader.users import SCHEMAS, Users
from sandbox.teamleader.webhooks import Webhooks
from sandbox.webhook_delivery import WebhookSender


class TeamleaderSandbox(Contacts, Companies, Users, Webhooks, TeamleaderConsent, TeamleaderOAuth, RateLimit):
    """The Teamleader Focus API and its OAuth token endpoint, served by a `SandboxServer`."""

    name = "teamleader"

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        rate_limit: int = 200,
        access_token_ttl: int = 3600,
        updated_since_inclusive: bool = True,
        list_includes_deactivated: bool = True,
        page_cap: int = PAGE_CAP,
        missing_status: int = 404,
        integration_version: str = "2018-06-01",
        rate_headers: str = "documented",
        rate_window: str = "sliding",
        link_touches: str = "contact",
        interactive_consent: bool = False,
        me_lists_teams: bool = True,
        deactivated_tokens: str = "refused",
        client_refusal_status: int = 401,
    ) -> None:
        self.clock = clock or Clock()
        self.rate_limit = rate_limit
        self.access_token_ttl = access_token_ttl
        # Both are undocumented in the real API; tests run the sync against either choice.
        self.updated_since_inclusive = updated_since_inclusive
        self.list_includes_deactivated = list_includes_deactivated
        # The most a page holds, whatever is asked: 100 is the practical maximum, not documented.
        self.page_cap = page_cap
        # A deleted record read by id: documented as 404 "not found", and as 400 "the request
        # references non-existing resources"; either may come.
        self.missing_status = missing_status
        # The dated API version the integration was created under: a call without
        # X-Api-Version is answered in it (before 2022-09-15 tags come back lowercased, before
        # 2018-10-30 lists carry `address` where later versions carry `primary_address`).
        self.integration_version = integration_version
        # Which rate-limit headers come: "documented" (Remaining and Reset on each response),
        # "reset_only" (Reset without Remaining, even on a 429), "retry_after" (a 429 carries
        # only Retry-After) or "bare" (none at all). Documented as the first; seen otherwise.
        self.rate_headers = rate_headers
        # "sliding": the documented sliding minute, its reset when the oldest call leaves it;
        # "fixed": calls counted per clock minute, its reset at the minute's end (the other
        # plausible reading of a reset time).
        self.rate_window = rate_window
        # Whether linking a contact to a company, unlinking it or changing its position moves
        # the contact's updated_at, the company's, or neither (LINK_TOUCHES): undocumented.
        self.link_touches = link_touches
        # The integration's registered redirect URIs (None: any is accepted), and how a consent
        # request naming another one is answered, which is undocumented: "error_page" (an
        # error page that never redirects) or "error_redirect" (back with an OAuth error).
        self.redirect_uris: set[str] | None = None
        self.redirect_mismatch = "error_page"
        # Whether /oauth2/authorize shows a person its sign-in and approval pages; off, it
        # approves at once (what the CLI's consent tests follow with a plain HTTP client).
        self.interactive_consent = interactive_consent
        # Whether users.me lists the user's teams: the current reference says so, the archived
        # blueprint's users.me does not; a page that needs the teams must cope with either.
        self.me_lists_teams = me_lists_teams
        # Whether a deactivated user's tokens go on working ("work") or are refused
        # ("refused"): undocumented.
        self.deactivated_tokens = deactivated_tokens
        # Undocumented: the status of an `invalid_client` answer (RFC 6749 allows 400 for a
        # client authenticated in the body, 401 for one authenticated by a header).
        self.client_refusal_status = client_refusal_status
        # Fault: company id → the status its `companies.info` answers, although it exists (a
        # record Teamleader cannot serve).
        self.unreadable_companies: dict[str, int] = {}
        self.accounts: dict[str, TeamleaderAccount] = {}
        self.clients: dict[str, str] = {}
        # The integration's name, as the approval page shows it.
        self.client_names: dict[str, str] = {}
        self._refresh_tokens: dict[str, str] = {}
        self._access_tokens: dict[str, tuple[str, float]] = {}
        # Token → the user it acts for; a token missing here acts for the account's admin.
        self._token_users: dict[str, str] = {}
        # Code → account, redirect URI, expiry, and the user who consented (None: the admin).
        self._codes: dict[str, tuple[str, str, float, str | None]] = {}
        self._lock = threading.RLock()
        self._schemas = _RequestSchemas(SPEC_PATH)
        for endpoint, schema in SCHEMAS.items():
            self._schemas.add(endpoint, schema)
        # Fault: called after every contacts.list answer with the count so far, so that tests
        # can edit or delete contacts while a sync is paging.
        self.during_list: Callable[[int], None] | None = None
        self._list_calls = 0
        # Webhooks registered through the API, delivered over HTTP when data changes.
        self.webhooks = WebhookSender()

    # ---- set-up and inspection, for tests, the generator and the demo ----

    def add_account(self, account_id: str, scopes: set[str] | None = None) -> TeamleaderAccount:
        with self._lock:
            account = TeamleaderAccount(account_id)
            if scopes is not None:
                account.scopes = set(scopes)
            self.accounts[account_id] = account
            return account

    def add_client(self, client_id: str, client_secret: str, name: str | None = None) -> None:
        """An integration: its credentials, and the name its approval page shows."""
        self.clients[client_id] = client_secret
        self.client_names[client_id] = name or client_id

    def issue_tokens(self, account_id: str, user_id: str | None = None) -> dict[str, Any]:
        """Tokens as a completed consent flow would hand them out: acting for `user_id`, or
        for the account's admin."""
        with self._lock:
            return self._new_tokens(account_id, user_id)

    def revoke(self, account_id: str) -> None:
        """The user disconnects the integration: every token of the account stops working."""
        with self._lock:
            for token in [t for t, a in self._refresh_tokens.items() if a == account_id]:
                del self._refresh_tokens[token]
            for token in [t for t, (a, _) in self._access_tokens.items() if a == account_id]:
                del self._access_tokens[token]
            for token in [t for t in self._token_users if t not in self._access_tokens | self._refresh_tokens]:
                del self._token_users[token]

    def account_of_token(self, token: str) -> str | None:
        entry = self._access_tokens.get(token)
        return entry[0] if entry else None

    # ---- HTTP ----

    def error_response(self, status: int, message: str) -> Response:
        return Response(status, {"errors": [{"title": message, "status": status}]})

    def control(self, request: Request) -> Response | None:
        body = request.json() if request.method == "POST" else {}
        if request.path == "/_sandbox/revoke":
            self.revoke(body["account"])
            return Response(204)
        if request.path == "/_sandbox/bulk_import":
            self.bulk_import(body["account"], body["contacts"])
            return Response(204)
        if request.path == "/_sandbox/edit_contact":
            record = self.edit_contact(body["account"], body["id"], **body.get("changes", {}))
            return Response(200, {"updated_at": record["updated_at"]})
        if request.path == "/_sandbox/interactive_consent":
            self.interactive_consent = bool(body.get("on", True))
            return Response(200, {"interactive_consent": self.interactive_consent})
        if request.path == "/_sandbox/user_status":
            self.set_user_status(body["account"], body["user"], body["status"])
            return Response(204)
        if request.path == "/_sandbox/client_secret":
            # The operator rotates the integration's secret: the old one is refused (invalid_client).
            self.add_client(body["client_id"], body["client_secret"], self.client_names.get(body["client_id"]))
            return Response(204)
        return None

    def handle(self, request: Request) -> Response:
        try:
            if request.path == "/oauth2/access_token" and request.method == "POST":
                return self._token(request)
            if request.path == AUTHORIZE_PATH and request.method in ("GET", "POST"):
                return self._authorize(request)
            if request.path == STYLESHEET_PATH:
                return stylesheet()
            endpoint = request.path.lstrip("/")
            if endpoint not in ENDPOINT_SCOPE:
                raise ApiError(404, f"Endpoint {request.path} not found")
            if request.method not in ("POST", "GET"):
                raise ApiError(405, "Method not allowed")
            return self._api(endpoint, request)
        except _RateLimitedError as exc:
            response = self.error_response(429, exc.title)
            response.headers.update(exc.headers)
            return response
        except ApiError as exc:
            return self.error_response(exc.status, exc.title)

    def _api(self, endpoint: str, request: Request) -> Response:
        with self._lock:
            account = self._authenticate(request)
            headers = self._take_rate_slot(account)
            needed = ENDPOINT_SCOPE[endpoint]
            if needed not in account.scopes:
                raise ApiError(403, f"Missing required scope: {needed}")
            try:
                body = request.json() if request.method == "POST" else _query_body(request)
            except json.JSONDecodeError as exc:
                raise ApiError(400, "Malformed JSON") from exc
            self._schemas.check(endpoint, body)
            if endpoint == "users.me":
                data = self._users_me(account, self.user_of_token(request.bearer() or "") or account.admin())
            else:
                data = getattr(self, "_" + endpoint.replace(".", "_"))(account, body)
            if endpoint == "contacts.list" and self.during_list is not None:
                self._list_calls += 1
                self.during_list(self._list_calls)
            version = request.headers.get("x-api-version") or self.integration_version
            headers["X-Api-Version"] = version
            if data is None:
                return Response(204, None, headers)
            return Response(200, {"data": _as_of(version, data)}, headers)


def _as_of(version: str, data: Any) -> Any:
    """An answer as an older API version gives it (dates compare as ISO strings)."""
    records = data if isinstance(data, list) else [data]
    for record in records:
        if not isinstance(record, dict):
            continue
        if version < "2022-09-15":
            if isinstance(record.get("tags"), list):
                record["tags"] = [str(t).lower() for t in record["tags"]]
            if isinstance(record.get("tag"), str):
                record["tag"] = record["tag"].lower()
        if version < "2018-10-30" and "primary_address" in record:
            record["address"] = record.pop("primary_address")
    return data


def _query_body(request: Request) -> dict[str, Any]:
    """GET list/info calls: `?id=…` or a JSON document in `?body=`; enough for curl."""
    if "body" in request.query:
        parsed: dict[str, Any] = json.loads(request.query["body"][0])
        return parsed
    return {k: v[0] for k, v in request.query.items()}
