"""Starting one person's run now (a first connect, "Sync now"): in a thread of this process, or
by asking the private sync function when one is configured (as the webhook receiver does)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import httpx

from sync.errors import AccountBusyError
from sync.serve import triggers
from sync.serve.runner import Runner

log = logging.getLogger("sync.page")


def in_process(runner: Runner) -> Callable[[str, str, bool], None]:
    """Runs of one Google user of a connection in daemon threads; a busy connection's run is
    left to the run going on (the next tick serves this person otherwise)."""

    def run(account: str, user: str, allow_deletions: bool) -> None:
        try:
            runner.run(account=account, user=user, allow_deletions=allow_deletions)
        except AccountBusyError:
            pass
        except Exception:
            log.error("a person's run failed", exc_info=True, extra={"account": account})

    def start(account: str, user: str, allow_deletions: bool) -> None:
        threading.Thread(target=run, args=(account, user, allow_deletions), daemon=True).start()

    return start


def over_http(
    sync_url: str, identity_token: Callable[[str], str], http: httpx.Client
) -> Callable[[str, str, bool], None]:
    """Ask the sync function for that person's run, awaiting only the hand-off."""

    def start(account: str, user: str, allow_deletions: bool) -> None:
        params = {"account": account, "user": user, "allow_deletions": "1" if allow_deletions else "0"}
        triggers.ask(sync_url, identity_token, http, params)

    return start
