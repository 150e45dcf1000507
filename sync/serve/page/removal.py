"""The page's "remove now": the destination has just left (asked for now), and its copy is
removed while the person waits, by the same code as the runner's removal after the grace
period. What cannot be done now is done by the next run: the destination stays due."""

from __future__ import annotations

from typing import Any

from flask import redirect

from sync.serve.offboarding import RemovalBusyError, Remover
from sync.serve.page import PageContext, message
from sync.state.connections import DestinationRecord


def remove_now(page: PageContext, account_id: str, destination: DestinationRecord, back: str = "/card") -> Any:
    """Remove the copy of a destination that left; the answer for the person: back to `back`
    with the count, or a sentence saying why it is not done yet (never a 5xx)."""
    try:
        removal = Remover(page.settings, page.state, page.secrets, page.clock).remove(account_id, destination)
    except RemovalBusyError as exc:
        return message("Turned off, not yet removed", f"Turned off, but {exc}; the next run removes them.", 409)
    if not removal.finished:
        problem = removal.problem or "the removal goes on at the next run"
        return message("Turned off, not yet removed", f"Turned off; {removal.removed} contacts removed, but {problem}.")
    return redirect(f"{back}?notice=removed&n={removal.removed}", 303)
