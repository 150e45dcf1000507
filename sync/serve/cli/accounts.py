"""`accounts`: register a connection or one of its Google users, list them, disable them."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import click

from sync.config import load_settings
from sync.secrets.port import RESERVED_ACCOUNT_PREFIXES
from sync.serve.cli.webhooks import unregister_webhooks
from sync.serve.wiring import open_state
from sync.state.connections import MAX_DESTINATIONS, AccountRecord, DestinationRecord, new_destination
from sync.state.port import StateStore


@click.group()
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
    check_account_id(account_id)
    if default_region is not None and not re.fullmatch(r"[A-Za-z]{2}", default_region):
        raise click.BadParameter("a two-letter country code", param_hint="--default-region")
    check_user(user)
    settings = load_settings()
    state = open_state(settings)
    record = state.account(account_id)
    if record is None:
        record = new_account(account_id, settings.secret_prefix, with_default=user is None)
        if user is None:
            record.targets[0] = new_destination(account_id, None, settings.secret_prefix)
    destination = destination_of(record, user, settings.secret_prefix)
    destination.group_name = group
    destination.tags = [t.strip() for t in tags.split(",") if t.strip()]
    destination.default_region = default_region.upper() if default_region else None
    destination.rejoin()  # before the grace period ends, a copy waiting for removal stays
    record.enabled = True
    check_group_free(state, record, destination)
    if destination.status == "held":
        # A new scope is a person's decision: the next run decides every contact under it.
        destination.status, destination.reason = "ok", None
    state.put_account(record)
    click.echo(f"{account_id}: registered; secrets {record.teamleader_secret}, {destination.google_secret}")


def check_account_id(account_id: str) -> None:
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,62}", account_id):
        raise click.BadParameter("lowercase letters, digits and dashes, at most 63", param_hint="ACCOUNT_ID")
    if account_id.startswith(RESERVED_ACCOUNT_PREFIXES):
        raise click.BadParameter("names the OAuth clients' secrets: choose another", param_hint="ACCOUNT_ID")


def new_account(account_id: str, secret_prefix: str, *, with_default: bool) -> AccountRecord:
    """A connection registered now: a team's starts with no destination, a one-person one
    with its default."""
    return AccountRecord(
        account_id,
        teamleader_secret=f"{secret_prefix}{account_id}-teamleader-tokens",
        destinations=None if with_default else [],
        added_at=datetime.now(tz=UTC).isoformat(timespec="seconds"),
    )


def check_user(user: str | None) -> None:
    if user is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", user):
        raise click.BadParameter("the Google account's e-mail address", param_hint="--user")


def check_group_free(state: StateStore, record: AccountRecord, destination: DestinationRecord) -> None:
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


def destination_of(record: AccountRecord, user: str | None, secret_prefix: str) -> DestinationRecord:
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
@click.option(
    "--remove-after-grace/--keep",
    default=False,
    show_default=True,
    help="remove what the sync put in the Google accounts once the grace period has passed, or keep it",
)
def accounts_disable(account_id: str, user: str | None, remove_after_grace: bool) -> None:
    """Stop syncing an account, or one of its users: their Google contacts stay as they are, or
    are removed after the grace period (SYNC_REMOVAL_GRACE_HOURS) with --remove-after-grace.
    A disabled account's webhooks are unregistered in Teamleader and its address retired."""
    settings = load_settings()
    state = open_state(settings)
    record = state.account(account_id)
    if record is None:
        raise click.ClickException(f"unknown account {account_id}")
    leaving = record.targets
    if user is None:
        record.enabled = False
        if record.webhook_token_sha256 is not None and settings.webhook_url is not None:
            unregister_webhooks(settings, record)
    else:
        destination = record.destination(user)
        if destination is None:
            raise click.ClickException(f"{account_id} has no destination for that user")
        destination.enabled = False
        leaving = [destination]
    now = datetime.now(tz=UTC).isoformat(timespec="seconds")
    for destination in leaving if remove_after_grace else []:
        destination.leave("turned off at the command line", now)
    state.put_account(record)
    removal = f"; their contacts are removed in {settings.removal_grace_hours:g} hours" if remove_after_grace else ""
    click.echo(f"{account_id}: disabled" + ("" if user is None else " for that user") + removal)
