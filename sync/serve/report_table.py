"""A run's report as a person reads it on a terminal: counts under words, not field names."""

from __future__ import annotations

import json

import click
from rich.console import Console
from rich.table import Table

from sync.engine import RunReport
from sync.state.connections import DEFAULT_DESTINATION

# Each count of a report and what it is called where a person reads it, in reading order.
LABELS = (
    ("companies_read", "companies read"),
    ("read", "contacts read"),
    ("created", "created in Google"),
    ("updated", "updated in Google"),
    ("deleted", "deleted from Google"),
    ("unchanged", "unchanged"),
    ("skipped", "skipped (why below)"),
    ("failed", "refused by Google"),
    ("still_failing", "still refused (sent again once changed in Teamleader)"),
    ("uncertain", "creates not yet confirmed (settled by a later run)"),
)


def print_report(console: Console, report: RunReport) -> None:
    """The report as tables on a terminal, as indented JSON elsewhere (for a program to read)."""
    where = report.account if report.destination == DEFAULT_DESTINATION else f"{report.account} → {report.destination}"
    if report.error:
        click.echo(f"{where}: {report.status}: {report.error}")
    if not console.is_terminal:
        click.echo(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
        return
    table = Table(title=f"{where}: {report.status} ({report.mode}{', dry run' if report.dry_run else ''})")
    table.add_column("what")
    table.add_column("count", justify="right")
    for name, label in LABELS:
        table.add_row(label, f"{getattr(report, name):,}")
    table.add_row(
        "Teamleader calls (refused for the rate limit)", _calls(report.teamleader_calls, report.teamleader_rate_limited)
    )
    table.add_row("Google calls (of which writes)", _calls(report.google_calls, report.google_writes))
    console.print(table)
    if report.problem:
        console.print(f"[bold yellow]{report.problem}[/bold yellow]")
    if report.skip_reasons:
        reasons = Table(title="skipped, and why")
        reasons.add_column("reason")
        reasons.add_column("contacts", justify="right")
        for reason, count in report.skip_reasons.most_common():
            reasons.add_row(reason, f"{count:,}")
        console.print(reasons)
    for failure in report.failures[:10]:
        console.print(f"[red]refused by Google[/red] {failure['teamleader_id']}: {failure['reason']}")
    for company_id, reason in list(report.unreadable_companies.items())[:10]:
        console.print(f"[yellow]company not read, kept as it was[/yellow] {company_id}: {reason}")


def _calls(made: int, of_which: int) -> str:
    return f"{made:,} ({of_which:,})"
