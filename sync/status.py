"""How each account stands, as `python -m sync status` prints it and `GET /` answers it."""

from __future__ import annotations

from typing import Any

from sync.state.port import StateStore

# What of an account's last run report the status shows.
REPORT_FIELDS = (
    "status",
    "mode",
    "started",
    "finished",
    "created",
    "updated",
    "deleted",
    "skipped",
    "failed",
    "cursor",
    "problem",
)


def account_statuses(state: StateStore) -> list[dict[str, Any]]:
    """Per registered account: whether it is enabled, its status and why, when it last ran and
    how that went, and the last run's counts. Never a token or a contact's data."""
    statuses = []
    for record in state.accounts():
        report = state.last_report(record.account_id) or {}
        statuses.append(
            {
                "account": record.account_id,
                "enabled": record.enabled,
                "status": record.status,
                "reason": record.reason,
                "last_run": record.last_run,
                "last_status": record.last_status,
                "last_full_run": record.last_full_run,
                "failures_in_a_row": record.failures_in_a_row,
                "last_report": {name: report.get(name) for name in REPORT_FIELDS} if report else None,
            }
        )
    return statuses
