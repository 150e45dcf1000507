"""Fixtures shared by the tests: the sandbox servers, Google's Firestore emulator, and state
stores of both kinds."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sandbox.emulator import EmulatorError, FirestoreEmulator
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


@pytest.fixture(scope="session")
def firestore_emulator() -> Iterator[str]:
    """Google's Cloud Firestore emulator on a free port, for the whole session."""
    try:
        emulator = FirestoreEmulator()
    except EmulatorError as exc:
        pytest.fail(str(exc))
    previous = os.environ.get("FIRESTORE_EMULATOR_HOST")
    os.environ["FIRESTORE_EMULATOR_HOST"] = emulator.host
    yield emulator.host
    if previous is None:
        os.environ.pop("FIRESTORE_EMULATOR_HOST", None)
    else:
        os.environ["FIRESTORE_EMULATOR_HOST"] = previous
    emulator.stop()


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
