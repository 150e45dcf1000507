"""`connect`: the OAuth consent flow of one side, its tokens put in the secret store."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from sync.config import load_settings
from sync.errors import SyncError
from sync.secrets.port import client_secret_name
from sync.serve.cli.accounts import check_group_free, check_user, destination_of
from sync.serve.cli.webhooks import register_webhook
from sync.serve.consent import TEAMLEADER_REDIRECT_PORT, connect_google, connect_teamleader
from sync.serve.wiring import open_secrets, open_state
from sync.state.connections import new_consent


@click.command()
@click.argument("side", type=click.Choice(["teamleader", "google"]))
@click.option("--account", "account_id", required=True)
@click.option("--user", default=None, help="google: the team member whose contacts these are (adds them if new)")
@click.option("--client-id", default=None, help="store this OAuth app's client id first; its secret is asked for")
@click.option(
    "--client-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="or store the app's client id and secret from this JSON file (Google's download works as it is)",
)
@click.option(
    "--port",
    type=int,
    default=None,
    help=f"local port of the redirect (Teamleader: {TEAMLEADER_REDIRECT_PORT}, as registered; Google: any free one)",
)
def connect(
    side: str, account_id: str, user: str | None, client_id: str | None, client_file: Path | None, port: int | None
) -> None:
    """Run the OAuth consent flow of one side and store the tokens in the secret store.

    A client secret is never taken from the command line, where shell history keeps it: it
    comes from --client-file, or is asked for (read from standard input when that is no
    terminal)."""
    settings = load_settings()
    state = open_state(settings)
    secrets = open_secrets(settings)
    record = state.account(account_id)
    if record is None:
        raise click.ClickException(f"unknown account {account_id}: run `accounts add {account_id}` first")
    if user is not None and side != "google":
        raise click.BadParameter("a user is a Google side's: one Teamleader connection serves them all")
    check_user(user)
    if client_id and client_file:
        raise click.BadParameter("give --client-id or --client-file, not both")
    if client_file:
        client_id, client_secret = _client_from_file(client_file)
    elif client_id:
        client_secret = _ask_secret()
    if client_id:
        secrets.write(
            client_secret_name(settings.secret_prefix, "teamleader" if side == "teamleader" else "google"),
            _client_json(client_id, client_secret),
        )

    def show(link: str) -> None:
        click.echo(f"Open this address and approve access:\n{link}", err=True)

    try:
        if side == "teamleader":
            connect_teamleader(
                settings, secrets, record.teamleader_secret, show, TEAMLEADER_REDIRECT_PORT if port is None else port
            )
        else:
            destination = destination_of(record, user, settings.secret_prefix)
            check_group_free(state, record, destination)
            connect_google(settings, secrets, destination.google_secret, show, port or 0, user)
            # Whoever consented (another Google account, for the default destination): warm
            # instances read the new tokens instead of the credentials they kept.
            destination.google_consent = new_consent()
            # The consent given again is what a destination to reconnect waited for.
            if destination.status == "needs_reauth":
                destination.status, destination.reason = "ok", None
    except SyncError as exc:
        raise click.ClickException(str(exc)) from exc
    if record.status == "needs_reauth":
        # Records from before destinations kept a refused Google grant here too; if it was
        # Teamleader's after all, the next run says so again.
        record.status, record.reason = "ok", None
    state.put_account(record)
    click.echo(f"{account_id}: {side} connected" + ("" if user is None else " for that user"))
    if side == "teamleader" and settings.webhook_url is not None:
        # With a receiver deployed, changes reach Google in seconds from the first connect.
        register_webhook(settings, state, record)


def _client_from_file(path: Path) -> tuple[str, str]:
    """An OAuth client's id and secret from a JSON file: flat, or under `installed` or `web` as
    Google's console downloads it."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise click.BadParameter(f"{path} is not readable JSON", param_hint="--client-file") from exc
    if isinstance(data, dict):
        data = data.get("installed") or data.get("web") or data
    if not (isinstance(data, dict) and data.get("client_id") and data.get("client_secret")):
        raise click.BadParameter(f"{path} holds no client_id and client_secret", param_hint="--client-file")
    return str(data["client_id"]), str(data["client_secret"])


def _ask_secret() -> str:
    """The client secret, asked for without echo, or read from standard input when that is a
    file or a pipe (`< secret.txt`)."""
    if sys.stdin.isatty():
        secret = str(click.prompt("Client secret", hide_input=True, err=True))
    else:
        secret = sys.stdin.readline()
    if not secret.strip():
        raise click.BadParameter("no client secret given", param_hint="--client-id")
    return secret.strip()


def _client_json(client_id: str, client_secret: str) -> str:
    return json.dumps({"client_id": client_id, "client_secret": client_secret})
