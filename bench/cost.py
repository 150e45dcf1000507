"""What one connection costs: Firestore document reads, writes and deletes (counted on the wire,
`sandbox.meter`), Secret Manager accesses and new versions, and the function's CPU, wall time
and invocations, for each kind of run (first, unchanged, 1% changed, full with nothing
changed, one webhook-driven change); then a month of one connection priced at the published
list prices, each price and assumption printed. The sandbox runs in a process of its own, the
state on Google's Firestore emulator, each run as `python -m sync run` in another process,
measured from outside. Usage:

    .venv/bin/python bench/cost.py [--contacts 25000] [--teams 1,10] [--json bench/results/cost.json]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


from bench.measure import ACCOUNT, SandboxProcess, add_latency_options, first_run_shape, latency_options, write_json
from bench.prices import WEEKLY_FULL_RUNS, month, print_month, print_warm_assumptions, warm_shares
from bench.warm import WARM_REQUESTS, each_team, measure_warm, receive_webhook
from sandbox.datagen import generate

RUNS = ("first", "unchanged", "1% changed", "full", "webhook")
# Served by a warm instance, as the deployed shape sends them (a task to `/task`).
WARM_RUNS = ("warm unchanged", "warm webhook")


def measure(contacts: int, team: int, emulator_host: str, latency: dict[str, float]) -> dict[str, Any]:
    """Each kind of run of one connection with `team` Google users, in this order."""
    companies, bulk = first_run_shape(contacts)
    project = f"demo-cost-{uuid.uuid4().hex[:8]}"
    options = {"rate_limit": 1_000_000, **latency}
    with SandboxProcess(
        contacts, companies, bulk_import=bulk, options=options, env=firestore_env(project, emulator_host)
    ) as sandbox:
        for n in range(1, team):
            sandbox.add_google_user(f"member{n}@team.example")
        runs, changed = cold_runs(sandbox, project, contacts)
        runs.update(measure_warm(sandbox, project, changed[1 : 1 + WARM_REQUESTS]))
    return {"contacts": contacts, "companies": companies, "team": team, "changed": len(changed), "runs": runs}


def firestore_env(project: str, emulator_host: str) -> dict[str, str]:
    """The sync's settings for its state in `project` on the emulator."""
    return {
        "SYNC_STATE_BACKEND": "firestore",
        "SYNC_FIRESTORE_PROJECT": project,
        "FIRESTORE_EMULATOR_HOST": emulator_host,
    }


def cold_runs(sandbox: SandboxProcess, project: str, contacts: int) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Each kind of run (`RUNS`), in this order, each a process of its own, metered; and the
    contacts the 1% run changed."""
    companies, bulk = first_run_shape(contacts)
    out = Path(tempfile.mkdtemp(prefix="sync-cost-")) / "meter.json"
    runs: dict[str, dict[str, Any]] = {}

    def run(label: str, *extra: str) -> None:
        measured = sandbox.sync(["run", "--account", ACCOUNT, *extra], meter_to=out)
        counted = json.loads(out.read_text())
        reports = measured.reports
        assert reports and all(r["status"] == "ok" for r in reports), [r.get("status") for r in reports]
        runs[label] = {
            **{k: v for k, v in counted.items() if k != "by_collection"},
            "by_collection": {k: v for k, v in counted["by_collection"].items() if v},
            "cpu_s": measured.cpu_s,
            "wall_s": measured.wall_s,
            "written_to_google": sum(r["created"] + r["updated"] + r["deleted"] for r in reports),
        }

    run("first")
    run("unchanged")
    # The seeded data, as the sandbox generated it (its seed): 1% of the eligible contacts.
    eligible = sorted(generate(contacts, companies, seed=7, bulk_import=bulk).eligible_ids())
    changed = random.Random(contacts).sample(eligible, math.ceil(len(eligible) / 100))
    for teamleader_id in changed:
        body = {"account": ACCOUNT, "id": teamleader_id, "changes": {"last_name": "Gewijzigd"}}
        sandbox.control("teamleader", "edit_contact", body)
    run("1% changed")
    run("full", "--mode", "full")
    body = {"account": ACCOUNT, "id": changed[0], "changes": {"last_name": "Via Webhook"}}
    sandbox.control("teamleader", "edit_contact", body)
    runs["receiver"] = receive_webhook(project, changed[0])
    run("webhook", "--targeted")
    return runs, changed


def print_runs(figures: dict[str, Any]) -> None:
    print(
        f"\n{figures['contacts']:,} contacts, {figures['companies']:,} companies, a team of {figures['team']} "
        f"({figures['changed']:,} contacts in the 1% run)"
    )
    print(f"{'run':<15} {'reads':>8} {'writes':>8} {'deletes':>7} {'secret reads':>12} {'new versions':>12} "
          f"{'CPU s':>7} {'wall s':>7}")  # fmt: skip
    for label in (*RUNS, "receiver", *WARM_RUNS):
        run = figures["runs"][label]
        cpu = f"{run['cpu_s']:>7.1f} {run['wall_s']:>7.1f}" if "cpu_s" in run else f"{'':>7} {'':>7}"
        print(
            f"{label:<15} {run['reads']:>8,} {run['writes']:>8,} {run['deletes']:>7,} "
            f"{run['secret_accesses']:>12,} {run['secret_versions']:>12,} {cpu}"
        )
    for label in (*RUNS, *WARM_RUNS):
        print(f"  {label}: {figures['runs'][label]['by_collection']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=25_000)
    parser.add_argument("--teams", default="1,10", help="Google users of the connection, one measurement each")
    add_latency_options(parser, teamleader_ms=0.0, people_ms=0.0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    latency = latency_options(args)
    results = each_team(args.teams, lambda team, host: measure(args.contacts, team, host, latency), print_runs)
    months = [(month(figures), month(figures, WEEKLY_FULL_RUNS)) for figures in results]
    shares = warm_shares()
    warm = [(month(f, warm=shares), month(f, WEEKLY_FULL_RUNS, shares)) for f in results]
    all_warm = [month(f, warm={"webhook": 1.0, "hourly": 1.0}) for f in results]
    for (daily, weekly), (warm_daily, warm_weekly), every in zip(months, warm, all_warm, strict=True):
        print_month(daily, weekly)
        print_month(warm_daily, warm_weekly, details=False)
        print_warm_assumptions(every)
    write_json(
        args.json,
        {
            "results": results,
            "months": [daily for daily, _ in months],
            "weekly": [w for _, w in months],
            "warm_months": [daily for daily, _ in warm],
            "warm_weekly": [w for _, w in warm],
            "all_warm_months": all_warm,
        },
    )


if __name__ == "__main__":
    main()
