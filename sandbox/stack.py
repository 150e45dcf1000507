"""All three sandbox servers on one clock, with accounts seeded and ready to sync."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sandbox.clock import Clock
from sandbox.datagen import Dataset, load
from sandbox.httpserver import SandboxServer
from sandbox.people import PeopleSandbox
from sandbox.secretmanager import SecretManagerSandbox
from sandbox.teamleader import TeamleaderSandbox

TEAMLEADER_CLIENT = ("sandbox-teamleader-client", "sandbox-teamleader-secret")
GOOGLE_CLIENT = ("sandbox-google-client.apps.googleusercontent.com", "sandbox-google-secret")


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
        stack.teamleader.add_client(*TEAMLEADER_CLIENT)
        stack.people.add_client(*GOOGLE_CLIENT)
        ports = ports or {}
        for app in (stack.teamleader, stack.people, stack.secretmanager):
            stack.servers[app.name] = SandboxServer(app, port=ports.get(app.name, 0)).start()
        return stack

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()

    def url(self, name: str) -> str:
        return self.servers[name].base_url

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
