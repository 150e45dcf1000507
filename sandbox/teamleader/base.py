"""The state every part of `TeamleaderSandbox` shares, and the paging and filtering that the
contact and company lists share.

The resources are mixins over `TeamleaderBase`; `TeamleaderSandbox.__init__` sets what is
declared here."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sandbox.clock import Clock
from sandbox.teamleader.model import (
    MAX_IDS,
    ApiError,
    TeamleaderAccount,
    TeamleaderUser,
    _RequestSchemas,
    parse_iso,
)
from sandbox.webhook_delivery import WebhookSender


class TeamleaderBase:
    """The attributes `TeamleaderSandbox.__init__` sets, declared for the mixins that read them,
    and the list helpers of more than one resource."""

    clock: Clock
    rate_limit: int
    access_token_ttl: int
    updated_since_inclusive: bool
    list_includes_deactivated: bool
    page_cap: int
    missing_status: int
    integration_version: str
    rate_headers: str
    rate_window: str
    link_touches: str
    redirect_uris: set[str] | None
    redirect_mismatch: str
    unreadable_companies: dict[str, int]
    interactive_consent: bool
    me_lists_teams: bool
    deactivated_tokens: str
    client_refusal_status: int
    accounts: dict[str, TeamleaderAccount]
    clients: dict[str, str]
    client_names: dict[str, str]
    _refresh_tokens: dict[str, str]
    _access_tokens: dict[str, tuple[str, float]]
    _token_users: dict[str, str]
    _codes: dict[str, tuple[str, str, float, str | None]]
    _lock: threading.RLock
    _schemas: _RequestSchemas
    during_list: Callable[[int], None] | None
    _list_calls: int
    webhooks: WebhookSender

    def find_user(self, user_id: str) -> TeamleaderUser | None:
        """A user of any account, by id."""
        for account in self.accounts.values():
            if user_id in account.users:
                return account.users[user_id]
        return None

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


def _primary_address(record: dict[str, Any]) -> dict[str, Any] | None:
    for entry in record.get("addresses", []):
        if entry.get("type") == "primary":
            address: dict[str, Any] = entry["address"]
            return address
    return None
