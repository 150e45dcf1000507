"""`recipients`: who receives a Workspace connection's contacts, reached by domain-wide
delegation: every member of a Google Group (read again at every run), or listed addresses."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from sync.config import load_settings
from sync.recipients import set_group, set_listed
from sync.serve.cli.accounts import check_account_id, new_account
from sync.serve.wiring import open_state
from sync.state.connections import AccountRecord
from sync.state.port import StateStore


@click.group()
def recipients() -> None:
    """Set who receives a Workspace connection's contacts (domain-wide delegation)."""


@recipients.command("group")
@click.argument("account_id")
@click.argument("group")
@click.option("--admin", required=True, help="a Workspace admin, impersonated to read the group's members")
@click.option("--domain", default=None, help="the Workspace's domain (default: the group's)")
def recipients_group(account_id: str, group: str, admin: str, domain: str | None) -> None:
    """Every member of GROUP receives the contacts: a member added at the next run, one who
    leaves has the copy removed after the grace period."""
    state, record = _connection(account_id)
    try:
        set_group(record, group, admin, domain)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    state.put_account(record)
    click.echo(f"{account_id}: every member of {record.team_group} receives the contacts from the next run")


@recipients.command("list")
@click.argument("account_id")
@click.argument("users", nargs=-1, required=True)
@click.option("--domain", required=True, help="the Workspace's domain: only its users can be reached")
def recipients_list(account_id: str, users: tuple[str, ...], domain: str) -> None:
    """The listed Workspace users receive the contacts; one no longer listed leaves."""
    state, record = _connection(account_id)
    now = datetime.now(tz=UTC).isoformat(timespec="seconds")
    try:
        set_listed(record, list(users), domain, now, load_settings().secret_prefix)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    state.put_account(record)
    click.echo(f"{account_id}: {len(set(u.casefold() for u in users))} listed users of {domain} receive the contacts")


@recipients.command("show")
@click.argument("account_id")
def recipients_show(account_id: str) -> None:
    """Who receives the contacts, and what the last read of the group could not follow."""
    _, record = _connection(account_id, create=False)
    if record.team_group:
        click.echo(f"every member of {record.team_group} (read as {record.directory_admin})")
    elif record.workspace_domain:
        click.echo(f"listed users of {record.workspace_domain}")
    else:
        click.echo("users who connected their own Google account")
    for destination in record.targets:
        leaving = f"\tleaving since {destination.leaving_since}: {destination.leaving_reason}"
        click.echo(f"{destination.user or destination.name}{leaving if destination.leaving_since else ''}")
    for note in record.recipients_notes:
        click.echo(f"note: {note}")


def _connection(account_id: str, create: bool = True) -> tuple[StateStore, AccountRecord]:
    check_account_id(account_id)
    settings = load_settings()
    state = open_state(settings)
    record = state.account(account_id)
    if record is None:
        if not create:
            raise click.ClickException(f"unknown account {account_id}")
        record = new_account(account_id, settings.secret_prefix, with_default=False)
    return state, record
