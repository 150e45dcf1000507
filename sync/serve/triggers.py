"""What the webhook receiver does once it has taken a hint: start a targeted run of the
account, or leave the hint to the run in progress (which serves hints that come meanwhile in
another round). Either way the scheduler's next tick serves what is left."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import httpx

from sync.errors import AccountBusyError
from sync.serve.runner import Runner

log = logging.getLogger("sync.triggers")
# The receiver answers Teamleader at once: it waits this long for the sync function to take
# the request, not for the run.
HANDOFF_SECONDS = 2.0


def in_process(runner: Runner) -> Callable[[str], None]:
    """Targeted runs in threads of this process (one machine, the sandbox). A hint for an
    account whose run is going on is left to that run."""
    running: set[str] = set()
    lock = threading.Lock()

    def run(account: str) -> None:
        try:
            runner.run(account=account, targeted=True)
        except AccountBusyError:
            pass  # the run in progress serves it, in another round
        except Exception:
            log.error("targeted run failed", exc_info=True, extra={"account": account})
        finally:
            with lock:
                running.discard(account)

    def trigger(account: str) -> None:
        with lock:
            if account in running:
                return
            running.add(account)
        threading.Thread(target=run, args=(account,), daemon=True).start()

    return trigger


def over_http(sync_url: str, identity_token: Callable[[str], str], http: httpx.Client) -> Callable[[str], None]:
    """Ask the sync function (private) for a targeted run, as one of its invokers: an identity
    token for its URL. Only the hand-off is awaited; a busy answer (409) means a run is going
    on, which serves the hint."""

    def trigger(account: str) -> None:
        ask(sync_url, identity_token, http, {"account": account, "targeted": "1"})

    return trigger


def ask(sync_url: str, identity_token: Callable[[str], str], http: httpx.Client, params: dict[str, str]) -> None:
    """POST a run's parameters to the sync function, awaiting only the hand-off."""
    try:
        http.post(
            sync_url,
            params=params,
            headers={"Authorization": f"Bearer {identity_token(sync_url)}"},
            timeout=HANDOFF_SECONDS,
        )
    except httpx.TimeoutException:
        pass  # taken: the run goes on without us
    except Exception:
        # No identity token, no connection: the next tick serves it; nothing is lost, and the
        # request that was taken is not answered with an error.
        log.warning("the sync function could not be asked for a run", extra={"account": params.get("account")})
