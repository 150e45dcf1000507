"""`run` and `status`: sync now, with a live display on a terminal, and see how accounts stand."""

from __future__ import annotations

import json
import sys
from contextlib import nullcontext
from typing import Any, get_args

import click
from rich.console import Console
from rich.table import Table

from sync.config import Settings, load_settings
from sync.engine import RunReport
from sync.errors import SyncError
from sync.ports import Mode
from sync.progress import ProgressSink
from sync.serve.offboarding import departure
from sync.serve.progress_line import ProgressLine
from sync.serve.report_table import print_report
from sync.serve.runner import Invocation, Runner
from sync.serve.status import DEPARTURE_FIELDS, account_statuses
from sync.serve.wiring import open_secrets, open_state
from sync.state.connections import DestinationRecord

console = Console(stderr=False)


def _runner(settings: Settings, show: ProgressSink | None = None) -> Runner:
    return Runner(settings, open_state(settings), open_secrets(settings), progress=show)


def _print_invocation(invocation: Invocation) -> None:
    for outcome in invocation.accounts:
        for destination in (outcome.report or {}).get("destinations", []):
            print_report(console, RunReport.from_json(destination))
        for served in outcome.destinations:
            if served.removed is not None:
                detail = f" ({served.error})" if served.error else ""
                gone = f"{served.status}, {served.removed} contacts"
                click.echo(f"{outcome.account} → {served.destination}: {gone}{detail}")
            elif served.status == "busy":
                click.echo(f"{outcome.account} → {served.destination}: busy (another run writes to its Google user)")
        if not outcome.report and not outcome.destinations:
            detail = f": {outcome.error}" if outcome.error else ""
            click.echo(f"{outcome.account}: {outcome.status}{detail}")


def _departure(destination: dict[str, Any], settings: Settings) -> str | None:
    """A destination's departure in words, from its status (`offboarding.departure`)."""
    fields = {name: destination[name] for name in DEPARTURE_FIELDS}
    return departure(DestinationRecord(destination["destination"], **fields), settings.removal_grace_hours)


@click.command()
@click.option("--account", default=None, help="one account (default: every due account)")
@click.option("--user", default=None, help="of that account, only this Google user's destination")
@click.option("--mode", type=click.Choice(get_args(Mode)), default="incremental", show_default=True)
@click.option("--dry-run", is_flag=True, help="plan without writing")
@click.option(
    "--allow-deletions",
    is_flag=True,
    help="let this run delete more than the guard allows (one account held before a mass deletion)",
)
@click.option("--targeted", is_flag=True, help="only what webhooks named, as a webhook's run does")
def run(
    account: str | None, user: str | None, mode: Mode, dry_run: bool, allow_deletions: bool, targeted: bool
) -> None:
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
                account=account,
                user=user,
                mode=mode,
                dry_run=dry_run,
                allow_deletions=allow_deletions,
                targeted=targeted,
            )
    except SyncError as exc:
        raise click.ClickException(f"{type(exc).__name__}: {exc}") from exc
    _print_invocation(invocation)
    if invocation.status == "failed":
        sys.exit(1)


@click.command()
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
                "; ".join(filter(None, (destination["reason"], _departure(destination, settings)))),
            )
    console.print(table)
