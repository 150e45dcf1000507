"""Every public entry point fuzzed through functions-framework's own app (its routing, its
after-request hook, main.py's entry functions): arbitrary methods, paths, headers, content
types and bodies (random bytes, JSON of any type and depth, depth bombs, lying lengths). Never
a 5xx, nothing done unless the address's secret was right, and no answer or log line carrying
the token or a traceback.

CI runs a fixed seed (the `ci` profile); `make fuzz` runs many more examples."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import functions_framework
import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sandbox.stack import SandboxStack
from sync.config import settings_from
from sync.logs import JsonFormatter
from sync.queue.port import Task
from sync.secrets.localfile import LocalFileSecrets
from sync.serve.dispatch import Dispatcher
from sync.serve.http_api import Handler
from sync.serve.receiver import Receiver
from sync.serve.runner import Runner
from sync.state.connections import AccountRecord
from sync.state.sqlite import SqliteState
from sync.teamleader.webhook_setup import EVENT_TYPES, new_token

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "300"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=25,
)
bombs = st.integers(1, 40_000).flatmap(
    lambda n: st.sampled_from([b"[" * n + b"]" * n, b'{"a":' * n + b"1" + b"}" * n, b"[" * n])
)
header_text = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40)
methods = st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"])
content_types = (
    st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded", ""]) | header_text
)


def _dumps(value: Any) -> bytes:
    # json, not orjson: it writes integers of any size and lone surrogates (as escapes).
    return json.dumps(value).encode()


class Captured(logging.Handler):
    """Every log line as it would be written, at every level."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[tuple[int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((record.levelno, f"{record.getMessage()} {self.format(record)}"))


@dataclass
class Served:
    app: Flask
    token: str = ""
    triggered: list[str] = field(default_factory=list)
    log: Captured = field(default_factory=Captured)


def _app(target: str) -> tuple[Flask, Any]:
    """functions-framework's app for main.py's `target`, and the main module it loaded."""
    app = functions_framework.create_app(target=target, source=str(ROOT / "main.py"))  # type: ignore[no-untyped-call]
    return app, sys.modules["main"]


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Served]:
    app, module = _app("receive_webhook")
    state = SqliteState(tmp_path / "state.sqlite3")
    token, digest = new_token()
    state.put_account(AccountRecord("acme", webhook_token_sha256=digest))
    state.put_account(AccountRecord("quiet"))
    served = Served(app, token)
    module._receiver = Receiver(state, cap=50, trigger=served.triggered.append, read_seconds=0.5)
    logging.getLogger().addHandler(served.log)
    yield served
    logging.getLogger().removeHandler(served.log)


@pytest.fixture
def sync_function(stack: SandboxStack, tmp_path: Path) -> Iterator[Served]:
    app, module = _app("sync_http")
    settings = settings_from(stack.sync_settings(tmp_path))
    state = SqliteState(settings.sqlite_path)
    runner = Runner(settings, state, LocalFileSecrets(Path(settings.secrets_file)))
    module.handler = Handler(lambda: runner)
    served = Served(app)
    logging.getLogger().addHandler(served.log)
    yield served
    logging.getLogger().removeHandler(served.log)


def events() -> st.SearchStrategy[bytes]:
    """Webhook-like bodies whose every part may be of the wrong type."""
    kinds = st.sampled_from(sorted(EVENT_TYPES)) | json_values.filter(lambda value: not isinstance(value, str))
    ids = st.from_regex(r"[0-9a-f-]{1,40}", fullmatch=True) | json_values
    return st.builds(
        lambda kind, teamleader_id, extra: _dumps({"type": kind, "subject": {"id": teamleader_id}, **extra}),
        kinds,
        ids,
        st.dictionaries(st.text(max_size=8), json_values, max_size=3),
    )


bodies = events() | st.binary(max_size=3000) | json_values.map(_dumps) | bombs


def _check_quiet(served: Served, *secrets: str) -> None:
    for level, line in served.log.lines:
        assert level < logging.ERROR, line
        assert "Traceback" not in line and "Exception on" not in line, line
        for secret in secrets:
            assert secret not in line, line


@FUZZ
@given(
    # Most examples reach the body: the right address, POSTed.
    method=st.just("POST") | methods,
    which=st.sampled_from(["right", "right", "right", "wrong", "unknown", "quiet", "random"]),
    random_path=st.text(max_size=80),
    content_type=content_types,
    headers=st.dictionaries(st.sampled_from(["Accept", "X-Forwarded-For", "Content-Encoding", "Expect"]), header_text),
    body=bodies,
    lie=st.sampled_from([None, 0, 1, 5, 100_000]) | st.integers(-3, 3),
)
def test_the_receiver_never_fails_and_acts_only_on_the_secret_address(
    receiver: Served,
    method: str,
    which: str,
    random_path: str,
    content_type: str,
    headers: dict[str, str],
    body: bytes,
    lie: int | None,
) -> None:
    token = receiver.token
    path = {
        "right": f"/acme/{token}",
        "wrong": f"/acme/{token[::-1]}",
        "unknown": f"/nobody/{token}",
        "quiet": f"/quiet/{token}",
        "random": "/" + quote(random_path),
    }[which]
    declared = {} if lie is None else {"CONTENT_LENGTH": str(max(0, len(body) + lie) if lie < 100 else lie)}
    before = len(receiver.triggered)
    with receiver.app.test_client() as client:
        answer = client.open(
            path,
            method=method,
            data=body,
            headers=headers,
            content_type=content_type or None,
            environ_overrides=declared,
        )
    assert answer.status_code < 500, answer.get_data()[:200]
    assert token not in answer.get_data(as_text=True)
    if which != "right" or method != "POST":
        assert len(receiver.triggered) == before
        # The framework folds repeated slashes ("//") by a redirect before any code of ours runs:
        # it acts on nothing and points nowhere secret.
        folded = answer.status_code == 308 and "//" in path and token not in answer.headers.get("Location", "")
        assert answer.status_code >= 400 or folded, answer.status_code
    _check_quiet(receiver, token)


@FUZZ
@given(
    method=methods,
    query=st.dictionaries(st.sampled_from(["account", "user", "mode", "dry_run", "scheduled", "x"]), header_text),
    content_type=content_types,
    body=st.just(b"") | bodies,
)
def test_the_sync_function_never_fails_on_what_it_is_sent(
    sync_function: Served, method: str, query: dict[str, str], content_type: str, body: bytes
) -> None:
    with sync_function.app.test_client() as client:
        answer = client.open("/", method=method, query_string=query, data=body, content_type=content_type or None)
    assert answer.status_code < 500, answer.get_data()[:200]
    _check_quiet(sync_function)


class _Recorded:
    """A task queue that keeps what it is given (the fuzzed function enqueues for real)."""

    def __init__(self) -> None:
        self.tasks: list[Task] = []

    def enqueue(self, task: Task) -> bool:
        self.tasks.append(task)
        return True


@pytest.fixture
def task_function(stack: SandboxStack, tmp_path: Path) -> Iterator[Served]:
    app, module = _app("sync_http")
    settings = settings_from(stack.sync_settings(tmp_path))
    runner = Runner(settings, SqliteState(settings.sqlite_path), LocalFileSecrets(Path(settings.secrets_file)))
    module.handler = Handler(lambda: runner, lambda runner: Dispatcher(_Recorded(), runner))
    served = Served(app)
    logging.getLogger().addHandler(served.log)
    yield served
    logging.getLogger().removeHandler(served.log)


text_or_any = st.sampled_from(["", "nobody", "tick", "2026-12-02T12:00:00+00:00", "p@x.example", "1"]) | json_values
tasks = st.dictionaries(
    st.sampled_from(["task", "account", "after", "user", "allow_deletions", "x"]), text_or_any, max_size=5
).map(_dumps)


@FUZZ
@given(method=st.just("POST") | methods, content_type=content_types, body=tasks | bodies)
def test_the_task_address_never_fails_on_what_it_is_sent(
    task_function: Served, method: str, content_type: str, body: bytes
) -> None:
    with task_function.app.test_client() as client:
        answer = client.open("/task", method=method, data=body, content_type=content_type or None)
    assert answer.status_code < 500, answer.get_data()[:200]
    _check_quiet(task_function)
