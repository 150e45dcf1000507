"""Google's consent: `GET /o/oauth2/auth` and the pages behind it.

Without a person (the default, and whenever `sandbox_user` is given) it answers at once with a
redirect for the user named, hinted at, or first, as the CLI's tests expect. With
`interactive_consent` on, a browser meets an account chooser, then the consent page of
granular permissions: the sign-in scopes shown as always shared, and a checkbox for each other
scope asked for, which the person may leave unticked. The code remembers the scopes ticked and
the PKCE challenge, both checked at the token endpoint."""

from __future__ import annotations

import secrets
from collections.abc import Mapping

from sandbox.httpserver import Request, Response
from sandbox.pages import Choice, back_to, button, choices, first, form, items, page, submitted, text
from sandbox.people.base import PendingCode, PeopleBase
from sandbox.people.records import (
    CONTACTS_READONLY_SCOPE,
    CONTACTS_SCOPE,
    EMAIL_SCOPES,
    PROFILE_SCOPES,
    SIGN_IN_SCOPES,
    GoogleError,
    GoogleUser,
)

AUTH_PATH = "/o/oauth2/auth"
# The OAuth request, carried from page to page in hidden fields.
CARRIED = (
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "access_type",
    "prompt",
    "login_hint",
    "include_granted_scopes",
    "code_challenge",
    "code_challenge_method",
)
# What the consent page says each scope lets the app do (Google's own wording).
DESCRIPTIONS = {
    CONTACTS_SCOPE: "See, edit, download, and permanently delete your contacts",
    CONTACTS_READONLY_SCOPE: "See and download your contacts",
}
PKCE_METHODS = ("S256", "plain")


class GoogleConsent(PeopleBase):
    """The authorization endpoint: the shortcut answer, or the chooser and consent pages."""

    def _authorize(self, request: Request) -> Response:
        fields = request.query if request.method == "GET" else submitted(request)
        redirect_uri = first(fields, "redirect_uri")
        if first(fields, "client_id") not in self.clients or not redirect_uri:
            raise GoogleError("INVALID_ARGUMENT", "Unknown client or missing redirect_uri.")
        challenge, method = first(fields, "code_challenge"), first(fields, "code_challenge_method")
        if challenge and not method:
            method = "plain"  # RFC 7636: a challenge without a method is a plain one
        if method and (method not in PKCE_METHODS or not challenge):
            raise GoogleError("INVALID_ARGUMENT", "Invalid code_challenge_method or missing code_challenge.")
        scope = first(fields, "scope") or CONTACTS_SCOPE
        state = first(fields, "state")
        if request.method == "GET" and (not self.interactive_consent or "sandbox_user" in fields):
            user_id = self._user_without_person(request)
            code = self._new_code(PendingCode(user_id, redirect_uri, scope, challenge, method))
            return back_to(redirect_uri, {"code": code, "state": state})
        carried = {name: first(fields, name) for name in CARRIED if name in fields}
        if request.method == "GET":
            return self._chooser(carried)
        user = self.users.get(first(fields, "user"))
        if user is None:
            return self._chooser(carried, "Choose an account to continue.")
        step = first(fields, "step")
        if step == "choose":
            return self._consent_page(carried, user)
        if step != "consent":
            return page("Something went wrong", text("This form came from no known step."), status=400)
        if first(fields, "decision") != "allow":
            return back_to(redirect_uri, {"error": "access_denied", "state": state})
        ticked = set(fields.get("grant", []))
        granted = " ".join(s for s in scope.split() if s in SIGN_IN_SCOPES or s in ticked)
        code = self._new_code(PendingCode(user.id, redirect_uri, granted, challenge, method))
        return back_to(redirect_uri, {"code": code, "state": state})

    def _user_without_person(self, request: Request) -> str:
        """The user named, else the one hinted at (as Google signs in the hinted account),
        else the first."""
        hint = request.arg("login_hint")
        user_id = request.arg("sandbox_user") or (hint if hint in self.users else next(iter(self.users), None))
        if user_id is None:
            raise GoogleError("NOT_FOUND", "No sandbox user to consent for.")
        return user_id

    def _new_code(self, pending: PendingCode) -> str:
        code = secrets.token_urlsafe(16)
        with self._lock:
            self._codes[code] = pending
        return code

    def _chooser(self, carried: Mapping[str, str], problem: str = "") -> Response:
        """ "Choose an account": every seeded user, the one hinted at already chosen."""
        hint = carried.get("login_hint", "")
        options = [Choice(u.id, _who(u), u.id == hint) for u in self.users.values()]
        if not options:
            return page("Choose an account", text("This sandbox has no Google users yet."), status=404)
        return page(
            "Choose an account",
            text(problem) if problem else "",
            text(f"to continue to {self._app(carried)}"),
            form(
                AUTH_PATH,
                {**carried, "step": "choose"},
                choices("radio", "user", "Accounts", options),
                button("Next"),
            ),
            status=400 if problem else 200,
        )

    def _consent_page(self, carried: Mapping[str, str], user: GoogleUser) -> Response:
        app = self._app(carried)
        asked = carried.get("scope", CONTACTS_SCOPE).split()
        shared = []
        if asked_email := [s for s in asked if s in EMAIL_SCOPES]:
            shared.append(f"Your primary Google Account e-mail address ({user.id})")
        if [s for s in asked if s in PROFILE_SCOPES]:
            shared.append("Your personal info, including any you have made publicly available")
        if "openid" in asked or asked_email:
            shared.append("Associate you with your personal info on Google")
        boxes = [Choice(s, DESCRIPTIONS.get(s, s), self.consent_preticked) for s in asked if s not in SIGN_IN_SCOPES]
        return page(
            f"{app} wants access to your Google Account",
            text(_who(user), "note"),
            text("Shared when you sign in:") if shared else "",
            items(shared) if shared else "",
            form(
                AUTH_PATH,
                {**carried, "step": "consent", "user": user.id},
                choices("checkbox", "grant", f"Select what {app} can access", boxes) if boxes else "",
                button("Continue", "decision", "allow"),
                button("Cancel", "decision", "deny"),
            ),
        )

    def _app(self, carried: Mapping[str, str]) -> str:
        client_id = carried.get("client_id", "")
        return self.client_names.get(client_id, client_id)


def _who(user: GoogleUser) -> str:
    return f"{user.name} ({user.id})" if user.name else user.id
