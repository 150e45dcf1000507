"""The account model and what every call is checked against: the API's limits and scopes,
Teamleader's timestamps and error shape, and request validation against the OpenAPI subset."""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

# sandbox/specs/, beside this package.
SPEC_PATH = Path(__file__).parent.parent / "specs" / "teamleader-focus-openapi-crm-subset.json"
API_VERSION = "2023-09-26"
PAGE_CAP = 100
MAX_IDS = 100

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
    "users.me": "users",
    "users.list": "users",
    "users.info": "users",
    "teams.list": "users",
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
class TeamleaderUser:
    """A co-worker in a Teamleader account: who signs in, and who a token acts for."""

    id: str
    account_id: str
    first_name: str
    last_name: str
    email: str
    status: str = "active"
    team_ids: list[str] = field(default_factory=list)
    language: str = "en-GB"
    function: str = ""
    time_zone: str = "Europe/Brussels"

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@dataclass
class TeamleaderTeam:
    """A team of an account; `lead` is a user id."""

    id: str
    name: str
    lead: str | None = None


@dataclass
class TeamleaderAccount:
    """One Teamleader account: its records, users and teams, its granted scopes and its rate
    window."""

    id: str
    # `users` is the scope users.me and the other user endpoints need: the integration the page
    # signs people in with is registered with it.
    scopes: set[str] = field(default_factory=lambda: {"contacts", "companies", "users"})
    # In the order they were added: the first is the one who installed the integration (the
    # admin), whom a token issued without a user acts for.
    users: dict[str, TeamleaderUser] = field(default_factory=dict)
    teams: dict[str, TeamleaderTeam] = field(default_factory=dict)
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

    def admin(self) -> TeamleaderUser:
        """The account's first user; an account set up without users gets one, so that a
        token issued for the account alone still has someone to act for."""
        if not self.users:
            admin = TeamleaderUser(f"{self.id}-admin", self.id, "Account", "Admin", f"admin@{self.id}.example")
            self.users[admin.id] = admin
        return next(iter(self.users.values()))


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

    def add(self, endpoint: str, schema: dict[str, Any]) -> None:
        """A request schema for an endpoint the OpenAPI subset lacks (written from the
        published blueprint)."""
        self._schemas[endpoint] = schema
        self._validators[endpoint] = Draft202012Validator(schema)

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
