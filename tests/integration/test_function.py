"""End to end: functions-framework serving main.py as its own process, fired over HTTP as Cloud
Scheduler fires it, with the sandbox APIs, Secret Manager (sandbox) and the Firestore emulator."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore, secretmanager

from sandbox.datagen import Dataset, generate
from sandbox.stack import GOOGLE_CLIENT, TEAMLEADER_CLIENT, SandboxStack
from sync.secrets.port import GOOGLE_CLIENT_SECRET, TEAMLEADER_CLIENT_SECRET
from sync.secrets.secretmanager import SecretManagerSecrets
from sync.state.firestore import FirestoreState
from sync.state.port import AccountRecord

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Deployment:
    url: str
    process: subprocess.Popen[bytes]
    state: FirestoreState
    secrets: SecretManagerSecrets
    data: dict[str, Dataset]
    log_path: Path


@pytest.fixture
def deployment(stack: SandboxStack, firestore_emulator: str, tmp_path: Path) -> Iterator[Deployment]:
    project = f"demo-fn-{uuid.uuid4().hex[:8]}"
    state = FirestoreState(firestore.Client(project=project))
    client = secretmanager.SecretManagerServiceClient(
        credentials=AnonymousCredentials(),
        transport="rest",
        client_options={"api_endpoint": stack.url("secretmanager")},
    )
    secrets = SecretManagerSecrets(client, project)
    secrets.write(
        TEAMLEADER_CLIENT_SECRET, json.dumps(dict(zip(("client_id", "client_secret"), TEAMLEADER_CLIENT, strict=True)))
    )
    secrets.write(
        GOOGLE_CLIENT_SECRET, json.dumps(dict(zip(("client_id", "client_secret"), GOOGLE_CLIENT, strict=True)))
    )
    data = {}
    for n, account in enumerate(("alpha", "beta", "gamma")):
        data[account] = generate(150, 10, seed=40 + n)
        seeded = stack.seed_account(account, data[account])
        record = AccountRecord(account)
        state.put_account(record)
        secrets.write(record.teamleader_secret, json.dumps({"refresh_token": seeded.teamleader_refresh_token}))
        secrets.write(record.google_secret, json.dumps({"refresh_token": seeded.google_refresh_token}))
    stack.teamleader.revoke("beta")  # a person disconnected the integration
    port = _free_port()
    env = dict(os.environ)
    env.update(
        {
            "SYNC_TEAMLEADER_API_URL": stack.url("teamleader"),
            "SYNC_TEAMLEADER_TOKEN_URL": stack.url("teamleader") + "/oauth2/access_token",
            "SYNC_GOOGLE_API_URL": stack.url("people"),
            "SYNC_GOOGLE_TOKEN_URI": stack.url("people") + "/token",
            "SYNC_STATE_BACKEND": "firestore",
            "SYNC_FIRESTORE_PROJECT": project,
            "SYNC_SECRETS_BACKEND": "secretmanager",
            "SYNC_SECRET_MANAGER_PROJECT": project,
            "SYNC_SECRET_MANAGER_URL": stack.url("secretmanager"),
            "FIRESTORE_EMULATOR_HOST": firestore_emulator,
        }
    )
    log_path = tmp_path / "function.log"
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "functions_framework",
                "--target",
                "sync_http",
                "--source",
                "main.py",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url, timeout=1)
            break
        except httpx.HTTPError:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(log_path.read_text())
            time.sleep(0.2)
    yield Deployment(url, process, state, secrets, data, log_path)
    process.terminate()
    process.wait(10)


def fire(deployment: Deployment, params: str = "", method: str = "POST") -> httpx.Response:
    # Cloud Scheduler sends an OIDC identity token; Cloud Run checks it before the function runs.
    return httpx.request(method, deployment.url + params, headers={"Authorization": "Bearer oidc-token"}, timeout=120)


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

    # The rotated Teamleader refresh token is a new secret version; the older ones are disabled.
    secret = stack.secretmanager.secrets[f"projects/{deployment.state._db.project}/secrets/alpha-teamleader-tokens"]
    assert [v.state for v in secret.versions] == ["DISABLED", "ENABLED"]
    assert deployment.secrets.read(AccountRecord("alpha").teamleader_secret) != tokens_before

    # Fired again with nothing changed: nothing is written.
    stack.servers["people"].log.clear()
    again = fire(deployment)
    assert again.status_code == 200
    writes = [c for c in stack.servers["people"].log.calls("/v1/") if c.method != "GET"]
    assert writes == []

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
    assert fire(deployment, method="GET").status_code == 405
    bad = fire(deployment, "?mode=everything")
    assert bad.status_code == 400 and "mode" in bad.json()["error"]
    assert fire(deployment, "?colour=red").status_code == 400
    assert fire(deployment, "?account=nobody").status_code == 404
    assert deployment.state.acquire_lease("gamma", "someone-else", time.time(), 300)
    busy = fire(deployment, "?account=gamma")
    assert busy.status_code == 409
    dry = fire(deployment, "?account=alpha&dry_run=1")
    assert dry.status_code == 200
    report = dry.json()["accounts"][0]["report"]
    assert report["dry_run"] is True and report["created"] > 0
    assert stack.people.members("alpha@sandbox.example", "Teamleader") == []
    full = fire(deployment, "?account=alpha&mode=full")
    assert full.status_code == 200 and full.json()["accounts"][0]["report"]["mode"] == "full"
