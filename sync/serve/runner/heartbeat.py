"""What every scheduled tick says, so that what never happens can be alerted on. An alert on a
metric's absence cannot fire for a series that never had a point (an account that never synced,
a function that never ran), so the tick says it positively: one line that it ran, and one line
for each enabled account that has gone longer than it should without an ordinary run (an
account that never ran counts from when it was added). Cloud Logging turns these lines into
the metrics the alerts of infra/terraform/monitoring.tf watch."""

from __future__ import annotations

import logging
from datetime import datetime

from sync.state.connections import AccountRecord

log = logging.getLogger("sync.heartbeat")
TICK = "scheduled tick"
OVERDUE = "account overdue: no ordinary run for longer than it should have taken"


def overdue_hours(record: AccountRecord, now: float, limit_hours: float) -> float | None:
    """Hours since the account's last ordinary run (or since it was added, if it never ran),
    when that is past the limit; None otherwise. A record from before `added_at` was kept that
    never ran has nothing to count from: the tick serves it first (it has no last run), and the
    failing and reconnect alerts speak for it."""
    since = record.last_run or record.added_at
    if not record.enabled or since is None:
        return None
    hours = (now - datetime.fromisoformat(since).timestamp()) / 3600
    return hours if hours > limit_hours else None


def beat(records: list[AccountRecord], now: float, limit_hours: float) -> None:
    """Log the tick, then each overdue account by its id (no personal data)."""
    late = {r.account_id: h for r in records if (h := overdue_hours(r, now, limit_hours)) is not None}
    enabled = sum(r.enabled for r in records)
    log.info(TICK, extra={"counts": {"enabled": enabled, "overdue": len(late)}})
    for account, hours in late.items():
        log.warning(OVERDUE, extra={"account": account, "counts": {"hours": round(hours, 1)}})
