"""The people's page wired to the sandbox, for the page's tests: its settings, stores, OAuth
clients, and a person's run that happens at once in the test's own thread (or is noted)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
from flask import Flask

from sandbox.people_page import page_app, page_parts
from sandbox.stack import SandboxStack
from sync.config import Settings
from sync.secrets.localfile import LocalFileSecrets
from sync.serve.runner import Runner
from sync.state.sqlite import SqliteState

PAGE_URL = "https://page.test"


@dataclass
class Site:
    """The page and what it stands on."""

    settings: Settings
    state: SqliteState
    secrets: LocalFileSecrets
    app: Flask
    stack: SandboxStack
    started: list[tuple[str, str]] = field(default_factory=list)
    confirmed: list[str] = field(default_factory=list)
    run_now: bool = True

    def start_run(self, account: str, user: str, allow_deletions: bool) -> None:
        self.started.append((account, user))
        if allow_deletions:
            self.confirmed.append(user)
        if self.run_now:
            Runner(self.settings, self.state, self.secrets).run(
                account=account, user=user, allow_deletions=allow_deletions
            )

    def team_id(self, account: str, name: str) -> str:
        return next(t.id for t in self.stack.teamleader.accounts[account].teams.values() if t.name == name)


def make_site(
    stack: SandboxStack,
    directory: Path,
    page_url: str = PAGE_URL,
    contacts: int = 40,
    accounts: str = "acme",
    clock: Callable[[], float] = time.time,
) -> Site:
    """The page for `page_url` on the sandbox's cast, its runs in the test's own thread."""
    settings, state, secrets = page_parts(stack, directory, page_url, contacts=contacts, accounts=accounts)
    site = Site(settings, state, secrets, Flask(__name__), stack)
    site.app = page_app(settings, state, secrets, site.start_run, clock)
    return site


def through(link: str, **extra: str) -> str:
    """Follow a consent link without a person (the sandbox's shortcuts: `sandbox_user` and the
    like), with `extra` query values set or replaced; the redirect address it answers."""
    parts = urlsplit(link)
    query = dict(parse_qsl(parts.query))
    query.update(extra)
    answer = httpx.get(urlunsplit(parts._replace(query=urlencode(query))), follow_redirects=False, timeout=10)
    assert answer.status_code in (302, 303), answer.text
    return str(answer.headers["Location"])


def local(address: str) -> str:
    """The path and query of an address of the page (the test client's request)."""
    parts = urlsplit(address)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def browser(site: Site) -> Any:
    return site.app.test_client()


def sign_in(site: Site, user_id: str) -> Any:
    """A new browser that signs in to Teamleader as `user_id`; it ends on the card."""
    client = browser(site)
    start = client.get("/auth/teamleader/start", base_url=PAGE_URL)
    assert start.status_code == 303
    back = through(start.headers["Location"], sandbox_user=user_id)
    assert back.startswith(f"{PAGE_URL}/auth/teamleader?")
    client.last = client.get(local(back), base_url=PAGE_URL)
    return client


def connect_google(client: Any, address: str, **extra: str) -> Any:
    start = client.get("/auth/google/start", base_url=PAGE_URL)
    assert start.status_code == 303, start.text
    back = through(start.headers["Location"], sandbox_user=address, **extra)
    return client.get(local(back), base_url=PAGE_URL)


def csrf(client: Any, path: str = "/card") -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', client.get(path, base_url=PAGE_URL).text)
    assert found
    return found.group(1)


def post(client: Any, path: str, data: dict[str, str]) -> Any:
    return client.post(path, data={"csrf": csrf(client), **data}, base_url=PAGE_URL)


def group_size(site: Site, address: str) -> int:
    user = site.stack.people.users[address]
    return sum(1 for person in user.people.values() if person.deleted_at is None)
