"""The people's page wired to the sandbox: the cast seeded, both OAuth clients in a local
secret store, SQLite state, and the page's app for a given address. Used by `python -m
sandbox page` (a person clicks through it locally) and by the page's tests."""

from __future__ import annotations

import json
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from flask import Flask
from werkzeug.serving import WSGIRequestHandler, make_server

from sandbox.cast import CAST, seed_cast
from sandbox.datagen import generate
from sandbox.stack import GOOGLE_CLIENT, TEAMLEADER_CLIENT, SandboxStack
from sync.config import Settings, settings_from
from sync.secrets.localfile import LocalFileSecrets
from sync.serve.page import PageContext, create_app
from sync.serve.page.runs import in_process
from sync.serve.runner import Runner
from sync.state.sqlite import SqliteState

# The OAuth clients the page uses, by the names of their secrets.
PAGE_CLIENTS = {"teamleader-oauth-client": TEAMLEADER_CLIENT, "google-web-oauth-client": GOOGLE_CLIENT}


def page_parts(
    stack: SandboxStack, directory: Path, page_url: str, *, contacts: int = 40, accounts: str = "acme"
) -> tuple[Settings, SqliteState, LocalFileSecrets]:
    """The cast seeded (acme with `contacts` contacts), the page's settings for `page_url`
    with `accounts` allowed to connect, its state and its secret store with both clients."""
    seed_cast(stack, {"acme": generate(contacts, None, seed=7)})
    variables = {**stack.sync_settings(directory), "SYNC_PAGE_URL": page_url, "SYNC_PAGE_ACCOUNTS": accounts}
    settings = settings_from(variables)
    secrets = LocalFileSecrets(settings.secrets_file)
    for name, (client_id, client_secret) in PAGE_CLIENTS.items():
        secrets.write(name, json.dumps({"client_id": client_id, "client_secret": client_secret}))
    return settings, SqliteState(settings.sqlite_path), secrets


def page_app(
    settings: Settings,
    state: SqliteState,
    secrets: LocalFileSecrets,
    start_run: Callable[[str, str, bool], None],
    clock: Callable[[], float] = time.time,
) -> Flask:
    return create_app(PageContext(settings, state, secrets, start_run, clock=clock))


class _Quiet(WSGIRequestHandler):
    """No request lines: the redirects' addresses carry authorization codes."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


def serve_people_page(contacts: int, ports: dict[str, int], port: int) -> None:
    """`python -m sandbox page`: the sandbox with its consent pages, and the people's page on
    http://localhost:PORT, acme allowed to connect; serves until interrupted."""
    stack = SandboxStack.start(
        ports=ports, teamleader_options={"interactive_consent": True}, people_options={"interactive_consent": True}
    )
    with tempfile.TemporaryDirectory(prefix="people-page-") as folder:
        page_url = f"http://localhost:{port}"
        settings, state, secrets = page_parts(stack, Path(folder), page_url, contacts=contacts)
        app = page_app(settings, state, secrets, in_process(Runner(settings, state, secrets)))
        server = make_server("127.0.0.1", port, app, threaded=True, request_handler=_Quiet)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        print(f"The people's page: {page_url}  (sign in first as Ada Peeters: she connects acme and is its admin)")
        print("Teamleader users: " + ", ".join(f"{m.name} ({m.account})" for m in CAST))
        print("Google accounts: " + ", ".join(m.google for m in CAST if m.google))
        print("Ctrl-C stops.", flush=True)
        try:
            stack.serve_until_stopped()
        finally:
            server.shutdown()
