"""The people's page: each person signs in with Teamleader, connects their own Google account,
chooses what reaches it, switches it off, and sees why a contact is missing; an account's admin
sets who may. A Flask app (server-rendered forms, no script), served by `main.page_http`."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from flask import Flask, current_app, render_template
from werkzeug.exceptions import HTTPException

from sync.config import Settings
from sync.secrets.port import SecretStore
from sync.serve.page import security
from sync.state.port import StateStore

log = logging.getLogger("sync.page")
HERE = Path(__file__).parent


@dataclass
class PageContext:
    """What the views need: settings, the stores, an HTTP client, the clock, and how to start
    a run for one person now (account id, Google address, whether the deletions a run held
    before are confirmed)."""

    settings: Settings
    state: StateStore
    secrets: SecretStore
    start_run: Callable[[str, str, bool], None]
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30))
    clock: Callable[[], float] = time.time
    # How long a person waits between two "Sync now" (seconds).
    sync_now_every: float = 60.0


def context() -> PageContext:
    """The running app's context."""
    found: PageContext = current_app.extensions["page"]
    return found


def create_app(page: PageContext) -> Flask:
    """The page's app: security first, then the three areas."""
    from sync.serve.page import admin, auth, card, team

    # Not under /static: functions-framework's own app answers that path before the function.
    app = Flask(
        "sync.serve.page",
        template_folder=str(HERE / "templates"),
        static_folder=str(HERE / "static"),
        static_url_path="/assets",
    )
    app.extensions["page"] = page
    # Bodies are small forms; a larger one is refused before it is read.
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    security.install(app, page.state, page.clock)
    app.context_processor(security.template_globals)
    app.register_blueprint(auth.blueprint)
    app.register_blueprint(card.blueprint)
    app.register_blueprint(admin.blueprint)
    app.register_blueprint(team.blueprint)

    @app.errorhandler(HTTPException)
    def refused(error: HTTPException) -> tuple[str, int]:
        return render_template("message.html", title=error.name, text=error.description), error.code or 400

    @app.errorhandler(Exception)
    def failed(error: Exception) -> tuple[str, int]:
        # Never a stack trace in the answer (nor the path, which may hold a code, in the log).
        error_id = uuid.uuid4().hex[:12]
        log.error("page request failed", exc_info=error, extra={"error_id": error_id})
        text = f"Something went wrong on our side. If it keeps happening, mention error {error_id}."
        return render_template("message.html", title="Something went wrong", text=text), 500

    return app


def message(title: str, text: str, status: int = 200, **links: Any) -> tuple[str, int]:
    """A page with one sentence (and optional links)."""
    return render_template("message.html", title=title, text=text, links=links), status
