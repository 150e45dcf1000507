"""The secret stores, the consent flows and the CLI's account commands."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from google.auth.credentials import AnonymousCredentials
from google.cloud import secretmanager

from sandbox.datagen import generate
from sandbox.stack import GOOGLE_CLIENT, TEAMLEADER_CLIENT, SandboxStack
from sync.config import Settings
from sync.secrets.localfile import LocalFileSecrets
from sync.secrets.secretmanager import SecretManagerSecrets
from sync.serve.cli.main import main
from sync.serve.consent import ConsentError, connect_google, connect_teamleader
from sync.state.connections import MAX_DESTINATIONS, AccountRecord, new_destination
from sync.state.sqlite import SqliteState
from sync.teamleader.webhook_setup import token_digest
from tests.harness import oauth_client_secrets, sandbox_settings


def sm(stack: SandboxStack) -> SecretManagerSecrets:
    client = secretmanager.SecretManagerServiceClient(
        credentials=AnonymousCredentials(),
        transport="rest",
        client_options={"api_endpoint": stack.url("secretmanager")},
    )
    return SecretManagerSecrets(client, "demo")


def test_secret_manager_keeps_the_newest_version_once_it_reads_back(stack: SandboxStack) -> None:
    secrets = sm(stack)
    with pytest.raises(KeyError):
        secrets.read("acme-teamleader-tokens")
    secrets.write("acme-teamleader-tokens", "one")
    secrets.write("acme-teamleader-tokens", "two")
    stack.secretmanager.fail_add_version_next = 2  # a brief outage is retried
    secrets.write("acme-teamleader-tokens", "three")
    assert secrets.read("acme-teamleader-tokens") == "three"
    versions = stack.secretmanager.secrets["projects/demo/secrets/acme-teamleader-tokens"].versions
    assert [v.state for v in versions] == ["DESTROYED", "DESTROYED", "ENABLED"]


def test_an_older_version_is_kept_until_the_new_one_reads_back(stack: SandboxStack) -> None:
    """A new Google token whose version cannot be read back yet: the one before (still valid:
    Google's refresh tokens do not rotate) is not destroyed, and the next write tidies up."""
    secrets = sm(stack)
    secrets.write("acme-google-tokens", "before")
    stack.secretmanager.fail_access_next = 4  # every attempt of the read-back
    secrets.write("acme-google-tokens", "after")
    versions = stack.secretmanager.secrets["projects/demo/secrets/acme-google-tokens"].versions
    assert [v.state for v in versions] == ["ENABLED", "ENABLED"]
    assert secrets.read("acme-google-tokens") == "after"
    secrets.write("acme-google-tokens", "again")
    assert [v.state for v in versions] == ["DESTROYED", "DESTROYED", "ENABLED"]


def test_a_hundred_rotations_leave_one_billed_version(stack: SandboxStack) -> None:
    """Teamleader's refresh token rotates at every hourly run: without destroying superseded
    versions, each would stay billed ($0.06 a month) for good."""
    secrets = sm(stack)
    for rotation in range(100):
        secrets.write("acme-teamleader-tokens", f"refresh-{rotation}")
    versions = stack.secretmanager.secrets["projects/demo/secrets/acme-teamleader-tokens"].versions
    billed = [v for v in versions if v.state != "DESTROYED"]
    assert [v.state for v in billed] == ["ENABLED"]
    assert secrets.read("acme-teamleader-tokens") == "refresh-99"


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
    secrets = oauth_client_secrets(tmp_path / "secrets.json")
    settings = _settings(stack, secrets.path)
    connect_teamleader(settings, secrets, "acme-teamleader-tokens", _follow)
    tokens = json.loads(secrets.read("acme-teamleader-tokens"))
    assert tokens["refresh_token"].startswith("tl-rt-")
    connect_google(settings, secrets, "acme-google-tokens", _follow)
    assert json.loads(secrets.read("acme-google-tokens"))["refresh_token"].startswith("g-rt-")


def test_refused_consent_is_a_clear_error(stack: SandboxStack, tmp_path: Path) -> None:
    stack.seed_account("acme", generate(3, 0))
    secrets = oauth_client_secrets(tmp_path / "secrets.json")
    with pytest.raises(ConsentError, match="access_denied"):
        connect_teamleader(_settings(stack, secrets.path), secrets, "x", lambda link: _follow(link + "&sandbox_deny=1"))


@pytest.mark.parametrize("redirect_mismatch", ["error_page", "error_redirect"])
def test_an_unregistered_redirect_says_what_to_register(
    stack: SandboxStack, tmp_path: Path, redirect_mismatch: str
) -> None:
    """Teamleader accepts only a registered redirect URI, and may answer another one with an
    error page that never comes back or with an OAuth error: either way the person is told
    exactly which address to register."""
    stack.seed_account("acme", generate(3, 0))
    stack.teamleader.redirect_uris = {"http://127.0.0.1:8765/"}
    stack.teamleader.redirect_mismatch = redirect_mismatch
    secrets = oauth_client_secrets(tmp_path / "secrets.json")
    with pytest.raises(ConsentError, match=r"register exactly http://127\.0\.0\.1:\d+/ as a redirect URL") as refused:
        connect_teamleader(_settings(stack, secrets.path), secrets, "x", _follow, port=0, timeout=2)
    assert "8765" not in str(refused.value)  # the address it listened on, not the one registered
    with pytest.raises(KeyError):
        secrets.read("x")


def test_client_secrets_come_from_a_file_or_a_prompt_never_the_command_line(tmp_path: Path) -> None:
    cli = CliRunner()
    env = {"SYNC_SQLITE_PATH": str(tmp_path / "s.sqlite3"), "SYNC_SECRETS_FILE": str(tmp_path / "secrets.json")}
    assert cli.invoke(main, ["accounts", "add", "acme"], env=env).exit_code == 0
    # When it was added: a connection that never runs is overdue from then (sync/serve/runner/heartbeat.py).
    record = SqliteState(env["SYNC_SQLITE_PATH"]).account("acme")
    assert record is not None and record.added_at and datetime.fromisoformat(record.added_at).tzinfo
    on_the_line = cli.invoke(main, ["connect", "google", "--account", "acme", "--client-secret", "s3cret"], env=env)
    assert on_the_line.exit_code == 2 and "No such option" in on_the_line.output
    empty = cli.invoke(main, ["connect", "google", "--account", "acme", "--client-id", "id"], env=env, input="\n")
    assert empty.exit_code == 2 and "no client secret" in empty.output
    broken = tmp_path / "client.json"
    broken.write_text('{"installed": {"client_id": "id"}}')
    unreadable = cli.invoke(main, ["connect", "google", "--account", "acme", "--client-file", str(broken)], env=env)
    assert unreadable.exit_code == 2 and "no client_id and client_secret" in unreadable.output


def test_cli_accounts_connect_run_and_status(stack: SandboxStack, tmp_path: Path) -> None:
    data = generate(120, 0, seed=50)
    stack.seed_account("acme", data, google_user="acme@sandbox.example")
    env = stack.sync_settings(tmp_path)
    cli = CliRunner()
    assert cli.invoke(main, ["accounts", "add", "Bad Name"], env=env).exit_code != 0
    assert cli.invoke(main, ["accounts", "add", "acme", "--group", "Klanten"], env=env).exit_code == 0
    # By default `connect teamleader` listens where the README says to register the redirect,
    # and with a receiver configured it registers the account's webhook.
    stack.teamleader.redirect_uris = {"http://127.0.0.1:8765/"}
    env = {**env, "SYNC_WEBHOOK_URL": "https://hooks.example.com"}
    for side, client in (("teamleader", TEAMLEADER_CLIENT), ("google", GOOGLE_CLIENT)):
        result = _connect_with_browser(env, side, client, tmp_path)
        assert result.returncode == 0, result.stderr
        assert f"acme: {side} connected" in result.stdout
    # The consent is named in the record: a warm instance reads the new tokens, whoever gave it.
    connected = SqliteState(env["SYNC_SQLITE_PATH"]).account("acme")
    assert connected is not None and connected.targets[0].google_consent
    listed = cli.invoke(main, ["accounts", "list"], env=env)
    assert "acme\tdefault\tenabled\tok\tKlanten" in listed.output
    (hook,) = stack.teamleader.webhooks.listed("acme")
    assert hook["url"].startswith("https://hooks.example.com/acme/") and len(hook["types"]) == 9
    ran = cli.invoke(main, ["run", "--account", "acme"], env=env)
    assert ran.exit_code == 0, ran.output
    assert len(stack.people.members("acme@sandbox.example", "Klanten")) == len(data.eligible_ids())
    status = cli.invoke(main, ["status"], env=env)
    assert "acme" in status.output and "ok" in status.output

    # A team member: their own group and scope, connected with their own consent, served by
    # the same Teamleader connection.
    stack.people.add_user("bob@sandbox.example")
    for teamleader_id in sorted(data.eligible_ids())[:7]:
        stack.teamleader.edit_contact("acme", teamleader_id, tags=["vip"])
    contacts = stack.teamleader.accounts["acme"].contacts
    vip = [t for t in data.eligible_ids() if "vip" in {tag.casefold() for tag in contacts[t]["tags"]}]
    added = cli.invoke(main, ["accounts", "add", "acme", "--user", "bob@sandbox.example", "--tags", "vip"], env=env)
    assert added.exit_code == 0, added.output
    bob = _connect_with_browser(env, "google", GOOGLE_CLIENT, tmp_path, ["--user", "bob@sandbox.example"])
    assert bob.returncode == 0 and "acme: google connected for that user" in bob.stdout, bob.stderr
    assert (
        "acme\tbob@sandbox.example\tenabled\tok\tTeamleader\tvip"
        in cli.invoke(main, ["accounts", "list"], env=env).output
    )
    ran = cli.invoke(main, ["run", "--account", "acme"], env=env)
    assert ran.exit_code == 0, ran.output
    assert len(stack.people.members("bob@sandbox.example", "Teamleader")) == len(vip)
    assert "bob@sandbox.example" in cli.invoke(main, ["status"], env=env).output
    # Another connection may write to bob too, in a group of its own only.
    assert cli.invoke(main, ["accounts", "add", "globex", "--user", "bob@sandbox.example"], env=env).exit_code != 0
    assert (
        cli.invoke(
            main, ["accounts", "add", "globex", "--user", "BOB@sandbox.example", "--group", "Globex"], env=env
        ).exit_code
        == 0
    )
    assert cli.invoke(main, ["accounts", "disable", "acme"], env=env).exit_code == 0
    assert "disabled" in cli.invoke(main, ["accounts", "list"], env=env).output
    assert cli.invoke(main, ["run", "--account", "nobody"], env=env).exit_code != 0


def _connect_with_browser(
    env: dict[str, str], side: str, client: tuple[str, str], tmp: Path, extra: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `python -m sync connect` as a person would, and be their browser on its link. The
    client secret never goes on the command line: Teamleader's is typed in (standard input),
    Google's comes in the JSON file its console downloads."""
    typed = tmp / "typed.txt"
    typed.write_text(client[1] + "\n" if side == "teamleader" else "")
    if side == "teamleader":
        client_args = ["--client-id", client[0]]
    else:
        downloaded = tmp / "client_secret.json"
        downloaded.write_text(json.dumps({"installed": {"client_id": client[0], "client_secret": client[1]}}))
        client_args = ["--client-file", str(downloaded)]
    with typed.open() as stdin:
        process = subprocess.Popen(
            [sys.executable, "-m", "sync", "connect", side, "--account", "acme", *client_args, *(extra or [])],
            env={**os.environ, **env},
            stdin=stdin,
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
    assert isinstance(process.args, list) and client[1] not in " ".join(map(str, process.args))
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def test_a_deployments_secret_prefix_names_every_secret_of_new_accounts(stack: SandboxStack, tmp_path: Path) -> None:
    """The deployment's runtime may reach only secrets named with its prefix (an IAM
    condition): accounts registered with SYNC_SECRET_PREFIX get token secrets inside it, and
    the OAuth clients' secrets carry it too, so two deployments can share a project."""
    data = generate(20, 0, seed=63)
    stack.seed_account("acme", data, google_user="acme@sandbox.example")
    env = {**stack.sync_settings(tmp_path), "SYNC_SECRET_PREFIX": "tl-sync-"}
    cli = CliRunner()
    reserved = cli.invoke(main, ["accounts", "add", "google-oauth-client-x"], env=env)
    assert reserved.exit_code == 2 and "OAuth clients' secrets" in reserved.output
    assert cli.invoke(main, ["accounts", "add", "acme"], env=env).exit_code == 0
    record = SqliteState(env["SYNC_SQLITE_PATH"]).account("acme")
    assert record is not None
    assert (record.teamleader_secret, record.targets[0].google_secret) == (
        "tl-sync-acme-teamleader-tokens",
        "tl-sync-acme-google-tokens",
    )
    for side, client in (("teamleader", TEAMLEADER_CLIENT), ("google", GOOGLE_CLIENT)):
        result = _connect_with_browser(env, side, client, tmp_path)
        assert result.returncode == 0, result.stderr
    secrets = LocalFileSecrets(Path(env["SYNC_SECRETS_FILE"]))
    for name in ("tl-sync-teamleader-oauth-client", "tl-sync-google-oauth-client", record.teamleader_secret):
        assert secrets.read(name)
    ran = cli.invoke(main, ["run", "--account", "acme"], env=env)
    assert ran.exit_code == 0, ran.output
    assert len(stack.people.members("acme@sandbox.example", "Teamleader")) == len(data.eligible_ids())


def test_a_connection_serves_at_most_its_share_of_google_users(tmp_path: Path) -> None:
    """A company change is committed with every user's bookmark in one write, which Firestore
    bounds: past MAX_DESTINATIONS users, `accounts add` refuses another."""
    env = {"SYNC_SQLITE_PATH": str(tmp_path / "s.sqlite3"), "SYNC_SECRETS_FILE": str(tmp_path / "secrets.json")}
    state = SqliteState(env["SYNC_SQLITE_PATH"])
    record = AccountRecord("acme", destinations=[])
    record.targets.extend(new_destination("acme", f"user{n}@example.com") for n in range(MAX_DESTINATIONS - 1))
    state.put_account(record)
    cli = CliRunner()
    assert cli.invoke(main, ["accounts", "add", "acme", "--user", "last@example.com"], env=env).exit_code == 0
    refused = cli.invoke(main, ["accounts", "add", "acme", "--user", "one-more@example.com"], env=env)
    assert refused.exit_code != 0 and f"{MAX_DESTINATIONS} Google users already" in refused.output
    # A user already served can still be changed.
    again = cli.invoke(main, ["accounts", "add", "acme", "--user", "last@example.com", "--tags", "vip"], env=env)
    assert again.exit_code == 0


def test_a_webhook_address_carries_a_secret_of_which_only_a_digest_is_stored(tmp_path: Path) -> None:
    env = {"SYNC_SQLITE_PATH": str(tmp_path / "s.sqlite3"), "SYNC_SECRETS_FILE": str(tmp_path / "secrets.json")}
    cli = CliRunner()
    assert cli.invoke(main, ["accounts", "add", "acme"], env=env).exit_code == 0
    unset = cli.invoke(main, ["webhooks", "address", "--account", "acme"], env=env)
    assert unset.exit_code != 0 and "SYNC_WEBHOOK_URL" in unset.output
    env["SYNC_WEBHOOK_URL"] = "https://hooks.example.com"
    first = cli.invoke(main, ["webhooks", "address", "--account", "acme"], env=env).output.strip()
    prefix = "https://hooks.example.com/acme/"
    assert first.startswith(prefix) and len(first) - len(prefix) == 43  # 256 bits, URL-safe base64
    record = SqliteState(env["SYNC_SQLITE_PATH"]).account("acme")
    assert record is not None and record.webhook_token_sha256 == token_digest(first.removeprefix(prefix))
    assert first.removeprefix(prefix) not in json.dumps(record.to_json())
    second = cli.invoke(main, ["webhooks", "address", "--account", "acme"], env=env).output.strip()
    assert second != first, "a new address replaces the old one"
