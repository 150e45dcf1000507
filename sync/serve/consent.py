"""The OAuth consent flows that put an account's tokens in the secret store.

Teamleader: the authorization-code flow with a redirect to a one-shot local server.
Google: google-auth-oauthlib's installed-app local-server flow.
"""

from __future__ import annotations

import contextlib
import hmac
import io
import json
import os
import secrets as pysecrets
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from sync.config import Settings, url
from sync.errors import SyncError
from sync.google.people import SCOPES
from sync.secrets.port import SecretStore, client_secret_name
from sync.teamleader.oauth import json_object

CONSENT_TIMEOUT = 300.0
# Who consented (the openid token's e-mail) matters as much as what was allowed.
CONSENT_SCOPES = ["openid", "https://www.googleapis.com/auth/userinfo.email", *SCOPES]
# A connection to the local listener that sends no request within this long is dropped.
REQUEST_SECONDS = 5.0
# The port of the redirect URI the README tells people to register with their Teamleader
# integration (http://127.0.0.1:8765/): Teamleader accepts only a registered one.
TEAMLEADER_REDIRECT_PORT = 8765


class ConsentError(SyncError):
    """The person refused, the state did not match, or the exchange failed."""


def _client(secrets: SecretStore, name: str) -> dict[str, str]:
    try:
        data: dict[str, str] = json.loads(secrets.read(name))
    except KeyError as exc:
        raise ConsentError(f"secret {name} is missing: store the OAuth app's client id and secret first") from exc
    return data


def _wait_for_redirect(
    server: HTTPServer, state: str, finish: Callable[[dict[str, str]], str], deadline: float
) -> dict[str, str]:
    """Serve requests until the redirect that carries this flow's `state` arrives (or the
    deadline passes), hand it to `finish`, and tell the browser what came of it. Anything else
    (a favicon, a forged or stale redirect) is answered and changes nothing; a connection that
    sends nothing is dropped after a few seconds."""
    received: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        timeout = REQUEST_SECONDS

        def do_GET(self) -> None:
            query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
            if received or not hmac.compare_digest(query.get("state", ""), state):
                self._answer(404, "This is not the answer this sign-in is waiting for.")
                return
            received.update(query)
            try:
                self._answer(200, finish(query))
            except ConsentError as exc:
                received["failure"] = str(exc)
                self._answer(400, f"Not connected: {exc}")

        def _answer(self, status: int, text: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(text.encode())

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            """Quiet: the query holds the authorization code."""

    server.RequestHandlerClass = Handler
    while not received and (left := deadline - time.monotonic()) > 0:
        server.timeout = left
        server.handle_request()
    return received


def printable(text: str, limit: int = 200) -> str:
    """Text from the network made safe for a terminal: control characters (ANSI escapes among
    them) dropped, and cut at `limit`."""
    return "".join(c for c in text if c.isprintable())[:limit]


def connect_teamleader(
    settings: Settings,
    secrets: SecretStore,
    secret_name: str,
    show: Callable[[str], None],
    port: int = TEAMLEADER_REDIRECT_PORT,
    timeout: float = CONSENT_TIMEOUT,
) -> None:
    """Ask a person to approve the integration in Teamleader, then store the tokens."""
    client = _client(secrets, client_secret_name(settings.secret_prefix, "teamleader"))
    try:
        server = HTTPServer(("127.0.0.1", port), BaseHTTPRequestHandler)
    except OSError as exc:
        raise ConsentError(
            f"port {port} is taken: free it, or pass --port N and register http://127.0.0.1:N/ with the integration"
        ) from exc
    redirect_uri = f"http://127.0.0.1:{server.server_address[1]}/"
    state = pysecrets.token_urlsafe(16)
    query = urlencode(
        {"client_id": client["client_id"], "response_type": "code", "state": state, "redirect_uri": redirect_uri}
    )

    def finish(result: dict[str, str]) -> str:
        secrets.write(secret_name, json.dumps(_exchange(settings, client, result, redirect_uri)))
        return "Teamleader is connected; you can close this tab."

    outcome: dict[str, str] = {}
    # A daemon: a browser that never comes back must not keep the command from exiting.
    waiter = threading.Thread(
        target=lambda: outcome.update(_wait_for_redirect(server, state, finish, time.monotonic() + timeout)),
        daemon=True,
    )
    waiter.start()
    show(f"{url(settings.teamleader_authorize_url)}?{query}")
    waiter.join(timeout + REQUEST_SECONDS + 5)
    server.server_close()
    if not outcome:
        # Teamleader shows an unregistered redirect URI an error page and never comes back.
        raise ConsentError(
            f"no answer from Teamleader's consent page within {timeout:.0f} s; {_register(redirect_uri)}"
        )
    if "failure" in outcome:
        raise ConsentError(outcome["failure"])


def _exchange(settings: Settings, client: dict[str, str], result: dict[str, str], redirect_uri: str) -> dict[str, Any]:
    """The tokens for the redirect's authorization code (its state already checked)."""
    if result.get("error"):
        if _about_the_redirect(result):
            raise ConsentError(f"Teamleader refused the redirect URI; {_register(redirect_uri)}")
        raise ConsentError(f"Teamleader consent refused: {printable(result['error'])}")
    if not result.get("code"):
        raise ConsentError("no valid answer from Teamleader's consent page")
    answer = httpx.post(
        url(settings.teamleader_token_url),
        data={
            "grant_type": "authorization_code",
            "client_id": client["client_id"],
            "client_secret": client["client_secret"],
            "code": result["code"],
            "redirect_uri": redirect_uri,
        },
        timeout=settings.http_timeout_seconds,
    )
    if answer.status_code != 200:
        if _about_the_redirect(json_object(answer)):
            raise ConsentError(f"Teamleader refused the redirect URI; {_register(redirect_uri)}")
        raise ConsentError(f"Teamleader refused the authorization code ({answer.status_code})")
    body = answer.json()
    return {
        "refresh_token": body["refresh_token"],
        "access_token": body["access_token"],
        "expires_at": time.time() + float(body.get("expires_in", 3600)),
    }


def _register(redirect_uri: str) -> str:
    return (
        f"register exactly {redirect_uri} as a redirect URL of the Teamleader integration "
        "(Marketplace → your integration), or pass the --port of the one registered"
    )


def _about_the_redirect(error: dict[str, Any]) -> bool:
    """Whether an OAuth error answer is about the redirect URI (its code or description says so)."""
    words = f"{error.get('error', '')} {error.get('error_description', '')}".lower()
    return "redirect" in words


def connect_google(
    settings: Settings,
    secrets: SecretStore,
    secret_name: str,
    show: Callable[[str], None],
    port: int = 0,
    user: str | None = None,
) -> None:
    """Ask a person to allow access to their contacts, then store the refresh token. `user`
    (a team member's address) is handed to Google as a hint of the account to sign in with."""
    client = _client(secrets, client_secret_name(settings.secret_prefix, "google"))
    token_uri = url(settings.google_token_uri)
    if token_uri.startswith("http://127.0.0.1") or token_uri.startswith("http://localhost"):
        # oauthlib insists on TLS; a local sandbox has none.
        os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"
    # A person may untick a permission: the scopes granted are checked below, with a clear
    # sentence, rather than by oauthlib raising a bare warning.
    os.environ["OAUTHLIB_RELAX_TOKEN_SCOPE"] = "1"
    # Imported here: google-auth-oauthlib brings requests along, a quarter of a second at every
    # start of the CLI and of the function, which never connect anyone.
    from google_auth_oauthlib.flow import InstalledAppFlow

    flow = InstalledAppFlow.from_client_config(
        {
            "installed": {
                "client_id": client["client_id"],
                "client_secret": client["client_secret"],
                "auth_uri": url(settings.google_auth_uri),
                "token_uri": token_uri,
                "redirect_uris": ["http://127.0.0.1"],
            }
        },
        scopes=CONSENT_SCOPES,
    )
    # run_local_server prints its prompt: route what it prints through `show`.
    with contextlib.redirect_stdout(_LineWriter(show)):
        credentials = flow.run_local_server(
            host="127.0.0.1",
            port=port,
            open_browser=False,
            authorization_prompt_message="{url}",
            success_message="Google Contacts is connected; you can close this tab.",
            timeout_seconds=int(CONSENT_TIMEOUT),
            access_type="offline",
            prompt="consent",
            **({"login_hint": user} if user else {}),
        )
    if not credentials.refresh_token:
        raise ConsentError("Google answered without a refresh token")
    if not set(SCOPES) <= _scopes(credentials.granted_scopes):
        raise ConsentError("Google's consent left out access to contacts: connect again and keep it ticked")
    if user is not None:
        # login_hint only suggests an account: the person may sign in with another one.
        signed_in = consenting_address(credentials.id_token)
        if signed_in is None or signed_in.casefold() != user.casefold():
            raise ConsentError(
                f"the consent was given for {printable(signed_in or 'an unknown account', 320)}, not {user}: "
                "connect again signed in to Google as that user"
            )
    secrets.write(secret_name, json.dumps({"refresh_token": credentials.refresh_token}))


def _scopes(granted: str | list[str] | None) -> set[str]:
    """The scopes an answer granted (a string or a list, by the library's version); all asked
    for when the answer names none, as OAuth says it then means."""
    if granted is None:
        return set(CONSENT_SCOPES)
    return set(granted.split() if isinstance(granted, str) else granted)


def consenting_address(id_token: str | None) -> str | None:
    """The verified e-mail address of the Google account that consented, from the OpenID
    token of the code exchange (read from the token endpoint itself over TLS, so its claims are
    taken as they are, as OpenID Connect allows); None when it carries none."""
    if not id_token:
        return None
    from google.auth import jwt

    try:
        claims = jwt.decode(id_token, verify=False)
    except ValueError:
        return None
    email = claims.get("email")
    return email if isinstance(email, str) and claims.get("email_verified") is True else None


class _LineWriter(io.TextIOBase):
    """A text stream that hands each complete line to a function."""

    def __init__(self, show: Callable[[str], None]) -> None:
        self._show = show
        self._buffer = ""

    def write(self, text: str) -> int:
        self._buffer += text
        while "\n" in self._buffer:
            line, self._buffer = self._buffer.split("\n", 1)
            if line.strip():
                self._show(line)
        return len(text)
