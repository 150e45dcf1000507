"""Fixtures of the integration tests: the Cloud Function deployed as its own process."""

from __future__ import annotations

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
from sandbox.stack import SandboxStack
from sync.secrets.secretmanager import SecretManagerSecrets
from sync.state.connections import AccountRecord
from sync.state.firestore import FirestoreState

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
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
    data = {}
    for n, account in enumerate(("alpha", "beta", "gamma")):
        data[account] = generate(150, 10, seed=40 + n)
        stack.connect_account(account, data[account], secrets)
        state.put_account(AccountRecord(account))
    stack.teamleader.revoke("beta")  # a person disconnected the integration
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
            # Every level is logged, so that none of them can carry what no log may show.
            "SYNC_LOG_LEVEL": "DEBUG",
        }
    )
    log_path = tmp_path / "function.log"
    url, process = serve_function("sync_http", env, log_path)
    yield Deployment(url, process, state, secrets, data, log_path)
    process.terminate()
    process.wait(10)


def serve_function(
    target: str, env: dict[str, str], log_path: Path, port: int | None = None
) -> tuple[str, subprocess.Popen[bytes]]:
    """main.py's `target` served by functions-framework (gunicorn, as in the cloud) in its own
    process, everything it prints in `log_path`; its address once it answers."""
    port = port or free_port()
    address = ["--host", "127.0.0.1", "--port", str(port)]
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "functions_framework", "--target", target, "--source", "main.py", *address],
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
            return url, process
        except httpx.HTTPError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(log_path.read_text())
            time.sleep(0.2)


def fire(deployment: Deployment, params: str = "", method: str = "POST") -> httpx.Response:
    # Cloud Scheduler sends an OIDC identity token; Cloud Run checks it before the function runs.
    return httpx.request(method, deployment.url + params, headers={"Authorization": "Bearer oidc-token"}, timeout=120)
