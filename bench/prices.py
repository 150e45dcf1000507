"""A month of one connection priced at the published list prices (USD, before any free tier),
from the operations `bench/cost.py` counted per kind of run. Every price names its source and
every figure that is not measured is printed as an assumption."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Price:
    """A list price: USD per `per` units, from `source`; `high` where it depends on location."""

    what: str
    low: float
    per: int
    source: str
    high: float | None = None


FIRESTORE = "cloud.google.com/firestore/pricing (Standard edition)"
SECRETS = "cloud.google.com/secret-manager/pricing"
CLOUD_RUN = "cloud.google.com/run/pricing (Tier 1 regions, request-based billing: functions 2nd gen)"
PRICES = {
    "read": Price("Firestore document reads", 0.03, 100_000, FIRESTORE, 0.06),
    "write": Price("Firestore document writes", 0.09, 100_000, FIRESTORE, 0.18),
    "delete": Price("Firestore document deletes", 0.01, 100_000, FIRESTORE, 0.02),
    "version": Price("Secret Manager active secret versions, a month", 0.06, 1, SECRETS),
    "access": Price("Secret Manager access operations", 0.03, 10_000, SECRETS),
    "cpu": Price("Cloud Run vCPU-seconds", 0.000024, 1, CLOUD_RUN),
    "memory": Price("Cloud Run GiB-seconds", 0.0000025, 1, CLOUD_RUN),
    "request": Price("Cloud Run requests", 0.40, 1_000_000, CLOUD_RUN),
}
FREE_TIERS = [
    "Firestore: 50,000 reads, 20,000 writes, 20,000 deletes a day, for one database per project",
    "Secret Manager: 6 active versions and 10,000 accesses a month, per billing account",
    "Cloud Run: 180,000 vCPU-seconds, 360,000 GiB-seconds, 2 million requests a month, per billing account",
]

# The month's shape (the issue's): assumptions, printed with the result.
DAYS = 30
HOURLY_RUNS = 24 * DAYS
FULL_RUNS = DAYS  # full_run_every_hours = 24: one of each day's hourly runs is the full one
# The same month with a full run a week (full_run_every_hours = 168), printed beside it.
WEEKLY_FULL_RUNS = 4
WEBHOOK_CHANGES = 200 * DAYS
# Teamleader's access token lives an hour (its refresh token rotating with each refresh), so some
# run refreshes it every hour: a new version of the token secret, read back once before the older
# one is destroyed (adding and destroying versions are not access operations). The bench's runs
# come minutes apart and refresh nothing, so these are added here.
TOKEN_ROTATIONS = HOURLY_RUNS
# The function (infra/terraform: function_memory 512Mi) gets 0.333 vCPU; the receiver (256M)
# 0.167 (Cloud Run functions' memory/CPU table). Billed: each request's wall time.
FUNCTION_VCPU, FUNCTION_GIB = 0.333, 0.5
RECEIVER_VCPU, RECEIVER_GIB = 0.167, 0.25
RECEIVER_WALL_S = 0.5
# Which runs find a warm instance of the sync function. Cloud Run functions keep an instance idle
# after a request "for an unspecified amount of time" (cloud.google.com/functions/1stgendocs/
# configuring/min-instances, "Idle instances and cold starts"): how long is this assumption.
IDLE_MINUTES = 15.0
# The 200 webhooks a day arrive at random (Poisson) over this many working hours.
WORKING_HOURS = 10.0
TICK_MINUTES = 5.0
# What a run's cost is made of, blended between a cold process and a warm instance.
BLENDED = ("reads", "writes", "deletes", "secret_accesses", "wall_s")


def warm_shares(idle_minutes: float = IDLE_MINUTES) -> dict[str, float]:
    """The share of webhook-driven and of hourly runs that find a warm instance, when only the
    runs themselves keep one warm: a run finds one when another request came within
    `idle_minutes` before it. Webhooks: another webhook in that time (Poisson, 200 a day over the
    working hours). Hourly runs: 60 minutes apart, so warm only in working hours with a webhook
    in the `idle_minutes` before."""
    per_minute = WEBHOOK_CHANGES / DAYS / (WORKING_HOURS * 60)
    webhook = 1 - math.exp(-per_minute * idle_minutes)
    return {"webhook": webhook, "hourly": WORKING_HOURS / 24 * webhook}


def _blend(cold: dict[str, Any], warm: dict[str, Any], share: float) -> dict[str, float]:
    return {key: share * float(warm[key]) + (1 - share) * float(cold[key]) for key in BLENDED}


def _hourly(runs: dict[str, Any], unchanged: dict[str, float], changed: int, per_hour: float) -> dict[str, float]:
    """An ordinary hourly run: the unchanged run, plus reading the contacts webhooks changed in
    the hour again (the listing shows them; the webhook's run wrote them already), at the cold
    runs' cost a contact."""
    cold, one_percent = runs["unchanged"], runs["1% changed"]
    hourly = dict(unchanged)
    hourly["reads"] += (one_percent["reads"] - cold["reads"]) / changed * per_hour
    hourly["wall_s"] += (one_percent["wall_s"] - cold["wall_s"]) / changed * per_hour
    return hourly


def month(figures: dict[str, Any], full_runs: int = FULL_RUNS, warm: dict[str, float] | None = None) -> dict[str, Any]:
    """The month of one connection: each line's quantity and its cost at the low and high price.
    `warm`: the share of webhook-driven and of hourly runs billed at a warm instance's measured
    figures (the rest, and every full run, at a cold process's); none: every run cold."""
    runs, team = figures["runs"], figures["team"]
    shares = warm or {"webhook": 0.0, "hourly": 0.0}
    unchanged = _blend(runs["unchanged"], runs.get("warm unchanged", runs["unchanged"]), shares["hourly"])
    hourly = _hourly(runs, unchanged, figures["changed"], WEBHOOK_CHANGES / HOURLY_RUNS)
    webhook = _blend(runs["webhook"], runs.get("warm webhook", runs["webhook"]), shares["webhook"])
    full, receiver = runs["full"], runs["receiver"]
    ordinary = HOURLY_RUNS - full_runs

    def total(key: str) -> float:
        return float(ordinary * hourly[key] + full_runs * full[key] + WEBHOOK_CHANGES * (webhook[key] + receiver[key]))

    wall = ordinary * hourly["wall_s"] + full_runs * full["wall_s"] + WEBHOOK_CHANGES * webhook["wall_s"]
    receiver_s = WEBHOOK_CHANGES * RECEIVER_WALL_S
    quantities = {
        "read": total("reads"),
        "write": total("writes"),
        "delete": total("deletes"),
        # Each token secret keeps one version (a write destroys the older ones once the new one
        # reads back): Teamleader's, and each Google user's.
        "version": 1 + team,
        "access": total("secret_accesses") + TOKEN_ROTATIONS,
        "cpu": wall * FUNCTION_VCPU + receiver_s * RECEIVER_VCPU,
        "memory": wall * FUNCTION_GIB + receiver_s * RECEIVER_GIB,
        "request": HOURLY_RUNS + 2 * WEBHOOK_CHANGES,
    }
    lines = []
    for key, quantity in quantities.items():
        price = PRICES[key]
        high = price.high if price.high is not None else price.low
        lines.append({"key": key, "quantity": quantity, "low": quantity / price.per * price.low,
                      "high": quantity / price.per * high})  # fmt: skip
    return {
        "contacts": figures["contacts"],
        "team": team,
        "full_runs": full_runs,
        "warm": shares,
        "lines": lines,
        "low": sum(line["low"] for line in lines),
        "high": sum(line["high"] for line in lines),
        "prices": {key: asdict(price) for key, price in PRICES.items()},
    }


def print_month(priced: dict[str, Any], weekly: dict[str, Any], *, details: bool = True) -> None:
    """The month's table, its prices and assumptions (`details`); `weekly`: the same month with
    a full run a week, its total only."""
    shares = priced["warm"]
    served = (
        f"{shares['webhook']:.1%} of webhook-driven and {shares['hourly']:.1%} of hourly runs on a warm instance"
        if any(shares.values())
        else "every run a cold process"
    )
    print(f"\nA month of one connection: {priced['contacts']:,} contacts, a team of {priced['team']}; {served}")
    print(f"{'':<48} {'quantity':>12} {'USD (low)':>10} {'USD (high)':>10}")
    for line in priced["lines"]:
        name = PRICES[line["key"]].what
        print(f"{name:<48} {line['quantity']:>12,.0f} {line['low']:>10.3f} {line['high']:>10.3f}")
    print(f"{'total':<48} {'':>12} {priced['low']:>10.2f} {priced['high']:>10.2f}")
    print(f"{'total with a full run a week':<48} {'':>12} {weekly['low']:>10.2f} {weekly['high']:>10.2f}")
    if not details:
        return
    print("prices (list, USD):")
    for price in PRICES.values():
        shown = f"{price.low:g}" if price.high is None else f"{price.low:g} to {price.high:g}"
        print(f"  {price.what}: {shown} per {price.per:,}  [{price.source}]")
    print("  Firestore: low is a regional location's price, high a multi-region's (eur3, nam5); check yours")
    print("free tiers, not deducted above (shared by every connection of a project or billing account):")
    for tier in FREE_TIERS:
        print(f"  {tier}")
    print(
        "assumptions: "
        f"{HOURLY_RUNS} hourly runs, {FULL_RUNS} of them full (one a day); {WEBHOOK_CHANGES:,} webhook-driven "
        "changes (200 a day), each one receiver request and one targeted run; an hourly run reads again the "
        "contacts webhooks changed in its hour (the measured 1%-changed run's reads per contact) and writes "
        "nothing of them; each token secret (Teamleader's, each Google user's) keeps 1 version; Teamleader's "
        f"token is refreshed {TOKEN_ROTATIONS} times (hourly: it lives an hour), each new version read back once; "
        "billed time is "
        f"the measured wall time of `python -m sync run` (start-up included, API latency as given) at "
        f"{FUNCTION_VCPU} vCPU and {FUNCTION_GIB} GiB, and {RECEIVER_WALL_S} s a receiver request at "
        f"{RECEIVER_VCPU} vCPU and {RECEIVER_GIB} GiB; per deployment, not per connection (not above): the "
        "scheduler's ticks (every 5 minutes, 8,640 requests) and the OAuth clients' two secrets"
    )


def print_warm_assumptions(all_warm: dict[str, Any]) -> None:
    """How the warm-aware months' shares were derived, and the month if every run found a warm
    instance (`all_warm`: its total)."""
    shares = warm_shares()
    print(
        f"warm instances, assumptions: an instance stays idle {IDLE_MINUTES:g} minutes after a request (Cloud Run "
        "functions document only 'an unspecified amount of time': cloud.google.com/functions/1stgendocs/"
        f"configuring/min-instances); the 200 webhooks a day arrive at random over {WORKING_HOURS:g} working "
        f"hours, so a webhook finds the instance warm when another came in the {IDLE_MINUTES:g} minutes before: "
        f"{shares['webhook']:.1%}; hourly runs are 60 minutes apart, warm only in working hours after a webhook: "
        f"{shares['hourly']:.1%}; full runs always cold; a warm run billed at the measured wall time of a "
        "task (`POST /task`) answered by the served function after one request warmed it"
    )
    print(
        f"if the scheduler's tick (every {TICK_MINUTES:g} minutes, to the same function) keeps an instance warm "
        f"and every webhook-driven and hourly run finds it idle: {all_warm['low']:.2f} to {all_warm['high']:.2f} "
        "(the function serves one request at a time: a task arriving while the tick is answered starts "
        "another instance, cold)"
    )
