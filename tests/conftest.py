"""Fixtures shared by the tests: the sandbox servers, Google's Firestore emulator, and state
stores of both kinds."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sandbox.stack import SandboxStack
from sync.state.port import StateStore
from sync.state.sqlite import SqliteState

EMULATOR_PROJECT = "demo-sync-tests"


@pytest.fixture
def stack() -> Iterator[SandboxStack]:
    """All three sandbox APIs, fresh for each test (they start in milliseconds)."""
    running = SandboxStack.start(teamleader_options={"rate_limit": 100_000})
    yield running
    running.stop()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _emulator_command(port: int) -> list[str]:
    gcloud = shutil.which("gcloud")
    if gcloud is None:
        pytest.fail("gcloud is not installed: the Firestore emulator comes with the Google Cloud CLI")
    root = subprocess.check_output([gcloud, "info", "--format=value(installation.sdk_root)"], text=True).strip()
    script = Path(root) / "platform" / "cloud-firestore-emulator" / "cloud_firestore_emulator"
    return [str(script), "start", "--host=127.0.0.1", f"--port={port}"]


@pytest.fixture(scope="session")
def firestore_emulator() -> Iterator[str]:
    """Google's Cloud Firestore emulator on a free port, for the whole session.

    The script starts a Java child that outlives it, so it runs in its own process group and
    the whole group is stopped."""
    port = _free_port()
    process = subprocess.Popen(
        _emulator_command(port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    host = f"127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"http://{host}/", timeout=1)
            break
        except httpx.HTTPError:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("the Firestore emulator did not start")
            time.sleep(0.2)
    previous = os.environ.get("FIRESTORE_EMULATOR_HOST")
    os.environ["FIRESTORE_EMULATOR_HOST"] = host
    yield host
    if previous is None:
        os.environ.pop("FIRESTORE_EMULATOR_HOST", None)
    else:
        os.environ["FIRESTORE_EMULATOR_HOST"] = previous
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture
def firestore_state(firestore_emulator: str) -> Iterator[StateStore]:
    """A Firestore state store on the emulator, emptied after the test."""
    from google.cloud import firestore

    from sync.state.firestore import FirestoreState

    client = firestore.Client(project=EMULATOR_PROJECT)
    yield FirestoreState(client, root=f"accounts-{uuid.uuid4().hex[:8]}")
    httpx.delete(f"http://{firestore_emulator}/emulator/v1/projects/{EMULATOR_PROJECT}/databases/(default)/documents")
    client.close()


@pytest.fixture
def sqlite_state(tmp_path: Path) -> StateStore:
    return SqliteState(tmp_path / "state.sqlite3")


@pytest.fixture(params=["sqlite", "firestore"])
def any_state(request: pytest.FixtureRequest) -> StateStore:
    """Each state adapter in turn: the engine must behave the same on both."""
    fixture = "sqlite_state" if request.param == "sqlite" else "firestore_state"
    state: StateStore = request.getfixturevalue(fixture)
    return state
