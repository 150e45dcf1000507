"""The consent flows' local listeners as an attacker or a clumsy browser meets them: a stray
request, a forged redirect, a silent connection, a code that does not work, and a person who
consents with another Google account than the one asked for."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from sandbox.datagen import generate
from sandbox.stack import SandboxStack
from sync.secrets.localfile import LocalFileSecrets
from sync.serve.consent import ConsentError, connect_google, connect_teamleader
from tests.harness import oauth_client_secrets, sandbox_settings

ESCAPE = "\x1b[2J\x1b[31mYOUR ACCOUNT IS LOCKED"


@pytest.fixture
def secrets(stack: SandboxStack, tmp_path: Path) -> LocalFileSecrets:
    stack.seed_account("acme", generate(3, 0))
    return oauth_client_secrets(tmp_path / "secrets.json")


def _redirect_of(link: str) -> str:
    """Where the consent page sends the browser back to (the listener, with code and state)."""
    location = httpx.get(link, follow_redirects=False, timeout=10).headers["location"]
    assert isinstance(location, str)
    return location


BROWSERS: list[threading.Thread] = []


def _in_background(browse: Callable[[str], None]) -> Callable[[str], None]:
    def start(link: str) -> None:
        BROWSERS.append(threading.Thread(target=browse, args=(link,), daemon=True))
        BROWSERS[-1].start()

    return start


def _browsers_done() -> None:
    while BROWSERS:
        BROWSERS.pop().join(10)


def test_stray_and_forged_requests_change_nothing_and_the_real_redirect_connects(
    stack: SandboxStack, secrets: LocalFileSecrets
) -> None:
    answers: list[tuple[int, str]] = []

    def browser(link: str) -> None:
        back = _redirect_of(link)
        listener = f"{urlsplit(back).scheme}://{urlsplit(back).netloc}/"
        # A connection that says nothing, a favicon, and a forged error without the state.
        silent = socket.create_connection((urlsplit(back).hostname, urlsplit(back).port))
        for stray in (listener + "favicon.ico", listener + "?" + urlencode({"error": ESCAPE, "state": "forged"})):
            reply = httpx.get(stray, timeout=10)
            answers.append((reply.status_code, reply.text))
        reply = httpx.get(back, timeout=10)
        answers.append((reply.status_code, reply.text))
        silent.close()

    settings = sandbox_settings(stack, secrets.path.parent)
    connect_teamleader(settings, secrets, "acme-tl", _in_background(browser), port=0, timeout=20)
    assert json.loads(secrets.read("acme-tl"))["refresh_token"].startswith("tl-rt-")
    _browsers_done()
    assert [status for status, _ in answers] == [404, 404, 200]
    assert "connected" in answers[-1][1] and "connected" not in answers[0][1]


def test_the_browser_hears_connected_only_once_the_tokens_are_stored(
    stack: SandboxStack, secrets: LocalFileSecrets
) -> None:
    answers: list[tuple[int, str]] = []

    def browser(link: str) -> None:
        back = _redirect_of(link)
        query = parse_qs(urlsplit(back).query)
        tampered = back.split("?")[0] + "?" + urlencode({"code": "not-a-code", "state": query["state"][0]})
        reply = httpx.get(tampered, timeout=10)
        answers.append((reply.status_code, reply.text))

    with pytest.raises(ConsentError, match="refused the authorization code"):
        connect_teamleader(
            sandbox_settings(stack, secrets.path.parent), secrets, "acme-tl", _in_background(browser), port=0
        )
    _browsers_done()
    assert answers[0][0] == 400 and "Not connected" in answers[0][1]
    with pytest.raises(KeyError):
        secrets.read("acme-tl")


def test_a_refusal_is_shown_without_the_terminal_escapes_it_carries(
    stack: SandboxStack, secrets: LocalFileSecrets
) -> None:
    def browser(link: str) -> None:
        back = _redirect_of(link)
        state = parse_qs(urlsplit(back).query)["state"][0]
        httpx.get(back.split("?")[0] + "?" + urlencode({"error": ESCAPE, "state": state}), timeout=10)

    with pytest.raises(ConsentError) as refused:
        connect_teamleader(
            sandbox_settings(stack, secrets.path.parent), secrets, "acme-tl", _in_background(browser), port=0
        )
    assert "YOUR ACCOUNT IS LOCKED" in str(refused.value) and "\x1b" not in str(refused.value)


def test_a_silent_connection_neither_ends_the_flow_nor_keeps_the_command_alive(
    stack: SandboxStack, secrets: LocalFileSecrets
) -> None:
    opened: list[socket.socket] = []

    def browser(link: str) -> None:
        back = urlsplit(_redirect_of(link))
        opened.append(socket.create_connection((back.hostname, back.port)))

    with pytest.raises(ConsentError, match="no answer from Teamleader"):
        connect_teamleader(
            sandbox_settings(stack, secrets.path.parent), secrets, "x", _in_background(browser), port=0, timeout=1
        )
    _browsers_done()
    assert [t for t in threading.enumerate() if not t.daemon] == [threading.main_thread()]
    for connection in opened:
        connection.close()


def _consent_as(user: str, drop_contacts: bool = False) -> Callable[[str], None]:
    """A browser in which the person signs in to Google as `user`, whatever was hinted, and
    perhaps unticks access to contacts."""

    def browse(link: str) -> None:
        parts = urlsplit(link)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        query["sandbox_user"] = user
        if drop_contacts:
            query["scope"] = " ".join(s for s in query["scope"].split() if not s.endswith("/contacts"))
        httpx.get(parts._replace(query=urlencode(query)).geturl(), follow_redirects=True, timeout=10)

    return _in_background(browse)


def test_google_tokens_are_stored_only_for_the_user_who_consented(
    stack: SandboxStack, secrets: LocalFileSecrets
) -> None:
    stack.people.add_user("alice@sandbox.example")
    stack.people.add_user("bob@sandbox.example")
    settings = sandbox_settings(stack, secrets.path.parent)
    with pytest.raises(ConsentError, match=r"given for bob@sandbox\.example, not alice@sandbox\.example"):
        connect_google(settings, secrets, "alice-g", _consent_as("bob@sandbox.example"), user="alice@sandbox.example")
    with pytest.raises(KeyError):
        secrets.read("alice-g")
    with pytest.raises(ConsentError, match="left out access to contacts"):
        connect_google(
            settings, secrets, "alice-g", _consent_as("alice@sandbox.example", True), user="alice@sandbox.example"
        )
    with pytest.raises(KeyError):
        secrets.read("alice-g")
    connect_google(settings, secrets, "alice-g", _consent_as("ALICE@sandbox.example"), user="alice@sandbox.example")
    assert json.loads(secrets.read("alice-g"))["refresh_token"].startswith("g-rt-")
