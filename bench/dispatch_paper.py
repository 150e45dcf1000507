"""10,000 and 100,000 connections dispatched as tasks, on paper: each hour's instances, Cloud
Tasks, Firestore and Secret Manager operations against the published quotas, the cost of a
connection-month, and what stops first. Every figure not measured is printed as an assumption."""

from __future__ import annotations

import json
from typing import Any

from bench.measure import ROOT
from bench.prices import PRICES

# Published quotas (per project unless said), and where.
QUOTAS = {
    "secret_access_per_min": (
        90_000,
        "Secret Manager access requests a minute (cloud.google.com/secret-manager/quotas)",
    ),
    "secret_read_per_min": (600, "Secret Manager read requests a minute: listing versions (same page)"),
    "secret_write_per_min": (600, "Secret Manager write requests a minute: add, disable, destroy (same page)"),
    "tasks_dispatch_per_s": (500, "Cloud Tasks max_dispatches_per_second of one queue (RateLimits reference)"),
}
TASKS_PRICE = (
    0.40,
    1_000_000,
    "Cloud Tasks operations past the first million a month (cloud.google.com/tasks/pricing)",
)
HOURS_A_MONTH = 720
TICKS_AN_HOUR = 12
ASSUMPTIONS = [
    "every connection one Teamleader account and one Google user, served hourly, nothing changed (an unchanged run)",
    "a run holds an instance for its measured time at 1,100 contacts plus 1 s (Firestore and Secret Manager calls, "
    "which the sandbox bench does not delay)",
    "instances: the hour's run time spread with 50% headroom for the ticks' bunching",
    "Firestore a run: the unchanged run's reads, writes and deletes as bench/results/cost.json measured them, plus "
    "2 reads of the task (its connection's record, read again by the runner); each tick reads every "
    "connection's record",
    "Secret Manager a run: the 4 accesses cost.json measured, and one Teamleader token rotation an hour (its access "
    "token lasts an hour): a version added and the one before destroyed (2 writes), the enabled and disabled "
    "versions listed (2 reads); the new version's read-back is among the accesses cost.json measured",
    "Cloud Tasks a run: a create and a dispatch (2 billed operations)",
    "Firestore's and Cloud Run's own limits (writes a second per database, instances per region) are not confirmed "
    "here: none is near at these rates but the instances, which are a quota to raise",
]


def on_paper(measured: dict[int, dict[str, dict[str, float]]], counts: tuple[int, ...]) -> dict[str, Any]:
    """Each count's hour, quotas used and month's cost per connection."""
    unchanged = json.loads((ROOT / "bench/results/cost.json").read_text())["results"][0]["runs"]["unchanged"]
    run_s = measured[1100]["tasks"]["seconds"] + 1.0
    firestore = {
        "read": unchanged["reads"] + 2 + TICKS_AN_HOUR,
        "write": unchanged["writes"],
        "delete": unchanged["deletes"],
    }
    secrets = {"access": unchanged["secret_accesses"], "read": 2, "write": 2}
    rows = {}
    for n in counts:
        per_min = {key: n * value / 60 for key, value in secrets.items()}
        used = {
            "secret_access_per_min": per_min["access"] / QUOTAS["secret_access_per_min"][0],
            "secret_read_per_min": per_min["read"] / QUOTAS["secret_read_per_min"][0],
            "secret_write_per_min": per_min["write"] / QUOTAS["secret_write_per_min"][0],
            "tasks_dispatch_per_s": n / 3600 / QUOTAS["tasks_dispatch_per_s"][0],
        }
        rows[n] = {
            "instances": n * run_s / 3600 * 1.5,
            "tasks_ops_per_hour": 2 * n,
            "firestore_per_hour": {key: n * value for key, value in firestore.items()},
            "secret_manager_per_min": per_min,
            "quota_used": used,
            "stops_first": max(used, key=lambda key: used[key]),
        }
    return {"run_s": run_s, "firestore": firestore, "secrets": secrets, "rows": rows, "month": _month(run_s, firestore)}


def _month(run_s: float, firestore: dict[str, float]) -> dict[str, float]:
    """A connection-month at list prices (before free tiers), USD."""
    hours = HOURS_A_MONTH
    cost = {key: hours * firestore[key] / PRICES[key].per * PRICES[key].low for key in firestore}
    cost["secret versions"] = 2 * PRICES["version"].low
    cost["secret accesses"] = hours * 4 / PRICES["access"].per * PRICES["access"].low
    cost["instance time"] = hours * run_s * (0.333 * PRICES["cpu"].low + 0.5 * PRICES["memory"].low)
    cost["requests"] = hours * (1 + 1 / 1000) / PRICES["request"].per * PRICES["request"].low
    cost["cloud tasks"] = hours * 2 / TASKS_PRICE[1] * TASKS_PRICE[0]
    cost["total"] = sum(cost.values())
    return cost


def print_paper(paper: dict[str, Any]) -> None:
    print("\non paper, runs dispatched as tasks; assumptions:")
    for line in ASSUMPTIONS:
        print(f"    - {line}")
    print(
        "| connections | instances | Cloud Tasks ops/h | Firestore reads/h | writes/h "
        "| Secret Manager access/read/write a min | stops first |"
    )
    print("|---:|---:|---:|---:|---:|---|---|")
    for n, row in paper["rows"].items():
        sm, used = row["secret_manager_per_min"], row["quota_used"]
        shares = f"{sm['access']:,.0f} / {sm['read']:,.0f} / {sm['write']:,.0f}"
        first = f"{QUOTAS[row['stops_first']][1].split(' (')[0]}: {used[row['stops_first']]:.0%} of quota"
        fs = row["firestore_per_hour"]
        cells = [f"{n:,}", f"{row['instances']:.0f}", f"{row['tasks_ops_per_hour']:,}", f"{fs['read']:,.0f}"]
        print("| " + " | ".join([*cells, f"{fs['write']:,.0f}", shares, first]) + " |")
    month = paper["month"]
    print("a connection-month (USD, list prices before free tiers): " + ", ".join(
        f"{key} {value:.4f}" for key, value in month.items()))  # fmt: skip
    for key, (value, source) in QUOTAS.items():
        print(f"    quota {key}: {value:,} — {source}")
    print(f"    price: {TASKS_PRICE[0]} USD per {TASKS_PRICE[1]:,} — {TASKS_PRICE[2]}")
