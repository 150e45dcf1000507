"""End to end: functions-framework serving main.py as its own process, fired over HTTP as Cloud
Scheduler fires it, with the sandbox APIs, Secret Manager (sandbox) and the Firestore emulator."""

from __future__ import annotations

import json
import time

import httpx

from sandbox.stack import SandboxStack
from sync.state.connections import AccountRecord
from tests.integration.conftest import Deployment, fire


def test_scheduler_fires_three_accounts_one_revoked(stack: SandboxStack, deployment: Deployment) -> None:
    tokens_before = deployment.secrets.read(AccountRecord("alpha").teamleader_secret)
    answer = fire(deployment)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    statuses = {a["account"]: a["status"] for a in body["accounts"]}
    assert statuses == {"alpha": "ok", "beta": "needs_reauth", "gamma": "ok"}
    for account in ("alpha", "gamma"):
        members = stack.people.members(f"{account}@sandbox.example", "Teamleader")
        ids = [c["value"] for p in members for c in p.fields["clientData"]]
        assert sorted(ids) == sorted(deployment.data[account].eligible_ids())
        record = deployment.state.account(account)
        assert record is not None and record.last_status == "ok" and record.last_run
        report = deployment.state.last_report(account)
        assert report is not None and report["created"] == len(ids)
    beta = deployment.state.account("beta")
    assert beta is not None and beta.status == "needs_reauth"
    assert stack.people.members("beta@sandbox.example", "Teamleader") == []

    # The rotated Teamleader refresh token is a new secret version; the older ones are destroyed.
    secret = stack.secretmanager.secrets[f"projects/{deployment.state._db.project}/secrets/alpha-teamleader-tokens"]
    assert [v.state for v in secret.versions] == ["DESTROYED", "ENABLED"]
    assert deployment.secrets.read(AccountRecord("alpha").teamleader_secret) != tokens_before

    # Fired again with nothing changed: nothing is written.
    stack.servers["people"].log.clear()
    again = fire(deployment)
    assert again.status_code == 200
    writes = [c for c in stack.servers["people"].log.calls("/v1/") if c.method != "GET"]
    assert writes == []

    # A scheduled tick serves only the accounts whose turn it is: none, minutes after a run.
    tick = httpx.post(
        deployment.url, json={"scheduled": True}, headers={"Authorization": "Bearer oidc-token"}, timeout=120
    )
    assert tick.status_code == 200 and tick.json()["accounts"] == []

    # GET: every account's status, as `python -m sync status` shows it.
    status = fire(deployment, method="GET")
    assert status.status_code == 200
    by_account = {a["account"]: a for a in status.json()["accounts"]}
    assert {name: a["status"] for name, a in by_account.items()} == {
        "alpha": "ok",
        "beta": "needs_reauth",
        "gamma": "ok",
    }
    # alpha's last run was the second, which had nothing to create.
    alpha = by_account["alpha"]["destinations"][0]["last_report"]
    assert (alpha["status"], alpha["mode"], alpha["created"], alpha["failed"]) == ("ok", "incremental", 0, 0)
    assert alpha["cursor"] and by_account["alpha"]["last_run"]
    assert "reconnect" in by_account["beta"]["reason"]

    # No secret and no personal data in the logs.
    logs = deployment.log_path.read_text()
    lines = [json.loads(line) for line in logs.splitlines() if line.startswith("{")]
    assert lines and all({"severity", "message", "account", "run_id"} <= set(line) for line in lines)
    assert any(line["account"] == "alpha" and line["run_id"] for line in lines)
    secrets_file = json.loads(deployment.secrets.read(AccountRecord("alpha").teamleader_secret))
    forbidden = {secrets_file["refresh_token"], secrets_file["access_token"]}
    for dataset in deployment.data.values():
        for contact in dataset.contacts:
            forbidden.update(e["email"] for e in contact["emails"])
            forbidden.update(t["number"] for t in contact["telephones"])
    assert not [item for item in forbidden if item and item in logs]


def test_answers_for_bad_requests(stack: SandboxStack, deployment: Deployment) -> None:
    assert fire(deployment, method="PUT").status_code == 405
    bad = fire(deployment, "?mode=everything")
    assert bad.status_code == 400 and "mode" in bad.json()["error"]
    assert fire(deployment, "?colour=red").status_code == 400
    # Lifting the guard against mass deletion is for one named account, never for every one.
    unnamed = fire(deployment, "?allow_deletions=1")
    assert unnamed.status_code == 400 and "allow_deletions" in unnamed.json()["error"]
    assert fire(deployment, "?account=alpha&allow_deletions=maybe").status_code == 400
    assert fire(deployment, "?account=alpha&scheduled=1").status_code == 400
    assert fire(deployment, "?account=nobody").status_code == 404
    # A team member is named within a named account, by address.
    assert fire(deployment, "?user=bob@example.com").status_code == 400
    assert fire(deployment, "?account=alpha&user=bob").status_code == 400
    assert fire(deployment, "?account=alpha&user=bob@example.com").status_code == 404
    assert deployment.state.acquire_lease("gamma", "someone-else", time.time(), 300)
    busy = fire(deployment, "?account=gamma")
    assert busy.status_code == 409
    dry = fire(deployment, "?account=alpha&dry_run=1")
    assert dry.status_code == 200
    report = dry.json()["accounts"][0]["report"]["destinations"][0]
    assert report["dry_run"] is True and report["created"] > 0
    assert stack.people.members("alpha@sandbox.example", "Teamleader") == []
    full = fire(deployment, "?account=alpha&mode=full")
    assert full.status_code == 200 and full.json()["accounts"][0]["report"]["destinations"][0]["mode"] == "full"
