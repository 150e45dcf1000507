"""Teamleader's consent: `GET /oauth2/authorize` and the pages behind it.

Without a person (the default, and whenever a `sandbox_*` shortcut is given) it answers at once
with a redirect, as the CLI's tests expect. With `interactive_consent` on, a browser meets what
a person meets: a sign-in page listing the seeded users of every account, then "Allow access?",
posting back here, then the redirect with a code that remembers who signed in."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from urllib.parse import urlencode

from sandbox.httpserver import Request, Response
from sandbox.pages import Choice, back_to, button, choices, first, form, items, page, submitted, text
from sandbox.teamleader.base import TeamleaderBase
from sandbox.teamleader.model import ApiError, TeamleaderUser

AUTHORIZE_PATH = "/oauth2/authorize"
# Query parameters that ask for the old, non-interactive answer even when pages are on.
SHORTCUTS = ("sandbox_account", "sandbox_user", "sandbox_deny")
# The OAuth request, carried from page to page in hidden fields.
CARRIED = ("client_id", "response_type", "redirect_uri", "state")
CODE_LIFETIME = 600


class TeamleaderConsent(TeamleaderBase):
    """The authorize endpoint: the shortcut answer, or the sign-in and approval pages."""

    def _authorize(self, request: Request) -> Response:
        fields = request.query if request.method == "GET" else submitted(request)
        client_id = first(fields, "client_id")
        redirect_uri = first(fields, "redirect_uri")
        state = first(fields, "state")
        if client_id not in self.clients or not redirect_uri:
            raise ApiError(400, "Unknown client or missing redirect_uri")
        if self.redirect_uris is not None and redirect_uri not in self.redirect_uris:
            if self.redirect_mismatch == "error_page":
                raise ApiError(400, "The redirect URI is not registered for this integration")
            mismatch = {"error": "invalid_request", "error_description": "redirect_uri mismatch", "state": state}
            return Response(302, None, {"Location": f"{redirect_uri}?{urlencode(mismatch)}"})
        if request.method == "GET" and (not self.interactive_consent or any(k in fields for k in SHORTCUTS)):
            return self._consent_without_person(request, redirect_uri, state)
        carried = {name: first(fields, name) for name in CARRIED if name in fields}
        if request.method == "GET":
            return self._sign_in_page(carried)
        user = self.find_user(first(fields, "user"))
        if user is None:
            return self._sign_in_page(carried, "Choose the user to sign in as.")
        if user.status != "active":
            return page(
                "This user is deactivated",
                text(f"{user.name} can no longer sign in to Teamleader account {user.account_id}."),
                text("Ask an administrator of the account to reactivate the user, or sign in as someone else."),
                status=403,
            )
        step = first(fields, "step")
        if step == "signin":
            return self._approval_page(carried, user)
        if step != "approve":
            return page("Something went wrong", text("This form came from no known step."), status=400)
        if first(fields, "decision") != "allow":
            return back_to(redirect_uri, {"state": state, "error": "access_denied"})
        return back_to(redirect_uri, {"state": state, "code": self._new_code(user.account_id, redirect_uri, user.id)})

    def _consent_without_person(self, request: Request, redirect_uri: str, state: str) -> Response:
        """Approve at once: for the user named, else for the account named (its admin), else
        for the first account; refuse when told to."""
        user_id = request.arg("sandbox_user")
        if user_id is not None:
            user = self.find_user(user_id)
            if user is None:
                raise ApiError(400, f"No sandbox user {user_id}")
            account_id: str | None = user.account_id
        else:
            account_id = request.arg("sandbox_account") or next(iter(self.accounts), None)
        query = {"state": state}
        if account_id is None or request.arg("sandbox_deny"):
            query["error"] = "access_denied"
        else:
            query["code"] = self._new_code(account_id, redirect_uri, user_id)
        return back_to(redirect_uri, query)

    def _new_code(self, account_id: str, redirect_uri: str, user_id: str | None) -> str:
        code = secrets.token_urlsafe(16)
        with self._lock:
            self._codes[code] = (account_id, redirect_uri, self.clock.now() + CODE_LIFETIME, user_id)
        return code

    def _sign_in_page(self, carried: Mapping[str, str], problem: str = "") -> Response:
        """Every seeded user of every account, one radio button each (a real sign-in page asks
        for an e-mail address and password; choosing is what matters here)."""
        groups = []
        with self._lock:
            for account in self.accounts.values():
                account.admin()  # an account set up without users still has someone to sign in as
                options = [Choice(u.id, f"{u.name} ({u.email})") for u in account.users.values()]
                groups.append(choices("radio", "user", f"Account {account.id}", options))
        return page(
            "Sign in to Teamleader Focus",
            text(problem) if problem else "",
            form(AUTHORIZE_PATH, {**carried, "step": "signin"}, *groups, button("Sign in")),
            status=400 if problem else 200,
        )

    def _approval_page(self, carried: Mapping[str, str], user: TeamleaderUser) -> Response:
        integration = self.client_names.get(carried.get("client_id", ""), carried.get("client_id", ""))
        scopes = sorted(self.accounts[user.account_id].scopes)
        return page(
            f"Allow {integration} access?",
            text(f"Signed in as {user.name} ({user.email}), account {user.account_id}.", "note"),
            text(f"{integration} will be able to use this account's data:"),
            items(scopes),
            form(
                AUTHORIZE_PATH,
                {**carried, "step": "approve", "user": user.id},
                button("Allow", "decision", "allow"),
                button("Deny", "decision", "deny"),
            ),
        )
