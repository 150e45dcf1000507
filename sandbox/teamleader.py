"""The Teamleader Focus API, as much of it as the sync relies on.

Faithful where the real API is unkind: no total counts, page sizes silently capped at 100,
single-use rotating refresh tokens, a sliding-minute rate limit per account, and
`contacts.list` that never says which company a contact works for.
"""

from __future__ import annotations

import json
import math
import secrets
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

from jsonschema import Draft202012Validator

from sandbox.clock import Clock
from sandbox.httpserver import Request, Response
from sandbox.webhook_delivery import WebhookSender

SPEC_PATH = Path(__file__).parent / "specs" / "teamleader-focus-openapi-crm-subset.json"
API_VERSION = "2023-09-26"
PAGE_CAP = 100
MAX_IDS = 100

# The fields each endpoint shows; anything else in a stored record is internal or info-only.
CONTACT_LIST_FIELDS = [
    "id",
    "first_name",
    "last_name",
    "status",
    "salutation",
    "emails",
    "telephones",
    "website",
    "primary_address",
    "gender",
    "birthdate",
    "iban",
    "bic",
    "national_identification_number",
    "language",
    "payment_term",
    "invoicing_preferences",
    "tags",
    "added_at",
    "updated_at",
    "web_url",
    "marketing_mails_consent",
]
CONTACT_INFO_EXTRA = ["vat_number", "remarks", "custom_fields", "addresses", "companies"]
COMPANY_LIST_FIELDS = [
    "id",
    "name",
    "status",
    "business_type",
    "vat_number",
    "national_identification_number",
    "emails",
    "telephones",
    "website",
    "primary_address",
    "language",
    "tags",
    "added_at",
    "updated_at",
    "web_url",
    "marketing_mails_consent",
]
COMPANY_INFO_EXTRA = ["addresses", "remarks", "custom_fields"]

ENDPOINT_SCOPE = {
    "contacts.list": "contacts",
    "contacts.info": "contacts",
    "tags.list": "contacts",
    "companies.list": "companies",
    "companies.info": "companies",
    "contacts.linkToCompany": "contacts",
    "contacts.unlinkFromCompany": "contacts",
    "contacts.updateCompanyLink": "contacts",
    "webhooks.register": "contacts",
    "webhooks.list": "contacts",
    "webhooks.unregister": "contacts",
}
# What a change to a contact's link with a company moves: undocumented, so a switch.
LINK_TOUCHES = ("contact", "company", "neither")


def iso(ts: float) -> str:
    """Teamleader's timestamp format: seconds, with an offset."""
    return datetime.fromtimestamp(int(ts), tz=UTC).isoformat()


def parse_iso(value: str) -> float:
    """Parse an ISO 8601 datetime that carries an offset; ValueError otherwise."""
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError("updated_since needs an offset")
    return parsed.timestamp()


class ApiError(Exception):
    """An error answered in Teamleader's shape."""

    def __init__(self, status: int, title: str) -> None:
        super().__init__(title)
        self.status = status
        self.title = title


@dataclass
class TeamleaderAccount:
    """One Teamleader account: its records, its granted scopes and its rate window."""

    id: str
    scopes: set[str] = field(default_factory=lambda: {"contacts", "companies"})
    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    companies: dict[str, dict[str, Any]] = field(default_factory=dict)
    tags: set[str] = field(default_factory=set)
    window: deque[float] = field(default_factory=deque)
    # company id → (contact id, link) of the people who work there; rebuilt after any contact
    # change. Without it every companies.info scans every contact, and the sandbox, not the
    # sync, dominates a benchmark.
    _employees: dict[str, list[tuple[str, dict[str, Any]]]] | None = None

    def employees(self, company_id: str) -> list[tuple[str, dict[str, Any]]]:
        """The people linked to a company, each with its link (position and the like)."""
        if self._employees is None:
            index: dict[str, list[tuple[str, dict[str, Any]]]] = {}
            for contact in self.contacts.values():
                for link in contact.get("companies", []):
                    index.setdefault(link["company"]["id"], []).append((contact["id"], link))
            self._employees = index
        return self._employees.get(company_id, [])

    def contacts_changed(self) -> None:
        self._employees = None


class _RequestSchemas:
    """Request validation against the OpenAPI subset: types by JSON Schema, names strictly."""

    def __init__(self, spec_path: Path) -> None:
        spec = json.loads(spec_path.read_text())
        self._schemas: dict[str, dict[str, Any]] = {}
        for path, item in spec["paths"].items():
            schema = item["post"].get("requestBody", {}).get("content", {})
            schema = schema.get("application/json", {}).get("schema", {})
            self._schemas[path.lstrip("/")] = schema
        self._validators = {k: Draft202012Validator(v) for k, v in self._schemas.items()}

    def check(self, endpoint: str, body: Any) -> None:
        if not isinstance(body, dict):
            raise ApiError(400, "The request body must be a JSON object")
        errors = sorted(self._validators[endpoint].iter_errors(body), key=lambda e: e.path)
        if errors:
            where = ".".join(str(p) for p in errors[0].absolute_path) or "body"
            raise ApiError(400, f"{where}: {errors[0].message}")
        _reject_unknown(self._schemas[endpoint], body, "")


def _properties(schema: dict[str, Any]) -> dict[str, Any]:
    """The named properties of a schema, merging the parts of an allOf."""
    merged: dict[str, Any] = {}
    for part in schema.get("allOf", []):
        for name, sub in _properties(part).items():
            merged.setdefault(name, {"allOf": []})["allOf"].append(sub)
    for name, sub in schema.get("properties", {}).items():
        merged.setdefault(name, {"allOf": []})["allOf"].append(sub)
    return merged


def _reject_unknown(schema: dict[str, Any], value: Any, where: str) -> None:
    props = _properties(schema)
    if not isinstance(value, dict) or not props:
        return
    for key, sub_value in value.items():
        if key not in props:
            raise ApiError(400, f"Unknown field '{where}{key}'")
        _reject_unknown(props[key], sub_value, f"{where}{key}.")


class TeamleaderSandbox:
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
        # Fault: company id → the status its `companies.info` answers, although it exists (a
        # record Teamleader cannot serve).
        self.unreadable_companies: dict[str, int] = {}
        self.accounts: dict[str, TeamleaderAccount] = {}
        self.clients: dict[str, str] = {}
        self._refresh_tokens: dict[str, str] = {}
        self._access_tokens: dict[str, tuple[str, float]] = {}
        self._codes: dict[str, tuple[str, str, float]] = {}
        self._lock = threading.RLock()
        self._schemas = _RequestSchemas(SPEC_PATH)
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

    def add_client(self, client_id: str, client_secret: str) -> None:
        self.clients[client_id] = client_secret

    def issue_tokens(self, account_id: str) -> dict[str, Any]:
        """Tokens as a completed consent flow would hand them out."""
        with self._lock:
            return self._new_tokens(account_id)

    def revoke(self, account_id: str) -> None:
        """The user disconnects the integration: every token of the account stops working."""
        with self._lock:
            for token in [t for t, a in self._refresh_tokens.items() if a == account_id]:
                del self._refresh_tokens[token]
            for token in [t for t, (a, _) in self._access_tokens.items() if a == account_id]:
                del self._access_tokens[token]

    def account_of_token(self, token: str) -> str | None:
        entry = self._access_tokens.get(token)
        return entry[0] if entry else None

    def put_contact(self, account_id: str, contact: dict[str, Any], *, touch: bool = True) -> None:
        """Store a contact (info-shaped); `touch` stamps updated_at with the sandbox's now."""
        with self._lock:
            record = dict(contact)
            if touch or "updated_at" not in record:
                record["updated_at"] = iso(self.clock.now())
            record.setdefault("added_at", record["updated_at"])
            record["_updated"] = parse_iso(record["updated_at"])
            account = self.accounts[account_id]
            known = account.contacts.pop(record["id"], None)  # an edit moves it to the end of ties
            account.contacts[record["id"]] = record
            account.contacts_changed()
            account.tags.update(record.get("tags", []))
            self.webhooks.emit(account_id, "contact.updated" if known else "contact.added", record["id"])

    def edit_contact(self, account_id: str, contact_id: str, **changes: Any) -> dict[str, Any]:
        """Change fields of a contact as a Teamleader user would; updated_at moves to now."""
        with self._lock:
            record = {k: v for k, v in self.accounts[account_id].contacts[contact_id].items()}
            record.update(changes)
            self.put_contact(account_id, record)
            return record

    def link(
        self,
        account_id: str,
        contact_id: str,
        company_id: str,
        *,
        position: str | None = None,
        decision_maker: bool = False,
        linked: bool = True,
    ) -> None:
        """Link a contact to a company, change its link (position), or unlink it (`linked`
        False), as contacts.linkToCompany, updateCompanyLink and unlinkFromCompany do; which
        updated_at moves is the `link_touches` switch's."""
        if self.link_touches not in LINK_TOUCHES:
            raise ValueError(f"unknown link_touches {self.link_touches!r}")
        with self._lock:
            account = self.accounts[account_id]
            contact, company = account.contacts.get(contact_id), account.companies.get(company_id)
            if contact is None or company is None:
                raise ApiError(self.missing_status, "The request references non-existing resources")
            links = [link for link in contact.get("companies", []) if link["company"]["id"] != company_id]
            if linked:
                link = {"company": {"type": "company", "id": company_id}, "position": position}
                links.append({**link, "decision_maker": decision_maker})
            record = {**contact, "companies": links}
            self.put_contact(account_id, record, touch=self.link_touches == "contact")
            event = "contact.linkedToCompany" if linked else "contact.unlinkedFromCompany"
            self.webhooks.emit(account_id, event, contact_id)
            if self.link_touches == "company":
                self.put_company(account_id, company)

    def bulk_import(self, account_id: str, contacts: list[dict[str, Any]]) -> None:
        """Import contacts as Teamleader's import does: all in the same second, each one a
        `contact.added` event."""
        with self._lock:
            stamp = iso(self.clock.now())
            for contact in contacts:
                self.put_contact(account_id, {**contact, "updated_at": stamp, "added_at": stamp}, touch=False)

    def delete_contact(self, account_id: str, contact_id: str) -> None:
        with self._lock:
            del self.accounts[account_id].contacts[contact_id]
            self.accounts[account_id].contacts_changed()
            self.webhooks.emit(account_id, "contact.deleted", contact_id)

    def delete_company(self, account_id: str, company_id: str) -> None:
        """Delete a company as Teamleader does: its people stay, their links to it go."""
        with self._lock:
            account = self.accounts[account_id]
            del account.companies[company_id]
            for contact in account.contacts.values():
                contact["companies"] = [c for c in contact.get("companies", []) if c["company"]["id"] != company_id]
            account.contacts_changed()
            self.webhooks.emit(account_id, "company.deleted", company_id)

    def put_company(self, account_id: str, company: dict[str, Any], *, touch: bool = True) -> None:
        with self._lock:
            record = dict(company)
            if touch or "updated_at" not in record:
                record["updated_at"] = iso(self.clock.now())
            record.setdefault("added_at", record["updated_at"])
            record["_updated"] = parse_iso(record["updated_at"])
            account = self.accounts[account_id]
            known = account.companies.pop(record["id"], None)
            account.companies[record["id"]] = record
            self.webhooks.emit(account_id, "company.updated" if known else "company.added", record["id"])

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
        return None

    def handle(self, request: Request) -> Response:
        try:
            if request.path == "/oauth2/access_token" and request.method == "POST":
                return self._token(request)
            if request.path == "/oauth2/authorize" and request.method == "GET":
                return self._authorize(request)
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
            data = getattr(self, "_" + endpoint.replace(".", "_"))(account, body)
            if endpoint == "contacts.list" and self.during_list is not None:
                self._list_calls += 1
                self.during_list(self._list_calls)
            version = request.headers.get("x-api-version") or self.integration_version
            headers["X-Api-Version"] = version
            if data is None:
                return Response(204, None, headers)
            return Response(200, {"data": _as_of(version, data)}, headers)

    def _authenticate(self, request: Request) -> TeamleaderAccount:
        token = request.bearer()
        entry = self._access_tokens.get(token or "")
        if entry is None:
            raise ApiError(401, "Access token is invalid")
        account_id, expires = entry
        if expires <= self.clock.now():
            raise ApiError(401, "Access token expired")
        return self.accounts[account_id]

    def _take_rate_slot(self, account: TeamleaderAccount) -> dict[str, str]:
        now = self.clock.now()
        window = account.window
        if self.rate_window == "fixed":
            # Calls counted per clock minute; the reset is the minute's end.
            start = now // 60 * 60
            while window and window[0] < start:
                window.popleft()
            reset = start + 60
        else:
            while window and window[0] <= now - 60:
                window.popleft()
            # When the oldest call in the sliding minute leaves it, freeing a slot.
            reset = (window[0] + 60) if window else now + 60
        if len(window) >= self.rate_limit:
            raise _RateLimitedError(self._rate_headers(0, reset, now, refused=True))
        window.append(now)
        return self._rate_headers(self.rate_limit - len(window), reset, now, refused=False)

    def _rate_headers(self, remaining: int, reset: float, now: float, *, refused: bool) -> dict[str, str]:
        match self.rate_headers:
            case "documented":
                return {
                    "X-RateLimit-Limit": str(self.rate_limit),
                    "X-RateLimit-Remaining": str(remaining),
                    "X-RateLimit-Reset": _rate_reset(reset),
                }
            case "reset_only":
                return {"X-RateLimit-Reset": _rate_reset(reset)}
            case "retry_after":
                return {"Retry-After": str(max(1, math.ceil(reset - now)))} if refused else {}
            case "bare":
                return {}
        raise ValueError(f"unknown rate_headers {self.rate_headers!r}")

    # ---- endpoints ----

    def _contacts_list(self, account: TeamleaderAccount, body: dict[str, Any]) -> list[Any]:
        flt = body.get("filter", {})
        records = list(account.contacts.values())
        if "status" not in flt and not self.list_includes_deactivated:
            records = [r for r in records if r.get("status") == "active"]
        if "company_id" in flt:
            records = [
                r for r in records if any(link["company"]["id"] == flt["company_id"] for link in r.get("companies", []))
            ]
        if "email" in flt:
            wanted = flt["email"]["email"].lower()
            records = [r for r in records if any(e["email"].lower() == wanted for e in r.get("emails", []))]
        if "term" in flt:
            term = flt["term"].lower()
            records = [r for r in records if term in _contact_haystack(r)]
        records = self._common_filters(records, flt, account.contacts)
        page = self._sort_and_page(records, body)
        with_custom = "custom_fields" in (body.get("includes") or "").split(",")
        return [_contact_view(r, info=False, custom_fields=with_custom) for r in page]

    def _contacts_info(self, account: TeamleaderAccount, body: dict[str, Any]) -> dict[str, Any]:
        record = account.contacts.get(body["id"])
        if record is None:
            raise ApiError(404, f"Contact {body['id']} not found")
        return _contact_view(record, info=True, custom_fields=True)

    def _companies_list(self, account: TeamleaderAccount, body: dict[str, Any]) -> list[Any]:
        flt = body.get("filter", {})
        records = list(account.companies.values())
        if "status" not in flt and not self.list_includes_deactivated:
            records = [r for r in records if r.get("status") == "active"]
        if "term" in flt:
            term = flt["term"].lower()
            records = [r for r in records if term in r.get("name", "").lower()]
        if "vat_number" in flt:
            records = [r for r in records if r.get("vat_number") == flt["vat_number"]]
        records = self._common_filters(records, flt, account.companies)
        return [_company_view(r, info=False) for r in self._sort_and_page(records, body)]

    def _contacts_linkToCompany(self, account: TeamleaderAccount, body: dict[str, Any]) -> None:  # noqa: N802
        self._link_from_api(account, body, linked=True)

    def _contacts_updateCompanyLink(self, account: TeamleaderAccount, body: dict[str, Any]) -> None:  # noqa: N802
        self._link_from_api(account, body, linked=True)

    def _contacts_unlinkFromCompany(self, account: TeamleaderAccount, body: dict[str, Any]) -> None:  # noqa: N802
        self._link_from_api(account, body, linked=False)

    def _link_from_api(self, account: TeamleaderAccount, body: dict[str, Any], *, linked: bool) -> None:
        position, decision_maker = body.get("position"), bool(body.get("decision_maker"))
        self.link(
            account.id, body["id"], body["company_id"], position=position, decision_maker=decision_maker, linked=linked
        )

    def _companies_info(self, account: TeamleaderAccount, body: dict[str, Any]) -> dict[str, Any]:
        record = account.companies.get(body["id"])
        if record is None:
            raise ApiError(self.missing_status, f"Company {body['id']} not found")
        if (status := self.unreadable_companies.get(body["id"])) is not None:
            raise ApiError(status, f"Company {body['id']} could not be read")
        view = _company_view(record, info=True)
        includes = (body.get("includes") or "").split(",")
        if "related_contacts" in includes:
            view["related_contacts"] = [
                {
                    "type": "contact",
                    "id": contact_id,
                    "position": link.get("position"),
                    "secondary_position": link.get("secondary_position"),
                    "division": link.get("division"),
                    "is_decision_maker": link.get("decision_maker", False),
                }
                for contact_id, link in account.employees(record["id"])
            ]
        if "related_companies" in includes:
            view["related_companies"] = []
        return view

    def _webhooks_register(self, account: TeamleaderAccount, body: dict[str, Any]) -> None:
        url = str(body["url"])
        # Teamleader takes HTTPS addresses only; the sandbox also takes this machine's own.
        if not (url.startswith("https://") or url.startswith(("http://127.0.0.1", "http://localhost"))):
            raise ApiError(400, "The url must be a valid HTTPS url")
        self.webhooks.register(account.id, url, body["types"])

    def _webhooks_list(self, account: TeamleaderAccount, body: dict[str, Any]) -> list[Any]:
        return self.webhooks.listed(account.id)

    def _webhooks_unregister(self, account: TeamleaderAccount, body: dict[str, Any]) -> None:
        self.webhooks.unregister(account.id, str(body["url"]), body["types"])

    def _tags_list(self, account: TeamleaderAccount, body: dict[str, Any]) -> list[Any]:
        tags = sorted(account.tags)
        return [{"tag": t} for t in _slice(tags, body.get("page", {}), self.page_cap)]

    def _common_filters(
        self, records: list[dict[str, Any]], flt: dict[str, Any], by_id: dict[str, Any]
    ) -> list[dict[str, Any]]:
        if "ids" in flt:
            if len(flt["ids"]) > MAX_IDS:
                raise ApiError(400, f"filter.ids accepts at most {MAX_IDS} ids")
            wanted = set(flt["ids"])
            records = [r for r in records if r["id"] in wanted]
        if "status" in flt:
            records = [r for r in records if r.get("status") == flt["status"]]
        if "tags" in flt:
            wanted_tags = set(flt["tags"])
            records = [r for r in records if wanted_tags <= set(r.get("tags", []))]
        if "marketing_mails_consent" in flt:
            consent = flt["marketing_mails_consent"]
            records = [r for r in records if bool(r.get("marketing_mails_consent")) == consent]
        if "updated_since" in flt:
            try:
                since = parse_iso(flt["updated_since"])
            except ValueError as exc:
                raise ApiError(400, f"filter.updated_since: {exc}") from exc
            if self.updated_since_inclusive:
                records = [r for r in records if r["_updated"] >= since]
            else:
                records = [r for r in records if r["_updated"] > since]
        return records

    def _sort_and_page(self, records: list[dict[str, Any]], body: dict[str, Any]) -> list[Any]:
        # Python's sort is stable, so ties keep storage order: an edit moves a record to the
        # end of its tie, which is exactly what makes offset paging skip records.
        for rule in reversed(body.get("sort") or [{"field": "name"}]):
            reverse = rule.get("order", "asc") == "desc"
            field_name = rule["field"]
            if field_name == "name":
                records.sort(key=_name_key, reverse=reverse)
            elif field_name == "updated_at":
                records.sort(key=lambda r: r["_updated"], reverse=reverse)
            else:
                records.sort(key=lambda r: r.get("added_at", ""), reverse=reverse)
        return _slice(records, body.get("page", {}), self.page_cap)

    # ---- OAuth ----

    def _new_tokens(self, account_id: str) -> dict[str, Any]:
        access = "tl-at-" + secrets.token_urlsafe(24)
        refresh = "tl-rt-" + secrets.token_urlsafe(24)
        self._access_tokens[access] = (account_id, self.clock.now() + self.access_token_ttl)
        self._refresh_tokens[refresh] = account_id
        return {
            "token_type": "Bearer",
            "expires_in": self.access_token_ttl,
            "access_token": access,
            "refresh_token": refresh,
        }

    def _token(self, request: Request) -> Response:
        content_type = request.headers.get("content-type", "")
        if "json" in content_type:
            form = {k: str(v) for k, v in request.json().items()}
        else:
            form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        client_id = form.get("client_id", "")
        if client_id not in self.clients or self.clients[client_id] != form.get("client_secret"):
            return Response(401, {"error": "invalid_client", "message": "Client authentication failed"})
        with self._lock:
            grant = form.get("grant_type")
            if grant == "refresh_token":
                account_id = self._refresh_tokens.pop(form.get("refresh_token", ""), None)
                if account_id is None:
                    return _invalid_grant("The refresh token is invalid.")
                return Response(200, self._new_tokens(account_id), wrote=True)
            if grant == "authorization_code":
                entry = self._codes.pop(form.get("code", ""), None)
                if entry is None or entry[2] < self.clock.now():
                    return _invalid_grant("Authorization code is invalid or expired")
                if entry[1] != form.get("redirect_uri"):
                    return _invalid_grant("Redirect URI does not match")
                return Response(200, self._new_tokens(entry[0]), wrote=True)
        return Response(400, {"error": "unsupported_grant_type"})

    def _authorize(self, request: Request) -> Response:
        """Consent without a person: approve for the account named, or the only one."""
        client_id = request.arg("client_id")
        redirect_uri = request.arg("redirect_uri") or ""
        if client_id not in self.clients or not redirect_uri:
            raise ApiError(400, "Unknown client or missing redirect_uri")
        if self.redirect_uris is not None and redirect_uri not in self.redirect_uris:
            if self.redirect_mismatch == "error_page":
                raise ApiError(400, "The redirect URI is not registered for this integration")
            mismatch = {
                "error": "invalid_request",
                "error_description": "redirect_uri mismatch",
                "state": request.arg("state") or "",
            }
            return Response(302, None, {"Location": f"{redirect_uri}?{urlencode(mismatch)}"})
        account_id = request.arg("sandbox_account") or next(iter(self.accounts), None)
        query: dict[str, str] = {"state": request.arg("state") or ""}
        if account_id is None or request.arg("sandbox_deny"):
            query["error"] = "access_denied"
        else:
            code = secrets.token_urlsafe(16)
            self._codes[code] = (account_id, redirect_uri, self.clock.now() + 600)
            query["code"] = code
        return Response(302, None, {"Location": f"{redirect_uri}?{urlencode(query)}"})


class _RateLimitedError(ApiError):
    def __init__(self, headers: dict[str, str]) -> None:
        super().__init__(429, "Too many requests")
        self.headers = headers


def _invalid_grant(description: str) -> Response:
    return Response(400, {"error": "invalid_grant", "error_description": description})


def _rate_reset(ts: float) -> str:
    moment = datetime.fromtimestamp(ts, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def _slice(items: list[Any], page: dict[str, Any], cap: int) -> list[Any]:
    size = min(int(page.get("size", 20)), cap)
    number = int(page.get("number", 1))
    if size < 1 or number < 1:
        raise ApiError(400, "page.size and page.number must be at least 1")
    return items[(number - 1) * size : number * size]


def _name_key(record: dict[str, Any]) -> tuple[str, str]:
    if "name" in record:
        return (record["name"].casefold(), "")
    return ((record.get("last_name") or "").casefold(), (record.get("first_name") or "").casefold())


def _contact_haystack(record: dict[str, Any]) -> str:
    parts = [record.get("first_name") or "", record.get("last_name") or ""]
    parts += [e["email"] for e in record.get("emails", [])]
    parts += [t["number"] for t in record.get("telephones", [])]
    return " ".join(parts).lower()


def _primary_address(record: dict[str, Any]) -> dict[str, Any] | None:
    for entry in record.get("addresses", []):
        if entry.get("type") == "primary":
            address: dict[str, Any] = entry["address"]
            return address
    return None


def _contact_view(record: dict[str, Any], *, info: bool, custom_fields: bool) -> dict[str, Any]:
    view = {k: record.get(k) for k in CONTACT_LIST_FIELDS}
    view["emails"] = record.get("emails", [])
    view["telephones"] = record.get("telephones", [])
    view["tags"] = record.get("tags", [])
    view["web_url"] = f"https://focus.teamleader.eu/contact_detail.php?id={record['id']}"
    if info:
        for key in CONTACT_INFO_EXTRA:
            view[key] = record.get(key)
        view["addresses"] = record.get("addresses", [])
        view["companies"] = record.get("companies", [])
        view["custom_fields"] = record.get("custom_fields", [])
        del view["primary_address"]
    else:
        view["primary_address"] = _primary_address(record)
        if custom_fields:
            view["custom_fields"] = record.get("custom_fields", [])
    return view


def _company_view(record: dict[str, Any], *, info: bool) -> dict[str, Any]:
    view = {k: record.get(k) for k in COMPANY_LIST_FIELDS}
    view["emails"] = record.get("emails", [])
    view["telephones"] = record.get("telephones", [])
    view["tags"] = record.get("tags", [])
    view["web_url"] = f"https://focus.teamleader.eu/company_detail.php?id={record['id']}"
    if info:
        for key in COMPANY_INFO_EXTRA:
            view[key] = record.get(key)
        view["addresses"] = record.get("addresses", [])
        del view["primary_address"]
    else:
        view["primary_address"] = _primary_address(record)
    return view


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
