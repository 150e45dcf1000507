"""What the entry points do with a request, in this process: the receiver's refusals take one
path whether or not the account exists, the sync function refuses JSON of the wrong type, and
the local state file is its owner's alone."""

from __future__ import annotations

import logging
import stat
from pathlib import Path
from typing import Any

import flask
import orjson
import pytest

from sync.logs import JsonFormatter
from sync.serve.http_api import Handler, serve
from sync.serve.receiver import Receiver
from sync.serve.runner import Runner
from sync.state.connections import AccountRecord
from sync.state.sqlite import SqliteState
from sync.teamleader.webhook_setup import new_token

APP = flask.Flask(__name__)


class RecordingState:
    """The SQLite store, noting which of its methods a request reached."""

    def __init__(self, state: SqliteState) -> None:
        self.state = state
        self.called: list[str] = []

    def __getattr__(self, name: str) -> Any:
        self.called.append(name)
        return getattr(self.state, name)


def test_a_known_and_an_unknown_account_are_refused_the_same_way(tmp_path: Path) -> None:
    """A wrong token for an account with webhooks, for one without, and for no account at all:
    the same single read of the same statement, so that timing tells nothing."""
    state = SqliteState(tmp_path / "state.sqlite3")
    _, digest = new_token()
    state.put_account(AccountRecord("acme", webhook_token_sha256=digest))
    state.put_account(AccountRecord("quiet"))
    recording = RecordingState(state)
    receiver = Receiver(recording, cap=10)
    statements: list[str] = []
    state._db.set_trace_callback(statements.append)
    paths = {}
    for account in ("acme", "quiet", "nobody"):
        recording.called.clear()
        statements.clear()
        with APP.test_request_context(f"/{account}/{'w' * 43}", method="POST", data=b"{}"):
            assert receiver(flask.request).status_code == 404
        paths[account] = (recording.called[:], [s.replace(f"'{account}'", "?") for s in statements])
    assert paths["acme"] == paths["quiet"] == paths["nobody"]
    assert paths["acme"][0] == ["webhook_digest"]


class NoRuns:
    """A runner factory that fails the test if a request gets as far as a run."""

    def __call__(self) -> Runner:
        raise AssertionError("a refused request must not reach the runner")


@pytest.mark.parametrize(
    "body",
    [
        {"account": None},
        ["demo"],
        {"account": ["demo"]},
        {"account": {"id": "demo"}},
        {"account": 7},
        {"mode": True},
        {"dry_run": 1},
        {"user": None, "account": "demo"},
        "demo",
        None,
    ],
)
def test_the_sync_function_refuses_a_wrong_json_type(body: Any) -> None:
    handler = Handler(NoRuns())
    with APP.test_request_context("/", method="POST", data=orjson.dumps(body), content_type="application/json"):
        answer = handler(flask.request)
    assert answer.status_code == 400, answer.get_data()


def test_the_sync_function_refuses_a_depth_bomb() -> None:
    handler = Handler(NoRuns())
    with APP.test_request_context("/", method="POST", data=b"[" * 30_000 + b"]" * 30_000):
        assert handler(flask.request).status_code == 400


def test_the_state_file_and_its_companions_are_private(tmp_path: Path) -> None:
    path = tmp_path / "state" / "sync.sqlite3"
    state = SqliteState(path)
    state.put_account(AccountRecord("acme"))
    companions = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
    assert [stat.S_IMODE(p.stat().st_mode) for p in companions] == [0o600] * 3
    # A file made before this rule is made private when it is next opened.
    for name in companions:
        name.chmod(0o644)
    SqliteState(path).account("acme")
    assert [stat.S_IMODE(p.stat().st_mode) for p in companions] == [0o600] * 3


class BrokenState:
    """A state store that is down."""

    def webhook_digest(self, account: str) -> str | None:
        raise ConnectionError(f"state unreachable while reading {account}")


def test_a_failure_of_ours_is_answered_with_an_id_and_logged_without_the_address(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = flask.Flask("receiver")
    receiver = Receiver(BrokenState(), cap=10)  # type: ignore[arg-type]
    app.add_url_rule(
        "/<path:path>", "run", lambda path: serve(flask.request, receiver, failure_status=503), methods=["POST"]
    )
    token, _ = new_token()
    with caplog.at_level(logging.DEBUG):
        answer = app.test_client().post(f"/acme/{token}", data=b"{}")
    assert answer.status_code == 503 and set(answer.get_json()) == {"error", "error_id"}
    lines = [JsonFormatter().format(record) + record.getMessage() for record in caplog.records]
    assert lines and all(token not in line and "/acme/" not in line for line in lines)
