"""The secret stores, the consent flows and the CLI's account commands."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from google.auth.credentials import AnonymousCredentials
from google.cloud import secretmanager

from sandbox.datagen import generate
from sandbox.stack import GOOGLE_CLIENT, TEAMLEADER_CLIENT, SandboxStack
from sync.cli import main
from sync.config import Settings
from sync.connect import ConsentError, connect_google, connect_teamleader
from sync.secrets.localfile import LocalFileSecrets
from sync.secrets.port import GOOGLE_CLIENT_SECRET, TEAMLEADER_CLIENT_SECRET
from sync.secrets.secretmanager import SecretManagerSecrets
from tests.harness import sandbox_settings


def sm(stack: SandboxStack) -> SecretManagerSecrets:
    client = secretmanager.SecretManagerServiceClient(
        credentials=AnonymousCredentials(),
        transport="rest",
        client_options={"api_endpoint": stack.url("secretmanager")},
    )
    return SecretManagerSecrets(client, "demo")


def test_secret_manager_adds_versions_and_disables_the_old_ones(stack: SandboxStack) -> None:
    secrets = sm(stack)
    with pytest.raises(KeyError):
        secrets.read("acme-teamleader-tokens")
    secrets.write("acme-teamleader-tokens", "one")
    secrets.write("acme-teamleader-tokens", "two")
    stack.secretmanager.fail_add_version_next = 2  # a brief outage is retried
    secrets.write("acme-teamleader-tokens", "three")
    assert secrets.read("acme-teamleader-tokens") == "three"
    states = [v.state for v in stack.secretmanager.secrets["projects/demo/secrets/acme-teamleader-tokens"].versions]
    assert states == ["DISABLED", "DISABLED", "ENABLED"]


def test_local_secrets_file_is_private_and_atomic(tmp_path: Path) -> None:
    secrets = LocalFileSecrets(tmp_path / "s" / "secrets.json")
    secrets.write("a", "1")
    secrets.write("b", "2")
    assert (secrets.read("a"), secrets.read("b")) == ("1", "2")
    assert stat.S_IMODE(secrets.path.stat().st_mode) == 0o600
    assert not [p for p in secrets.path.parent.iterdir() if p.name.startswith(".secrets-")]
    with pytest.raises(KeyError):
        secrets.read("c")


def _follow(link: str) -> None:
    """What a person's browser does: open the consent page, which redirects back to us."""
    threading.Thread(target=lambda: httpx.get(link, follow_redirects=True, timeout=10)).start()


def _settings(stack: SandboxStack, path: Path) -> Settings:
    return sandbox_settings(stack, path.parent)


def test_consent_flows_store_working_tokens(stack: SandboxStack, tmp_path: Path) -> None:
    stack.seed_account("acme", generate(3, 0))
    secrets = LocalFileSecrets(tmp_path / "secrets.json")
    secrets.write(
        TEAMLEADER_CLIENT_SECRET, json.dumps({"client_id": TEAMLEADER_CLIENT[0], "client_secret": TEAMLEADER_CLIENT[1]})
    )
    secrets.write(GOOGLE_CLIENT_SECRET, json.dumps({"client_id": GOOGLE_CLIENT[0], "client_secret": GOOGLE_CLIENT[1]}))
    settings = _settings(stack, secrets.path)
    connect_teamleader(settings, secrets, "acme-teamleader-tokens", _follow)
    tokens = json.loads(secrets.read("acme-teamleader-tokens"))
    assert tokens["refresh_token"].startswith("tl-rt-")
    connect_google(settings, secrets, "acme-google-tokens", _follow)
    assert json.loads(secrets.read("acme-google-tokens"))["refresh_token"].startswith("g-rt-")


def test_refused_consent_is_a_clear_error(stack: SandboxStack, tmp_path: Path) -> None:
    stack.seed_account("acme", generate(3, 0))
    secrets = LocalFileSecrets(tmp_path / "secrets.json")
    secrets.write(
        TEAMLEADER_CLIENT_SECRET, json.dumps({"client_id": TEAMLEADER_CLIENT[0], "client_secret": TEAMLEADER_CLIENT[1]})
    )
    with pytest.raises(ConsentError, match="access_denied"):
        connect_teamleader(_settings(stack, secrets.path), secrets, "x", lambda link: _follow(link + "&sandbox_deny=1"))


def test_cli_accounts_connect_run_and_status(stack: SandboxStack, tmp_path: Path) -> None:
    data = generate(120, 0, seed=50)
    stack.seed_account("acme", data, google_user="acme@sandbox.example")
    env = stack.sync_settings(tmp_path)
    cli = CliRunner()
    assert cli.invoke(main, ["accounts", "add", "Bad Name"], env=env).exit_code != 0
    assert cli.invoke(main, ["accounts", "add", "acme", "--group", "Klanten"], env=env).exit_code == 0
    for side, client in (("teamleader", TEAMLEADER_CLIENT), ("google", GOOGLE_CLIENT)):
        result = _connect_with_browser(env, side, client)
        assert result.returncode == 0, result.stderr
        assert f"acme: {side} connected" in result.stdout
    listed = cli.invoke(main, ["accounts", "list"], env=env)
    assert "acme\tenabled\tok\tKlanten" in listed.output
    ran = cli.invoke(main, ["run", "--account", "acme"], env=env)
    assert ran.exit_code == 0, ran.output
    assert len(stack.people.members("acme@sandbox.example", "Klanten")) == len(data.eligible_ids())
    status = cli.invoke(main, ["status"], env=env)
    assert "acme" in status.output and "ok" in status.output
    assert cli.invoke(main, ["accounts", "disable", "acme"], env=env).exit_code == 0
    assert "disabled" in cli.invoke(main, ["accounts", "list"], env=env).output
    assert cli.invoke(main, ["run", "--account", "nobody"], env=env).exit_code != 0


def _connect_with_browser(env: dict[str, str], side: str, client: tuple[str, str]) -> subprocess.CompletedProcess[str]:
    """Run `python -m sync connect` as a person would, and be their browser on its link."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sync",
            "connect",
            side,
            "--account",
            "acme",
            "--client-id",
            client[0],
            "--client-secret",
            client[1],
        ],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    for line in process.stderr:
        if line.startswith("http://"):
            httpx.get(line.strip(), follow_redirects=True, timeout=10)
            break
    out, err = process.communicate(timeout=60)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)
