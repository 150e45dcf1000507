"""`page-client`: store the people's page's Google client (type "Web application") in the
secret store, where `page_http` reads it."""

from __future__ import annotations

from pathlib import Path

import click

from sync.config import load_settings
from sync.secrets.port import client_secret_name
from sync.serve.cli.connect import _client_from_file, _client_json
from sync.serve.wiring import open_secrets


@click.command("page-client")
@click.option(
    "--client-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="the Web application client's JSON as Google's console downloads it",
)
def page_client(client_file: Path) -> None:
    """Store the page's Google client id and secret (from a file: never the command line,
    where shell history keeps it). Its redirect address must be {SYNC_PAGE_URL}/auth/google."""
    settings = load_settings()
    client_id, client_secret = _client_from_file(client_file)
    name = settings.google_web_client_secret or client_secret_name(settings.secret_prefix, "google-web")
    open_secrets(settings).write(name, _client_json(client_id, client_secret))
    click.echo(f"the page's Google client is stored in secret {name}")
