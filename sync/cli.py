"""`python -m sync`: run the sync from a terminal, or try it against the sandbox."""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from sync import logs
from sync.config import Settings, load_settings
from sync.engine import AccountConfig, EngineOptions, RunReport
from sync.errors import SyncError
from sync.wiring import open_secrets, open_state, run_account

console = Console(stderr=False)
log = logging.getLogger("sync.cli")


@click.group()
def main() -> None:
    """Keep a Google Contacts group in step with Teamleader Focus."""
    logs.configure(logging.WARNING if sys.stdout.isatty() else logging.INFO)


@contextmanager
def _progress_display(label: str) -> Iterator[Callable[[RunReport], None]]:
    """A live progress line on a terminal; plain lines every few seconds otherwise."""
    if console.is_terminal:
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(bar_width=None, pulse_style="cyan"),
            TextColumn("{task.fields[counts]}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        ) as progress:
            task = progress.add_task(label, total=None, counts="")

            def show(report: RunReport) -> None:
                progress.update(task, counts=_counts(report))

            yield show
        return
    last = [0.0]

    def plain(report: RunReport) -> None:
        if time.monotonic() - last[0] >= 2:
            last[0] = time.monotonic()
            click.echo(f"{label}: {_counts(report)}")

    yield plain


def _counts(report: RunReport) -> str:
    return (
        f"read {report.read} · created {report.created} · updated {report.updated} · "
        f"deleted {report.deleted} · unchanged {report.unchanged} · skipped {report.skipped} · "
        f"failed {report.failed}"
    )


def _print_report(report: RunReport) -> None:
    if not console.is_terminal:
        click.echo(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
        return
    table = Table(title=f"{report.account}: {report.status} ({report.mode}{', dry run' if report.dry_run else ''})")
    table.add_column("what")
    table.add_column("count", justify="right")
    for name in (
        "read",
        "created",
        "updated",
        "deleted",
        "unchanged",
        "skipped",
        "failed",
        "still_failing",
        "uncertain",
    ):
        table.add_row(name, str(getattr(report, name)))
    table.add_row("Teamleader calls", str(report.teamleader_calls))
    table.add_row("Google calls (writes)", f"{report.google_calls} ({report.google_writes})")
    console.print(table)
    if report.skip_reasons:
        reasons = Table(title="skipped, and why")
        reasons.add_column("reason")
        reasons.add_column("contacts", justify="right")
        for reason, count in report.skip_reasons.most_common():
            reasons.add_row(reason, str(count))
        console.print(reasons)
    for failure in report.failures[:10]:
        console.print(f"[red]refused by Google[/red] {failure['teamleader_id']}: {failure['reason']}")


def _run_one(settings: Settings, account: AccountConfig, options: EngineOptions, label: str) -> RunReport:
    state = open_state(settings)
    secrets = open_secrets(settings)
    with _progress_display(label) as show:
        report = run_account(settings, account, state=state, secrets=secrets, options=options, progress=show)
    return report


@main.command()
@click.option("--account", required=True, help="the account id")
@click.option("--mode", type=click.Choice(["incremental", "full"]), default="incremental", show_default=True)
@click.option("--dry-run", is_flag=True, help="plan without writing")
@click.option("--group", default=None, help="the Google contact group (default: SYNC_GROUP_NAME)")
@click.option("--tags", default="", help="only contacts carrying all these comma-separated tags")
def run(account: str, mode: str, dry_run: bool, group: str | None, tags: str) -> None:
    """Sync one account now."""
    settings = load_settings()
    config = AccountConfig(
        account,
        group or settings.group_name,
        frozenset(t.strip() for t in tags.split(",") if t.strip()),
    )
    options = EngineOptions(
        mode=mode,
        dry_run=dry_run,
        deadline=time.time() + settings.time_budget_seconds,
        create_visibility_delay=settings.create_visibility_delay,
    )
    try:
        report = _run_one(settings, config, options, account)
    except SyncError as exc:
        raise click.ClickException(str(exc)) from exc
    _print_report(report)


@main.command()
@click.option("--contacts", default=3000, show_default=True, help="seeded Teamleader contacts")
@click.option("--seed", default=7, show_default=True)
def sandbox(contacts: int, seed: int) -> None:
    """Start the sandbox APIs, sync a seeded account twice, and show what happened."""
    from sandbox.datagen import generate
    from sandbox.stack import GOOGLE_CLIENT, TEAMLEADER_CLIENT, SandboxStack
    from sync.secrets.localfile import LocalFileSecrets
    from sync.secrets.port import (
        GOOGLE_CLIENT_SECRET,
        TEAMLEADER_CLIENT_SECRET,
        google_tokens_secret,
        teamleader_tokens_secret,
    )

    stack = SandboxStack.start(teamleader_options={"rate_limit": 100_000})
    workdir = tempfile.mkdtemp(prefix="sync-demo-")
    try:
        click.echo(f"sandbox: Teamleader {stack.url('teamleader')}, People {stack.url('people')}")
        seeded = stack.seed_account("demo", generate(contacts, seed=seed))
        secrets = LocalFileSecrets(os.path.join(workdir, "secrets.json"))
        secrets.write(TEAMLEADER_CLIENT_SECRET, _client_json(*TEAMLEADER_CLIENT))
        secrets.write(GOOGLE_CLIENT_SECRET, _client_json(*GOOGLE_CLIENT))
        secrets.write(teamleader_tokens_secret("demo"), json.dumps({"refresh_token": seeded.teamleader_refresh_token}))
        secrets.write(google_tokens_secret("demo"), json.dumps({"refresh_token": seeded.google_refresh_token}))
        settings = Settings.model_validate(
            {
                "teamleader_api_url": stack.url("teamleader"),
                "teamleader_token_url": stack.url("teamleader") + "/oauth2/access_token",
                "google_api_url": stack.url("people"),
                "google_token_uri": stack.url("people") + "/token",
                "sqlite_path": os.path.join(workdir, "state.sqlite3"),
                "secrets_file": secrets.path.as_posix(),
            }
        )
        account = AccountConfig("demo", settings.group_name)
        click.echo(f"first run: {contacts} Teamleader contacts into the '{account.group_name}' group")
        _print_report(_run_one(settings, account, EngineOptions(), "first run"))
        click.echo("second run: nothing changed in Teamleader, so nothing is written")
        _print_report(_run_one(settings, account, EngineOptions(), "second run"))
        members = len(stack.people.members(seeded.google_user, account.group_name))
        click.echo(f"Google now holds {members} contacts in '{account.group_name}'.")
    finally:
        stack.stop()


def _client_json(client_id: str, client_secret: str) -> str:
    return json.dumps({"client_id": client_id, "client_secret": client_secret})


def report_json(report: RunReport) -> dict[str, Any]:
    return report.to_json()
