"""An account's users and teams: set up by tests and the cast, read through `users.me`,
`users.list`, `users.info` and `teams.list` as teamleadercrm/api's blueprint
(src/01-general/users.apib, teams.apib) documents them."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sandbox.teamleader.base import TeamleaderBase, _slice
from sandbox.teamleader.model import ApiError, TeamleaderAccount, TeamleaderTeam, TeamleaderUser

USER_STATUSES = ("active", "deactivated")
_IDS = {"type": "array", "items": {"type": "string"}}
_PAGE = {
    "type": "object",
    "properties": {"size": {"type": "integer"}, "number": {"type": "integer"}},
    "additionalProperties": False,
}


def _sort(fields: list[str]) -> dict[str, Any]:
    rule = {
        "type": "object",
        "properties": {"field": {"enum": fields}, "order": {"enum": ["asc", "desc"]}},
        "required": ["field"],
        "additionalProperties": False,
    }
    return {"type": "array", "items": rule}


# The request bodies the blueprint documents; the OpenAPI subset the sandbox checks the CRM
# calls against has no user endpoints.
SCHEMAS: dict[str, dict[str, Any]] = {
    "users.me": {"type": "object", "additionalProperties": False},
    "users.list": {
        "type": "object",
        "properties": {
            "filter": {
                "type": "object",
                "properties": {
                    "ids": _IDS,
                    "term": {"type": "string"},
                    "status": {"type": "array", "items": {"enum": list(USER_STATUSES)}},
                },
                "additionalProperties": False,
            },
            "sort": _sort(["first_name", "last_name", "email", "function"]),
            "page": _PAGE,
        },
        "additionalProperties": False,
    },
    "users.info": {
        "type": "object",
        "properties": {"id": {"type": "string"}, "includes": {"type": "string"}},
        "required": ["id"],
        "additionalProperties": False,
    },
    "teams.list": {
        "type": "object",
        "properties": {
            "filter": {
                "type": "object",
                "properties": {"ids": _IDS, "term": {"type": "string"}, "team_lead_id": {"type": "string"}},
                "additionalProperties": False,
            },
            "sort": _sort(["name"]),
            "page": _PAGE,
        },
        "additionalProperties": False,
    },
}


class Users(TeamleaderBase):
    """Users and teams: their set-up, and the endpoints that read them."""

    # ---- set-up, for tests, the cast and the demo ----

    def add_team(self, account_id: str, name: str, *, team_id: str | None = None, lead: str | None = None) -> str:
        """A team in the account (`lead` a user id); its id."""
        with self._lock:
            team = TeamleaderTeam(team_id or str(uuid.uuid4()), name, lead)
            self.accounts[account_id].teams[team.id] = team
            return team.id

    def add_user(
        self,
        account_id: str,
        first_name: str,
        last_name: str,
        email: str,
        *,
        user_id: str | None = None,
        status: str = "active",
        teams: Iterable[str] = (),
        **details: str,
    ) -> TeamleaderUser:
        """A user of the account, a member of the teams named (each made if the account has no
        team of that name); `details` sets language, function or time_zone. The account's first
        user is its admin."""
        if status not in USER_STATUSES:
            raise ValueError(f"status must be one of {USER_STATUSES}")
        with self._lock:
            account = self.accounts[account_id]
            by_name = {team.name: team.id for team in account.teams.values()}
            team_ids = [by_name.get(name) or self.add_team(account_id, name) for name in teams]
            user = TeamleaderUser(
                user_id or str(uuid.uuid4()), account_id, first_name, last_name, email, status, team_ids, **details
            )
            account.users[user.id] = user
            return user

    def set_user_status(self, account_id: str, user_id: str, status: str) -> None:
        """An admin deactivates (or reactivates) a user."""
        if status not in USER_STATUSES:
            raise ValueError(f"status must be one of {USER_STATUSES}")
        with self._lock:
            self.accounts[account_id].users[user_id].status = status

    # ---- endpoints ----

    def _users_me(self, account: TeamleaderAccount, user: TeamleaderUser) -> dict[str, Any]:
        me = _user_json(user)
        me["email_verification_status"] = "confirmed"
        me["time_zone"] = user.time_zone
        me["preferences"] = {"invoiceable": True, "historic_time_tracking_limit": None, "whitelabeling": False}
        if not self.me_lists_teams:
            del me["teams"]
        return me

    def _users_list(self, account: TeamleaderAccount, body: dict[str, Any]) -> list[Any]:
        flt = body.get("filter", {})
        users = list(account.users.values())
        if "ids" in flt:
            users = [u for u in users if u.id in set(flt["ids"])]
        if "status" in flt:
            users = [u for u in users if u.status in flt["status"]]
        if "term" in flt:
            term = flt["term"].casefold()
            users = [u for u in users if term in f"{u.first_name} {u.last_name} {u.email} {u.function}".casefold()]
        rules = body.get("sort") or [{"field": "first_name"}, {"field": "last_name"}]
        for rule in reversed(rules):
            field_name = rule["field"]
            users.sort(key=lambda u: str(getattr(u, field_name)).casefold(), reverse=rule.get("order") == "desc")
        listed = []
        for user in _slice(users, body.get("page", {}), self.page_cap):
            answer = _user_json(user)
            answer["status"] = user.status
            listed.append(answer)
        return listed

    def _users_info(self, account: TeamleaderAccount, body: dict[str, Any]) -> dict[str, Any]:
        user = account.users.get(body["id"])
        if user is None:
            raise ApiError(self.missing_status, f"User {body['id']} not found")
        answer = _user_json(user)
        answer["time_zone"] = user.time_zone
        answer["status"] = user.status
        return answer

    def _teams_list(self, account: TeamleaderAccount, body: dict[str, Any]) -> list[Any]:
        flt = body.get("filter", {})
        teams = sorted(account.teams.values(), key=lambda t: t.name.casefold())
        if (body.get("sort") or [{}])[0].get("order") == "desc":
            teams.reverse()
        if "ids" in flt:
            teams = [t for t in teams if t.id in set(flt["ids"])]
        if "term" in flt:
            teams = [t for t in teams if flt["term"].casefold() in t.name.casefold()]
        if "team_lead_id" in flt:
            teams = [t for t in teams if t.lead == flt["team_lead_id"]]
        listed = []
        for team in _slice(teams, body.get("page", {}), self.page_cap):
            lead = account.users.get(team.lead or "")
            members = [u for u in account.users.values() if team.id in u.team_ids]
            listed.append(
                {
                    "id": team.id,
                    "name": team.name,
                    # Documented: null when the lead is deactivated or deleted.
                    "team_lead": {"type": "user", "id": lead.id} if lead and lead.status == "active" else None,
                    "members": [{"type": "user", "id": u.id} for u in members],
                }
            )
        return listed


def _user_json(user: TeamleaderUser) -> dict[str, Any]:
    """The fields every user endpoint answers."""
    return {
        "id": user.id,
        "account": {"type": "account", "id": user.account_id},
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "telephones": [],
        "language": user.language,
        "function": user.function,
        "teams": [{"type": "team", "id": team_id} for team_id in user.team_ids],
    }
