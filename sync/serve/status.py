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

# A destination whose person left: when and why, and what was removed from Google and when.
DEPARTURE_FIELDS = (
    "leaving_since",
    "leaving_reason",
    "remove_now",
    "removed_at",
    "removed_persons",
    "removal_problem",
)


def account_statuses(state: StateStore) -> list[dict[str, Any]]:
    """Per registered connection: whether it is enabled, its Teamleader side's status and why,
    when it last ran and how that went, and per destination (Google user) its own status and
    its last run's counts. Never a token or a contact's data."""
    statuses = []
    for record in state.accounts():
        destinations = []
        for destination in record.targets:
            report = state.last_report(destination.state_key) or {}
            destinations.append(
                {
                    "destination": destination.name,
                    "user": destination.user,
                    "enabled": destination.enabled,
                    "group": destination.group_name,
                    "tags": destination.tags,
                    "status": destination.status,
                    "reason": destination.reason,
                    "last_status": destination.last_status,
                    "failures_in_a_row": destination.failures_in_a_row,
                    **{name: getattr(destination, name) for name in DEPARTURE_FIELDS},
                    "last_report": {name: report.get(name) for name in REPORT_FIELDS} if report else None,
                }
            )
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
                "destinations": destinations,
            }
        )
    return statuses
