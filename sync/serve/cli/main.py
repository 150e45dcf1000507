"""`python -m sync`: run the sync from a terminal, see how accounts stand, connect them. The
commands are in their own modules: `run` and `status`, `accounts`, `recipients`, `webhooks`, `connect`,
`page-client`."""

from __future__ import annotations

import logging
import sys

import click

from sync import logs
from sync.serve.cli.accounts import accounts
from sync.serve.cli.connect import connect
from sync.serve.cli.page import page_client
from sync.serve.cli.recipients import recipients
from sync.serve.cli.run_status import run, status
from sync.serve.cli.webhooks import webhooks

log = logging.getLogger("sync.cli")


@click.group()
def main() -> None:
    """Keep a Google Contacts group in step with Teamleader Focus."""
    logs.configure(logging.WARNING if sys.stdout.isatty() else logging.INFO)


for command in (run, status, accounts, recipients, webhooks, connect, page_client):
    main.add_command(command)
