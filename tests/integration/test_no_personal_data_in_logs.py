"""No token, e-mail address or phone number in the logs, even when the failures themselves
carry them: each API and the state store are made to fail with exception texts that quote
personal data and secrets, and the logs of the Cloud Function and of the CLI (at DEBUG, so
every level is seen) are searched for every form those data take."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import phonenumbers

from sandbox.datagen import Dataset, generate
from sandbox.httpserver import Request, Response, SandboxServer
from sandbox.stack import GOOGLE_CLIENT, TEAMLEADER_CLIENT, SandboxStack
from sync.mapping import format_phone, region_of
from sync.secrets.localfile import LocalFileSecrets
from sync.state.connections import AccountRecord, new_destination
from sync.state.idmap import Checkpoint
from sync.state.sqlite import SqliteState
from tests.harness import sandbox_env, sandbox_settings
from tests.integration.conftest import Deployment, fire

# Every token either sandbox issues starts with one of these: rotated ones too, which live
# only in the sync's memory and in the secret store.
TOKEN = re.compile(r"(tl-at-|tl-rt-|g-at-|g-rt-)[A-Za-z0-9_-]{8,}")
Answer = Callable[[Request, Callable[[Request], Response]], Response]


def intercept(server: SandboxServer, path: str, answer: Answer) -> None:
    """Answer requests to `path` through `answer`, which may call the real server."""
    original = server.dispatch

    def dispatch(request: Request) -> Response:
        return answer(request, original) if request.path == path else original(request)

    server.dispatch = dispatch  # type: ignore[method-assign]


def phone_forms(number: str, region: str | None) -> set[str]:
    """A number as typed, as sent to Google, and in E.164 and bare digits."""
    forms = {number, number.strip(), format_phone(number, region)}
    try:
        parsed = phonenumbers.parse(number, region or "BE")
        forms.add(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))
        forms.add(str(parsed.national_number))
    except phonenumbers.NumberParseException:
        pass
    return {f for f in forms if len(re.sub(r"\D", "", f)) >= 6}


def personal_data(datasets: Iterable[Dataset]) -> set[str]:
    found: set[str] = set()
    for data in datasets:
        for record in [*data.contacts, *data.companies]:
            found.update(e["email"] for e in record.get("emails") or [] if e.get("email"))
            for phone in record.get("telephones") or []:
                found |= phone_forms(phone["number"], region_of(record))
    return found


def leaks(text: str, datasets: Iterable[Dataset]) -> list[str]:
    found = [m.group(0) for m in TOKEN.finditer(text)]
    found += [secret for secret in (TEAMLEADER_CLIENT[1], GOOGLE_CLIENT[1]) if secret in text]
    return found + [item for item in personal_data(datasets) if item in text]


def reachable(data: Dataset) -> dict[str, Any]:
    """A contact with an e-mail address and a phone number."""
    return next(c for c in data.contacts if c["emails"] and c["telephones"])


def provoke_failures_quoting_personal_data(stack: SandboxStack, data: dict[str, Dataset]) -> None:
    """alpha: Teamleader refuses a listing, quoting a contact; beta (revoked): the token
    endpoint refuses, quoting the token and an address in its error code; gamma: Google's token endpoint fails
    once quoting the token, then Google refuses the batch create, quoting a person."""
    alpha, gamma = reachable(data["alpha"]), reachable(data["gamma"])
    quoted = f"{alpha['emails']} {alpha['telephones']}"

    def teamleader_list(request: Request, real: Callable[[Request], Response]) -> Response:
        if stack.teamleader.account_of_token(request.bearer() or "") == "alpha":
            return Response(400, {"errors": [{"code": 400, "status": 400, "title": f"bad filter for {quoted}"}]})
        return real(request)

    def teamleader_token(request: Request, real: Callable[[Request], Response]) -> Response:
        answer = real(request)
        if answer.status == 400:
            form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
            # Beyond the standard: the detail in the error code itself.
            answer.body["error"] = f"invalid_grant: token {form.get('refresh_token')} of {quoted} was revoked"
        return answer

    failed_once: set[str] = set()

    def google_token(request: Request, real: Callable[[Request], Response]) -> Response:
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        token = form.get("refresh_token", "")
        if token and stack.people._refresh_tokens.get(token) == "gamma@sandbox.example" and token not in failed_once:
            failed_once.add(token)
            return Response(503, {"error": "backend_error", "error_description": f"{token} {quoted}"})
        return real(request)

    def google_create(request: Request, real: Callable[[Request], Response]) -> Response:
        if stack.people.account_of_token(request.bearer() or "") == "gamma@sandbox.example":
            message = f"Not allowed for {gamma['emails']} {gamma['telephones']} {request.bearer()}"
            return Response(403, {"error": {"code": 403, "message": message, "status": "PERMISSION_DENIED"}})
        return real(request)

    intercept(stack.servers["teamleader"], "/contacts.list", teamleader_list)
    intercept(stack.servers["teamleader"], "/oauth2/access_token", teamleader_token)
    intercept(stack.servers["people"], "/token", google_token)
    intercept(stack.servers["people"], "/v1/people:batchCreateContacts", google_create)


def test_the_function_logs_no_personal_data_whatever_fails(stack: SandboxStack, deployment: Deployment) -> None:
    provoke_failures_quoting_personal_data(stack, deployment.data)
    answers = [fire(deployment)]
    body = answers[0].json()
    assert {a["account"]: a["status"] for a in body["accounts"]} == {
        "alpha": "failed",
        "beta": "needs_reauth",
        "gamma": "failed",
    }
    # The state store fails too, quoting an address: a cursor that is not a time.
    email = reachable(deployment.data["alpha"])["emails"][0]["email"]
    deployment.state.commit("alpha", Checkpoint(cursor={"contacts": email}))
    answers.append(fire(deployment, "?account=alpha"))
    assert answers[1].json()["accounts"][0]["status"] == "failed"

    logs = deployment.log_path.read_text()
    lines = [json.loads(line) for line in logs.splitlines() if line.startswith("{")]
    failures = [line for line in lines if line.get("error_type")]
    # Every failure was logged, and an operator can tell where it happened.
    assert {line["account"] for line in failures} >= {"alpha", "gamma"}
    assert all(line["frames"] and all(re.search(r":\d+ in ", f) for f in line["frames"]) for line in failures)
    assert any(line["severity"] == "DEBUG" or line["severity"] == "INFO" for line in lines)
    assert leaks(logs, deployment.data.values()) == []
    assert leaks("".join(a.text for a in answers), deployment.data.values()) == []
    for account in ("alpha", "beta", "gamma"):
        record = deployment.state.account(account)
        report = deployment.state.last_report(account)
        stored = json.dumps([record.to_json() if record else None, report])
        assert leaks(stored, deployment.data.values()) == []


def test_the_cli_logs_no_personal_data_whatever_fails(stack: SandboxStack, tmp_path: Path) -> None:
    state = SqliteState(tmp_path / "state.sqlite3")
    data: dict[str, Dataset] = {}
    for n, account in enumerate(("alpha", "beta", "gamma")):
        data[account] = generate(120, 10, seed=60 + n)
        stack.connect_account(account, data[account], tmp_path)
        state.put_account(AccountRecord(account))
    stack.teamleader.revoke("beta")
    provoke_failures_quoting_personal_data(stack, data)
    env = {**sandbox_env(stack, tmp_path), "SYNC_LOG_LEVEL": "DEBUG"}
    command = [sys.executable, "-m", "sync", "run"]
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    email = reachable(data["alpha"])["emails"][0]["email"]
    state.commit("alpha", Checkpoint(cursor={"contacts": email}))
    second = subprocess.run([*command, "--account", "alpha"], env=env, capture_output=True, text=True, timeout=300)
    status = subprocess.run([sys.executable, "-m", "sync", "status"], env=env, capture_output=True, text=True)
    output = "".join(p.stdout + p.stderr for p in (first, second, status))
    assert "alpha: failed: TeamleaderError 400" in first.stdout
    assert "beta: needs_reauth: Teamleader refused the refresh token (refused)" in first.stdout
    assert "gamma: failed: GoogleError 403" in first.stdout
    assert "alpha: failed: ValueError" in second.stdout
    errors = [json.loads(line) for line in output.splitlines() if line.startswith("{") and "error_type" in line]
    assert {e["account"] for e in errors} == {"alpha", "gamma"}
    assert leaks(output, data.values()) == []


def test_a_removal_logs_no_address_whatever_google_answers(stack: SandboxStack, tmp_path: Path) -> None:
    """A departed person's copy removed by the CLI's run, Google refusing one person with a
    message quoting a contact and the token: the logs name the destination by its hash."""
    state = SqliteState(tmp_path / "state.sqlite3")
    data = generate(80, 5, seed=67)
    stack.connect_account("alpha", data, tmp_path)
    address = "ann@acme.example"
    stack.people.add_user(address)
    destination = new_destination("alpha", address)
    secrets = LocalFileSecrets(sandbox_settings(stack, tmp_path).secrets_file)
    secrets.write(destination.google_secret, json.dumps({"refresh_token": stack.people.issue_refresh_token(address)}))
    state.put_account(AccountRecord("alpha", destinations=[destination]))
    env = {**sandbox_env(stack, tmp_path), "SYNC_LOG_LEVEL": "DEBUG"}
    command = [sys.executable, "-m", "sync", "run"]
    assert subprocess.run(command, env=env, capture_output=True, text=True, timeout=300).returncode == 0
    record = state.account("alpha")
    assert record is not None
    record.targets[0].leave("left the team", datetime.fromtimestamp(time.time() - 25 * 3600, UTC).isoformat())
    state.put_account(record)
    quoted = reachable(data)

    def google_delete(request: Request, real: Callable[[Request], Response]) -> Response:
        first = request.json()["resourceNames"][0]
        message = f"Not allowed for {quoted['emails']} {quoted['telephones']} {request.bearer()} {address}"
        detail = {"contactErrors": {first: {"code": 7, "status": "PERMISSION_DENIED", "message": message}}}
        return Response(
            400, {"error": {"code": 400, "message": message, "status": "INVALID_ARGUMENT", "details": [detail]}}
        )

    intercept(stack.servers["people"], "/v1/people:batchDeleteContacts", google_delete)
    removal = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert f"alpha → {destination.name}: removing, 0 contacts (Google refused to delete" in removal.stdout
    lines = [json.loads(line) for line in removal.stderr.splitlines() if line.startswith("{")]
    assert [(line["destination"], line["counts"]) for line in lines if line["message"] == "removal not finished"] == [
        (destination.name, {"removed": 0})
    ]
    assert leaks(removal.stdout + removal.stderr, [data]) == [] and address not in removal.stderr
    stored = state.account("alpha")
    assert stored is not None and leaks(json.dumps(stored.to_json()), [data]) == []
