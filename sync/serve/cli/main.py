"""`python -m sync`: run the sync from a terminal, see how accounts stand, connect them."""

from __future__ import annotations

import json
import logging
import re
import sys
from contextlib import nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import get_args

import click
from rich.console import Console
from rich.table import Table

from sync import logs
from sync.config import Settings, load_settings, url
from sync.engine import RunReport
from sync.errors import SyncError
from sync.ports import Mode
from sync.progress import ProgressSink
from sync.secrets.port import RESERVED_ACCOUNT_PREFIXES, client_secret_name
from sync.serve.consent import TEAMLEADER_REDIRECT_PORT, connect_google, connect_teamleader
from sync.serve.progress_line import ProgressLine
from sync.serve.report_table import print_report
from sync.serve.runner import Invocation, Runner
from sync.serve.status import account_statuses
from sync.serve.wiring import http_client, open_secrets, open_state, teamleader_client
from sync.state.connections import MAX_DESTINATIONS, AccountRecord, DestinationRecord, new_destination
from sync.state.port import StateStore
from sync.teamleader.webhook_setup import EVENT_TYPES, new_token, token_digest

console = Console(stderr=False)
log = logging.getLogger("sync.cli")


@click.group()
def main() -> None:
    """Keep a Google Contacts group in step with Teamleader Focus."""
    logs.configure(logging.WARNING if sys.stdout.isatty() else logging.INFO)


def _runner(settings: Settings, show: ProgressSink | None = None) -> Runner:
    return Runner(settings, open_state(settings), open_secrets(settings), progress=show)


def _print_invocation(invocation: Invocation) -> None:
    for outcome in invocation.accounts:
        if outcome.report:
            for destination in outcome.report["destinations"]:
                print_report(console, RunReport.from_json(destination))
            for busy in (d for d in outcome.destinations if d.status == "busy"):
                click.echo(f"{outcome.account} → {busy.destination}: busy (another run writes to its Google user)")
        else:
            detail = f": {outcome.error}" if outcome.error else ""
            click.echo(f"{outcome.account}: {outcome.status}{detail}")


@main.command()
@click.option("--account", default=None, help="one account (default: every due account)")
@click.option("--user", default=None, help="of that account, only this Google user's destination")
@click.option("--mode", type=click.Choice(get_args(Mode)), default="incremental", show_default=True)
@click.option("--dry-run", is_flag=True, help="plan without writing")
@click.option(
    "--allow-deletions",
    is_flag=True,
    help="let this run delete more than the guard allows (one account held before a mass deletion)",
)
def run(account: str | None, user: str | None, mode: Mode, dry_run: bool, allow_deletions: bool) -> None:
    """Sync now: every due account, or one (or one of its Google users)."""
    if allow_deletions and account is None:
        raise click.BadParameter("name the account whose deletions to allow", param_hint="--account")
    if user is not None and account is None:
        raise click.BadParameter("name the account the user belongs to", param_hint="--account")
    settings = load_settings()
    try:
        # On a terminal, a live display; elsewhere the progress goes to the log.
        line = ProgressLine(account or "sync", console) if console.is_terminal else None
        with line or nullcontext():
            invocation = _runner(settings, line).run(
                account=account, user=user, mode=mode, dry_run=dry_run, allow_deletions=allow_deletions
            )
    except SyncError as exc:
        raise click.ClickException(f"{type(exc).__name__}: {exc}") from exc
    _print_invocation(invocation)
    if invocation.status == "failed":
        sys.exit(1)


@main.command()
def status() -> None:
    """Per account and Google user: last run, counts, cursor and problems (JSON, as `GET /`
    answers it, when the output is no terminal)."""
    settings = load_settings()
    state = open_state(settings)
    statuses = account_statuses(state)
    if not console.is_terminal:
        click.echo(json.dumps({"accounts": statuses}, indent=2, ensure_ascii=False))
        return
    table = Table(title="accounts")
    for column in (
        "account",
        "user",
        "enabled",
        "status",
        "last run",
        "result",
        "created/updated/deleted",
        "cursor",
        "problem",
    ):
        table.add_column(column)
    for account in statuses:
        problem = account["reason"] or ""
        table.add_row(
            account["account"],
            "",
            "yes" if account["enabled"] else "no",
            account["status"],
            account["last_run"] or "never",
            account["last_status"] or "-",
            "",
            "",
            problem,
        )
        for destination in account["destinations"]:
            report = destination["last_report"] or {}
            counts = "/".join(str(report.get(k, "-")) for k in ("created", "updated", "deleted"))
            table.add_row(
                "",
                destination["user"] or destination["destination"],
                "yes" if destination["enabled"] else "no",
                destination["status"],
                "",
                destination["last_status"] or "-",
                counts,
                str(report.get("cursor") or "-"),
                destination["reason"] or "",
            )
    console.print(table)


@main.group()
def accounts() -> None:
    """Register, list and disable accounts."""


@accounts.command("add")
@click.argument("account_id")
@click.option("--user", default=None, help="a Google user of the account's team (default: the one destination)")
@click.option("--group", default="Teamleader", show_default=True, help="the Google contact group")
@click.option("--tags", default="", help="only contacts carrying all these comma-separated tags")
@click.option(
    "--default-region",
    default=None,
    help="country (ISO code, e.g. BE) of phone numbers without one when no address says it",
)
def accounts_add(account_id: str, user: str | None, group: str, tags: str, default_region: str | None) -> None:
    """Register an account, or one of its Google users with their own group and scope (then
    connect both sides with `connect`)."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,62}", account_id):
        raise click.BadParameter("lowercase letters, digits and dashes, at most 63", param_hint="ACCOUNT_ID")
    if account_id.startswith(RESERVED_ACCOUNT_PREFIXES):
        raise click.BadParameter("names the OAuth clients' secrets: choose another", param_hint="ACCOUNT_ID")
    if default_region is not None and not re.fullmatch(r"[A-Za-z]{2}", default_region):
        raise click.BadParameter("a two-letter country code", param_hint="--default-region")
    _check_user(user)
    settings = load_settings()
    state = open_state(settings)
    record = state.account(account_id)
    if record is None:
        # A team's connection starts with the users named; a one-person one with its default.
        record = AccountRecord(
            account_id,
            teamleader_secret=f"{settings.secret_prefix}{account_id}-teamleader-tokens",
            destinations=None if user is None else [],
            added_at=datetime.now(tz=UTC).isoformat(timespec="seconds"),
        )
        if user is None:
            record.targets[0] = new_destination(account_id, None, settings.secret_prefix)
    destination = _destination(record, user, settings.secret_prefix)
    destination.group_name = group
    destination.tags = [t.strip() for t in tags.split(",") if t.strip()]
    destination.default_region = default_region.upper() if default_region else None
    destination.enabled = record.enabled = True
    _check_group_free(state, record, destination)
    if destination.status == "held":
        # A new scope is a person's decision: the next run decides every contact under it.
        destination.status, destination.reason = "ok", None
    state.put_account(record)
    click.echo(f"{account_id}: registered; secrets {record.teamleader_secret}, {destination.google_secret}")


def _check_user(user: str | None) -> None:
    if user is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", user):
        raise click.BadParameter("the Google account's e-mail address", param_hint="--user")


def _check_group_free(state: StateStore, record: AccountRecord, destination: DestinationRecord) -> None:
    """Two connections writing to one Google user keep to two groups: each adopts and
    mirrors what is in its own group only."""
    for other in state.accounts():
        if other.account_id == record.account_id:
            continue
        for taken in other.targets:
            same_group = taken.group_name.casefold() == destination.group_name.casefold()
            if taken.lease_key == destination.lease_key and same_group:
                raise click.ClickException(
                    f"account {other.account_id} already writes this user's group {taken.group_name!r}: "
                    "give this one another with --group"
                )


def _destination(record: AccountRecord, user: str | None, secret_prefix: str) -> DestinationRecord:
    """The destination of `user` in the record, added if new."""
    found = record.destination(user)
    if found is None:
        if len(record.targets) >= MAX_DESTINATIONS:
            raise click.ClickException(f"{record.account_id} serves {MAX_DESTINATIONS} Google users already")
        found = new_destination(record.account_id, user, secret_prefix)
        record.targets.append(found)
    return found


@accounts.command("list")
def accounts_list() -> None:
    """The registered accounts, a line per Google user."""
    for record in open_state(load_settings()).accounts():
        for destination in record.targets:
            tags = ",".join(destination.tags) or "-"
            enabled = "enabled" if record.enabled and destination.enabled else "disabled"
            who = destination.user or destination.name
            status = destination.status if record.status == "ok" else record.status
            click.echo(f"{record.account_id}\t{who}\t{enabled}\t{status}\t{destination.group_name}\t{tags}")


@accounts.command("disable")
@click.argument("account_id")
@click.option("--user", default=None, help="only this Google user's destination")
def accounts_disable(account_id: str, user: str | None) -> None:
    """Stop syncing an account, or one of its users (their Google contacts stay as they are).
    A disabled account's webhooks are unregistered in Teamleader and its address retired."""
    settings = load_settings()
    state = open_state(settings)
    record = state.account(account_id)
    if record is None:
        raise click.ClickException(f"unknown account {account_id}")
    if user is None:
        record.enabled = False
        if record.webhook_token_sha256 is not None and settings.webhook_url is not None:
            _unregister_webhooks(settings, record)
    else:
        destination = record.destination(user)
        if destination is None:
            raise click.ClickException(f"{account_id} has no destination for that user")
        destination.enabled = False
    state.put_account(record)
    click.echo(f"{account_id}: disabled" + ("" if user is None else " for that user"))


@main.group()
def webhooks() -> None:
    """The address Teamleader's webhooks reach an account at."""


def _webhook_base(settings: Settings, account_id: str) -> str:
    if settings.webhook_url is None:
        raise click.ClickException("set SYNC_WEBHOOK_URL to the receiver's address first")
    return f"{url(settings.webhook_url)}/{account_id}/"


def _new_address(state: StateStore, record: AccountRecord, base: str) -> str:
    """A new secret address for the account (the old one stops working at once)."""
    token, digest = new_token()
    record.webhook_token_sha256 = digest
    state.put_account(record)
    return base + token


def _known_account(state: StateStore, account_id: str) -> AccountRecord:
    record = state.account(account_id)
    if record is None:
        raise click.ClickException(f"unknown account {account_id}")
    return record


@webhooks.command("address")
@click.option("--account", "account_id", required=True)
def webhooks_address(account_id: str) -> None:
    """Make the account a new webhook address (the old one stops working) and print it: the
    receiver's address, the account, and a secret of 256 random bits, of which only a digest
    is stored. To register by hand; `webhooks register` does it through the API."""
    settings = load_settings()
    state = open_state(settings)
    base = _webhook_base(settings, account_id)
    click.echo(_new_address(state, _known_account(state, account_id), base))


@webhooks.command("register")
@click.option("--account", "account_id", required=True)
def webhooks_register(account_id: str) -> None:
    """Register (or repair) the account's webhook in Teamleader: a new secret address for the
    events that matter, the account's earlier addresses unregistered."""
    settings = load_settings()
    state = open_state(settings)
    _webhook_base(settings, account_id)
    _register_webhook(settings, state, _known_account(state, account_id))


def _register_webhook(settings: Settings, state: StateStore, record: AccountRecord) -> None:
    """A new secret address registered for the events that matter; older ones unregistered."""
    base = _webhook_base(settings, record.account_id)
    with http_client(settings) as http:
        client = teamleader_client(settings, open_secrets(settings), record.teamleader_secret, http)
        address = _new_address(state, record, base)
        client.register_webhook(address, sorted(EVENT_TYPES))
        for hook in client.webhooks():
            if hook["url"].startswith(base) and hook["url"] != address:
                client.unregister_webhook(hook["url"], hook["types"])
    click.echo(f"{record.account_id}: webhook registered for {len(EVENT_TYPES)} event types")


@webhooks.command("list")
@click.option("--account", "account_id", required=True)
def webhooks_list(account_id: str) -> None:
    """The account's webhooks as Teamleader has them, secrets masked, and whether each still
    works (only the newest address does)."""
    settings = load_settings()
    state = open_state(settings)
    record = _known_account(state, account_id)
    with http_client(settings) as http:
        hooks = teamleader_client(settings, open_secrets(settings), record.teamleader_secret, http).webhooks()
    for hook in hooks:
        address, _, secret = str(hook["url"]).rpartition("/")
        works = record.webhook_token_sha256 is not None and token_digest(secret) == record.webhook_token_sha256
        missing = sorted(EVENT_TYPES - set(hook["types"]))
        state_of = "works" if works and not missing else "to repair (`webhooks register`)"
        click.echo(f"{address}/…\t{len(hook['types'])} types\t{state_of}")
    if not hooks:
        click.echo(f"{account_id}: no webhook registered")


@webhooks.command("unregister")
@click.option("--account", "account_id", required=True)
def webhooks_unregister(account_id: str) -> None:
    """Unregister the account's webhooks in Teamleader and retire its address."""
    settings = load_settings()
    state = open_state(settings)
    _webhook_base(settings, account_id)
    record = _known_account(state, account_id)
    _unregister_webhooks(settings, record)
    state.put_account(record)


def _unregister_webhooks(settings: Settings, record: AccountRecord) -> None:
    """Unregister every webhook of the account's addresses and retire its secret (the record
    is stored by the caller)."""
    base = _webhook_base(settings, record.account_id)
    with http_client(settings) as http:
        client = teamleader_client(settings, open_secrets(settings), record.teamleader_secret, http)
        for hook in client.webhooks():
            if hook["url"].startswith(base):
                client.unregister_webhook(hook["url"], hook["types"])
    record.webhook_token_sha256 = None
    click.echo(f"{record.account_id}: webhooks unregistered")


@main.command()
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
    _check_user(user)
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
            destination = _destination(record, user, settings.secret_prefix)
            _check_group_free(state, record, destination)
            connect_google(settings, secrets, destination.google_secret, show, port or 0, user)
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
        _register_webhook(settings, state, record)


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
