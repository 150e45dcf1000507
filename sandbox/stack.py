"""All three sandbox servers on one clock, with accounts seeded and ready to sync."""

from __future__ import annotations

import json
import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sandbox.clock import Clock
from sandbox.datagen import Dataset, load
from sandbox.httpserver import SandboxServer
from sandbox.people import PeopleSandbox
from sandbox.secretmanager import SecretManagerSandbox
from sandbox.teamleader import TeamleaderSandbox

TEAMLEADER_CLIENT = ("sandbox-teamleader-client", "sandbox-teamleader-secret")
GOOGLE_CLIENT = ("sandbox-google-client.apps.googleusercontent.com", "sandbox-google-secret")
# The service account a Workspace of the sandbox may delegate to (Terraform makes the real one).
DELEGATED_SERVICE_ACCOUNT = "tl-sync-delegate@sandbox-project.iam.gserviceaccount.com"
# The name both consent pages show for the product.
APP_NAME = "Teamleader Contacts Sync"
# Where the sync looks for the OAuth apps' clients and an account's tokens (its secret names).
CLIENT_SECRETS = {"teamleader-oauth-client": TEAMLEADER_CLIENT, "google-oauth-client": GOOGLE_CLIENT}
SECRETS_FILE = "secrets.json"


class SecretSink(Protocol):
    """Anything that stores named secrets as the sync reads them (a secrets file, Secret Manager)."""

    def write(self, name: str, value: str) -> None: ...


class _SecretsFile:
    """The sync's local secrets file: one JSON object, readable by its owner only."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, name: str, value: str) -> None:
        data = json.loads(self.path.read_text()) if self.path.exists() else {}
        data[name] = value
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.touch(mode=0o600)
        self.path.write_text(json.dumps(data, indent=2))


@dataclass
class SeededAccount:
    """What a person would have after connecting both sides: ids and refresh tokens."""

    account_id: str
    google_user: str
    teamleader_refresh_token: str
    google_refresh_token: str


@dataclass
class SandboxStack:
    """Running Teamleader, People and Secret Manager sandboxes sharing one clock."""

    clock: Clock
    teamleader: TeamleaderSandbox
    people: PeopleSandbox
    secretmanager: SecretManagerSandbox
    servers: dict[str, SandboxServer] = field(default_factory=dict)

    @classmethod
    def start(
        cls,
        *,
        ports: dict[str, int] | None = None,
        teamleader_options: dict[str, Any] | None = None,
        people_options: dict[str, Any] | None = None,
    ) -> SandboxStack:
        clock = Clock()
        stack = cls(
            clock,
            TeamleaderSandbox(clock, **(teamleader_options or {})),
            PeopleSandbox(clock, **(people_options or {})),
            SecretManagerSandbox(clock),
        )
        stack.teamleader.add_client(*TEAMLEADER_CLIENT, name=APP_NAME)
        stack.people.add_client(*GOOGLE_CLIENT, name=APP_NAME)
        stack.people.add_service_account(DELEGATED_SERVICE_ACCOUNT)
        ports = ports or {}
        for app in (stack.teamleader, stack.people, stack.secretmanager):
            stack.servers[app.name] = SandboxServer(app, port=ports.get(app.name, 0)).start()
        return stack

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()

    def serve_until_stopped(self) -> None:
        """Serve until SIGTERM or Ctrl-C (the command-line servers), then stop."""
        stopped = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stopped.set())
        try:
            stopped.wait()
        except KeyboardInterrupt:
            pass
        self.stop()

    def url(self, name: str) -> str:
        return self.servers[name].base_url

    def connect_account(
        self,
        account_id: str,
        data: Dataset,
        secrets: SecretSink | Path,
        *,
        google_user: str | None = None,
    ) -> SeededAccount:
        """Seed an account, and store what connecting both sides leaves in the secret store:
        both OAuth apps' client ids and secrets, and the account's refresh tokens, under the
        names the sync reads. `secrets` is a store, or a folder for the sync's secrets file."""
        sink = _SecretsFile(secrets / SECRETS_FILE) if isinstance(secrets, Path) else secrets
        seeded = self.seed_account(account_id, data, google_user=google_user)
        for name, (client_id, client_secret) in CLIENT_SECRETS.items():
            sink.write(name, json.dumps({"client_id": client_id, "client_secret": client_secret}))
        sink.write(f"{account_id}-teamleader-tokens", json.dumps({"refresh_token": seeded.teamleader_refresh_token}))
        sink.write(f"{account_id}-google-tokens", json.dumps({"refresh_token": seeded.google_refresh_token}))
        return seeded

    def sync_settings(self, directory: Path) -> dict[str, str]:
        """The SYNC_* settings with which the sync talks to this sandbox, keeping its secrets
        file and its SQLite state in `directory`."""
        return {
            "SYNC_TEAMLEADER_API_URL": self.url("teamleader"),
            "SYNC_TEAMLEADER_TOKEN_URL": self.url("teamleader") + "/oauth2/access_token",
            "SYNC_TEAMLEADER_AUTHORIZE_URL": self.url("teamleader") + "/oauth2/authorize",
            "SYNC_GOOGLE_API_URL": self.url("people"),
            "SYNC_GOOGLE_TOKEN_URI": self.url("people") + "/token",
            "SYNC_GOOGLE_AUTH_URI": self.url("people") + "/o/oauth2/auth",
            "SYNC_DELEGATION_SERVICE_ACCOUNT": DELEGATED_SERVICE_ACCOUNT,
            "SYNC_IAM_CREDENTIALS_URL": self.url("people"),
            "SYNC_DIRECTORY_API_URL": self.url("people"),
            "SYNC_SECRETS_FILE": str((directory / SECRETS_FILE).resolve()),
            "SYNC_SQLITE_PATH": str((directory / "state.sqlite3").resolve()),
        }

    def seed_account(self, account_id: str, data: Dataset, *, google_user: str | None = None) -> SeededAccount:
        """A Teamleader account holding `data` and an empty Google user, both connected."""
        google_user = google_user or f"{account_id}@sandbox.example"
        self.teamleader.add_account(account_id)
        load(self.teamleader, account_id, data)
        self.people.add_user(google_user)
        return SeededAccount(
            account_id,
            google_user,
            self.teamleader.issue_tokens(account_id)["refresh_token"],
            self.people.issue_refresh_token(google_user),
        )
