"""`webhooks`: the secret address Teamleader's webhooks reach a connection at, registered,
listed, repaired and unregistered through the API."""

from __future__ import annotations

import click

from sync.config import Settings, load_settings, url
from sync.serve.wiring import http_client, open_secrets, open_state, teamleader_client
from sync.state.connections import AccountRecord
from sync.state.port import StateStore
from sync.teamleader.webhook_setup import EVENT_TYPES, new_token, token_digest


@click.group()
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
    register_webhook(settings, state, _known_account(state, account_id))


def register_webhook(settings: Settings, state: StateStore, record: AccountRecord) -> None:
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
    unregister_webhooks(settings, record)
    state.put_account(record)


def unregister_webhooks(settings: Settings, record: AccountRecord) -> None:
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
