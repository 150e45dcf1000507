"""Webhooks as hints: the public receiver takes only a known event about an id, at the
connection's secret address, and a targeted run reads those records again through the API and
writes them, leaving the account's hourly turn where it was."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import flask
import httpx
import pytest
from click.testing import CliRunner
from werkzeug.serving import make_server

from sandbox.datagen import generate
from sandbox.stack import SandboxStack
from sync.serve import triggers
from sync.serve.cli.main import main
from sync.serve.receiver import MAX_BODY_BYTES, Receiver
from sync.state.hints import Hints
from sync.state.port import StateStore
from sync.teamleader.webhook_setup import new_token
from tests.harness import Harness
from tests.integration.test_runner import make_runner

APP = flask.Flask(__name__)


def post(receiver: Receiver, path: str, body: Any = None, *, method: str = "POST", raw: bytes | None = None) -> Any:
    data = raw if raw is not None else json.dumps(body).encode()
    with APP.test_request_context(path, method=method, data=data, content_type="application/json"):
        return receiver(flask.request)


def event(kind: str, teamleader_id: str) -> dict[str, Any]:
    subject = kind.split(".")[0]
    return {"type": kind, "subject": {"type": subject, "id": teamleader_id}, "account": {"id": "tl-account"}}


def api_calls(stack: SandboxStack) -> int:
    return len(stack.servers["teamleader"].log.calls("/")) + len(stack.servers["people"].log.calls("/"))


def test_the_receiver_takes_only_known_events_at_the_secret_address(
    stack: SandboxStack, any_state: StateStore, tmp_path: Path
) -> None:
    harness = Harness.create(stack, any_state, generate(20, 0, seed=70), tmp_path)
    token, digest = new_token()
    harness.account.webhook_token_sha256 = digest
    any_state.put_account(harness.account)
    triggered: list[str] = []
    receiver = Receiver(any_state, cap=3, trigger=triggered.append)
    contact = sorted(harness.expected_ids())[0]
    calls = api_calls(stack)

    assert post(receiver, f"/acme/{token}", method="GET").status_code == 405
    assert post(receiver, f"/nobody/{token}", event("contact.updated", contact)).status_code == 404
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert post(receiver, f"/acme/{forged}", event("contact.updated", contact)).status_code == 404
    assert post(receiver, "/acme", event("contact.updated", contact)).status_code == 404
    big = {**event("contact.updated", contact), "padding": "x" * MAX_BODY_BYTES}
    assert post(receiver, f"/acme/{token}", big).status_code == 413
    assert post(receiver, f"/acme/{token}", raw=b"{not json").status_code == 400
    assert post(receiver, f"/acme/{token}", [event("contact.updated", contact)]).status_code == 400
    assert post(receiver, f"/acme/{token}", event("deal.updated", contact)).status_code == 400
    assert post(receiver, f"/acme/{token}", event("contact.updated", "../../etc")).status_code == 400
    assert any_state.hints("acme") == Hints() and triggered == []
    assert api_calls(stack) == calls, "a refused request costs no API call"

    assert post(receiver, f"/acme/{token}", event("contact.updated", contact)).status_code == 202
    assert post(receiver, f"/acme/{token}", event("contact.updated", contact)).status_code == 202  # replayed
    assert post(receiver, f"/acme/{token}", event("company.updated", "c-1")).status_code == 202
    assert any_state.hints("acme") == Hints(frozenset({contact}), frozenset({"c-1"}))
    assert triggered == ["acme"] * 3
    # Past the cap, only the fact that there are too many is kept.
    for n in range(3):
        post(receiver, f"/acme/{token}", event("contact.added", f"new-{n}"))
    hints = any_state.hints("acme")
    assert len(hints) == 3 and hints.overflow
    any_state.clear_hints("acme", hints)
    assert any_state.hints("acme") == Hints()
    assert api_calls(stack) == calls


def test_a_webhook_brings_a_change_to_google_within_the_hour(
    stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path
) -> None:
    """An edited contact, a renamed company (under the link answer that moves nobody's
    updated_at) and a deleted contact reach Google in a targeted run of a few calls by id;
    the account's hourly turn stays where it was."""
    harness = Harness.create(stack, sqlite_state, generate(200, 15, seed=71), tmp_path)
    runner = make_runner(harness)
    assert runner.run(account="acme").status == "ok"
    before = sqlite_state.account("acme")
    assert before is not None
    token, digest = new_token()
    before.webhook_token_sha256 = digest
    sqlite_state.put_account(before)
    receiver = Receiver(sqlite_state, cap=100, trigger=lambda account: None)

    ids = sorted(harness.expected_ids())
    edited, gone = ids[0], ids[1]
    stack.clock.advance(30)
    stack.teamleader.edit_contact("acme", edited, last_name="Webhook")
    stack.teamleader.delete_contact("acme", gone)
    company = sorted(sqlite_state.all_companies("acme"), key=lambda c: -len(c.contacts))[0]
    stored = stack.teamleader.accounts["acme"].companies[company.company_id]
    stack.teamleader.put_company("acme", {**stored, "name": "Via Webhook NV"}, touch=False)
    for kind, teamleader_id in (
        ("contact.updated", edited),
        ("contact.deleted", gone),
        ("company.updated", company.company_id),
    ):
        assert post(receiver, f"/acme/{token}", event(kind, teamleader_id)).status_code == 202

    stack.servers["teamleader"].log.clear()
    stack.clock.advance(30)
    targeted = runner.run(account="acme", targeted=True)
    assert targeted.status == "ok"
    calls = stack.servers["teamleader"].log.calls("/")
    paths = sorted(c.path for c in calls if c.account == "acme")
    assert paths == ["/companies.info", "/contacts.list"], paths
    assert harness.person_of(edited)["names"][0]["familyName"] == "Webhook"
    assert gone not in harness.stamped_ids()
    reached = set(company.contacts) & harness.expected_ids()
    assert reached and all(
        "Via Webhook NV" in [o.get("name") for o in harness.person_of(t).get("organizations", [])] for t in reached
    )
    after = sqlite_state.account("acme")
    assert after is not None and after.last_run == before.last_run, "the hourly turn stays"
    assert sqlite_state.hints("acme") == Hints()
    # The ordinary run that follows finds nothing left to write.
    stack.clock.advance(3600)
    ordinary = harness.run()
    assert (ordinary.created, ordinary.updated, ordinary.deleted) == (0, 0, 0)


@pytest.mark.parametrize("hints", [600, "overflow"])
def test_too_many_hints_make_an_ordinary_run(
    stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path, hints: int | str
) -> None:
    harness = Harness.create(stack, sqlite_state, generate(50, 0, seed=72), tmp_path)
    runner = make_runner(harness)
    runner.run(account="acme")
    if hints == "overflow":
        for n in range(3):
            sqlite_state.add_hint("acme", "contact", f"id-{n}", cap=2)
    else:
        for n in range(int(hints)):
            sqlite_state.add_hint("acme", "contact", f"id-{n}", cap=10_000)
    stack.servers["teamleader"].log.clear()
    stack.clock.advance(60)
    assert runner.run(account="acme", targeted=True).status == "ok"
    # The listing read everything changed instead of hundreds of ids one page at a time.
    assert len(stack.servers["teamleader"].log.calls("/contacts.list")) <= 2
    assert sqlite_state.hints("acme") == Hints()


def test_hints_are_served_at_the_next_tick_and_by_a_trigger_in_this_process(
    stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path
) -> None:
    harness = Harness.create(stack, sqlite_state, generate(80, 0, seed=73), tmp_path)
    runner = make_runner(harness)
    assert runner.run(scheduled=True).accounts[0].status == "ok"
    first_turn = (sqlite_state.account("acme") or harness.account).last_run
    first, second = sorted(harness.expected_ids())[:2]
    # A hint whose trigger was lost: the scheduler's next tick serves it, not only its hour.
    stack.teamleader.edit_contact("acme", first, last_name="Tick")
    sqlite_state.add_hint("acme", "contact", first, cap=100)
    stack.clock.advance(300)
    (outcome,) = runner.run(scheduled=True).accounts
    assert outcome.status == "ok" and harness.person_of(first)["names"][0]["familyName"] == "Tick"
    assert (sqlite_state.account("acme") or harness.account).last_run == first_turn
    # A receiver in this process starts the targeted run itself.
    token, digest = new_token()
    harness.account = sqlite_state.account("acme") or harness.account
    harness.account.webhook_token_sha256 = digest
    sqlite_state.put_account(harness.account)
    receiver = Receiver(sqlite_state, cap=100, trigger=triggers.in_process(runner))
    stack.teamleader.edit_contact("acme", second, last_name="Trigger")
    assert post(receiver, f"/acme/{token}", event("contact.updated", second)).status_code == 202
    deadline = time.monotonic() + 20
    while harness.person_of(second)["names"][0]["familyName"] != "Trigger":
        assert time.monotonic() < deadline, "the triggered run never wrote the change"
        time.sleep(0.1)


def test_the_receiver_asks_the_private_sync_function_with_an_identity_token() -> None:
    """Over HTTP, the receiver hands the account to the sync function as one of its invokers
    and does not wait for the run."""
    seen: list[tuple[str, str | None]] = []

    class SyncFunction(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            seen.append((self.path, self.headers.get("Authorization")))
            if "slow" in self.path:
                time.sleep(5)  # a run going on: the receiver does not wait for it
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return

    server = HTTPServer(("127.0.0.1", 0), SyncFunction)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    address = f"http://127.0.0.1:{server.server_address[1]}/"
    audiences: list[str] = []

    def identity_token(audience: str) -> str:
        audiences.append(audience)
        return "id-token-for-the-sync-function"

    try:
        with httpx.Client() as http:
            trigger = triggers.over_http(address, identity_token, http)
            trigger("acme")
            started = time.monotonic()
            trigger("slow")
            assert time.monotonic() - started < triggers.HANDOFF_SECONDS + 1
    finally:
        server.shutdown()
    assert seen[0] == ("/?account=acme&targeted=1", "Bearer id-token-for-the-sync-function")
    assert audiences == [address, address]


def test_teamleader_delivers_and_the_change_reaches_google_or_waits_for_the_hour(
    stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path
) -> None:
    """Registered through the API, delivered by the sandbox over HTTP to the receiver served
    here: a change reaches Google in seconds; twice-delivered events are one hint; lost ones
    wait for the hourly run, which brings them all the same."""
    harness = Harness.create(stack, sqlite_state, generate(120, 10, seed=74), tmp_path)
    runner = make_runner(harness)
    assert runner.run(account="acme").status == "ok"
    receiver = Receiver(sqlite_state, cap=100, trigger=triggers.in_process(runner))
    app = flask.Flask("receiver")
    app.add_url_rule("/<path:rest>", "hook", lambda rest: receiver(flask.request), methods=["POST", "GET"])
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {
        **stack.sync_settings(tmp_path / "acme"),
        "SYNC_SQLITE_PATH": str(tmp_path / "state.sqlite3"),  # the sqlite_state fixture's file
        "SYNC_WEBHOOK_URL": f"http://127.0.0.1:{server.server_port}",
    }
    cli = CliRunner()
    try:
        registered = cli.invoke(main, ["webhooks", "register", "--account", "acme"], env=env)
        assert registered.exit_code == 0, registered.output
        assert "works" in cli.invoke(main, ["webhooks", "list", "--account", "acme"], env=env).output
        sender = stack.teamleader.webhooks
        first, second = sorted(harness.expected_ids())[:2]

        sender.faults.duplicated = 1.0
        stack.teamleader.edit_contact("acme", first, last_name="Geleverd")
        wait_for(lambda: harness.person_of(first)["names"][0]["familyName"] == "Geleverd")
        assert [d.payload["subject"]["id"] for d in sender.sent] == [first, first]

        sender.faults.duplicated, sender.faults.lost = 0.0, 1.0
        stack.teamleader.edit_contact("acme", second, last_name="Verloren")
        assert sender.idle() and sender.lost
        assert sqlite_state.hints("acme") == Hints()
        assert harness.person_of(second)["names"][0]["familyName"] != "Verloren"
        stack.clock.advance(3600)
        assert runner.run(scheduled=True).status == "ok"
        assert harness.person_of(second)["names"][0]["familyName"] == "Verloren"

        # Registering again repairs: one address, the new one; unregistering removes it, and so
        # does disabling the account.
        assert cli.invoke(main, ["webhooks", "register", "--account", "acme"], env=env).exit_code == 0
        assert len(sender.listed("acme")) == 1
        assert cli.invoke(main, ["webhooks", "unregister", "--account", "acme"], env=env).exit_code == 0
        assert sender.listed("acme") == []
        assert (sqlite_state.account("acme") or harness.account).webhook_token_sha256 is None
        assert cli.invoke(main, ["webhooks", "register", "--account", "acme"], env=env).exit_code == 0
        assert cli.invoke(main, ["accounts", "disable", "acme"], env=env).exit_code == 0
        assert sender.listed("acme") == []
        assert (sqlite_state.account("acme") or harness.account).webhook_token_sha256 is None
    finally:
        server.shutdown()


def wait_for(condition: Any, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not within the time"
        time.sleep(0.05)


def test_a_bulk_import_is_served_by_one_ordinary_run(
    stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path
) -> None:
    """800 contacts imported at once: 800 deliveries, 800 hints, and one ordinary run (a listing
    is cheaper than reading 800 ids) that creates them all and takes every hint."""
    harness = Harness.create(stack, sqlite_state, generate(50, 0, seed=76), tmp_path)
    runner = make_runner(harness)
    assert runner.run(account="acme").status == "ok"
    token, digest = new_token()
    harness.account.webhook_token_sha256 = digest
    sqlite_state.put_account(harness.account)
    triggered: list[str] = []
    receiver = Receiver(sqlite_state, cap=5000, trigger=triggered.append)
    app = flask.Flask("receiver")
    app.add_url_rule("/<path:rest>", "hook", lambda rest: receiver(flask.request), methods=["POST"])
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        sender = stack.teamleader.webhooks
        sender.register("acme", f"http://127.0.0.1:{server.server_port}/acme/{token}", ["contact.added"])
        stack.clock.advance(30)
        stack.teamleader.bulk_import("acme", generate(800, 0, seed=77).contacts)
        assert sender.idle(120)
    finally:
        server.shutdown()
    assert len(sqlite_state.hints("acme")) == 800 and len(triggered) == 800
    turn = (sqlite_state.account("acme") or harness.account).last_run
    stack.clock.advance(30)
    (outcome,) = runner.run(account="acme", targeted=True).accounts
    assert outcome.status == "ok"
    # An ordinary run (it takes the account's turn), not 800 ids read one page at a time.
    assert (sqlite_state.account("acme") or harness.account).last_run != turn
    assert sorted(harness.stamped_ids()) == sorted(harness.expected_ids())
    assert sqlite_state.hints("acme") == Hints()
