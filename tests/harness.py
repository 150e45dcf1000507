"""Wires the product's real clients and engine to the sandbox, as the CLI does."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from google.oauth2.credentials import Credentials

from sandbox.datagen import Dataset
from sandbox.stack import CLIENT_SECRETS, GOOGLE_CLIENT, SandboxStack, SeededAccount
from sync.config import Settings, settings_from
from sync.engine import ConnectionReport, EngineOptions, RunReport
from sync.mapping import CLIENT_DATA_KEY
from sync.progress import ProgressSink
from sync.secrets.localfile import LocalFileSecrets
from sync.serve.wiring import run_connection
from sync.state.connections import AccountRecord, DestinationRecord, new_destination
from sync.state.port import StateStore


@dataclass
class Harness:
    """One seeded account, its secrets file and settings pointing at the sandbox."""

    stack: SandboxStack
    state: StateStore
    seeded: SeededAccount
    settings: Settings
    secrets: LocalFileSecrets
    account: AccountRecord
    reports: list[RunReport] = field(default_factory=list)

    @classmethod
    def create(
        cls, stack: SandboxStack, state: StateStore, data: Dataset, tmp: Path, account_id: str = "acme"
    ) -> Harness:
        directory = tmp / account_id
        seeded = stack.connect_account(account_id, data, directory)
        record = AccountRecord(account_id)
        state.put_account(record)
        settings = sandbox_settings(stack, directory)
        return cls(stack, state, seeded, settings, LocalFileSecrets(settings.secrets_file), record)

    def add_destination(self, user: str, **fields: Any) -> DestinationRecord:
        """A Google user of the team, connected (their refresh token stored) and registered
        as a destination of the account with `fields` (group_name, tags, ...)."""
        if user not in self.stack.people.users:
            self.stack.people.add_user(user)
        destination = new_destination(self.account.account_id, user)
        for name, value in fields.items():
            setattr(destination, name, value)
        token = self.stack.people.issue_refresh_token(user)
        self.secrets.write(destination.google_secret, json.dumps({"refresh_token": token}))
        # As stored: runs since may have changed the destinations' standing.
        self.account = self.state.account(self.account.account_id) or self.account
        self.account.targets.append(destination)
        self.state.put_account(self.account)
        return destination

    def add_delegated(self, user: str, **fields: Any) -> DestinationRecord:
        """A Workspace user of the team, reached through the domain-wide delegation (no consent,
        no secret), registered as a destination of the account."""
        if user not in self.stack.people.users:
            self.stack.people.add_user(user)
        destination = new_destination(self.account.account_id, user)
        destination.delegated = True
        for name, value in fields.items():
            setattr(destination, name, value)
        self.account = self.state.account(self.account.account_id) or self.account
        self.account.targets.append(destination)
        self.state.put_account(self.account)
        return destination

    @property
    def destination(self) -> DestinationRecord:
        """The account's first destination (the default one, unless a test replaced it)."""
        return self.account.targets[0]

    def run_all(self, progress: ProgressSink | None = None, **options: Any) -> ConnectionReport:
        """One run of the connection for all its destinations, as the runner makes it."""
        options.setdefault("create_visibility_delay", 0)
        return run_connection(
            self.settings,
            self.account,
            state=self.state,
            secrets=self.secrets,
            options=EngineOptions(**options),
            clock=self.stack.clock.now,
            sleep=self.stack.clock.advance,
            progress=progress,
        )

    def run(self, **options: Any) -> RunReport:
        """One run; the first destination's report, or the error that stopped it."""
        connection = self.run_all(**options)
        report = connection.destination(self.destination.name)
        if (error := connection.errors.get(self.destination.name)) is not None:
            raise error
        self.reports.append(report)
        return report

    # ---- what Google holds ----

    def group_members(self) -> list[Any]:
        return self.stack.people.members(self.seeded.google_user, self.destination.group_name)

    def stamped_ids(self) -> list[str]:
        """The Teamleader id of every live person in the group (duplicates show twice)."""
        ids = []
        for person in self.group_members():
            for item in person.fields.get("clientData", []):
                if item["key"] == CLIENT_DATA_KEY:
                    ids.append(item["value"])
        return ids

    def all_stamped_ids(self) -> list[str]:
        """Every live person of the user that carries a Teamleader id, in or out of the group."""
        user = self.stack.people.users[self.seeded.google_user]
        return [
            item["value"]
            for p in user.people.values()
            if p.deleted_at is None
            for item in p.fields.get("clientData", [])
            if item["key"] == CLIENT_DATA_KEY
        ]

    def person_of(self, teamleader_id: str) -> dict[str, Any]:
        matches = [
            p.fields
            for p in self.group_members()
            if {"key": CLIENT_DATA_KEY, "value": teamleader_id} in p.fields.get("clientData", [])
        ]
        assert len(matches) == 1, f"{len(matches)} persons for {teamleader_id}"
        found: dict[str, Any] = matches[0]
        return found

    def expected_ids(self) -> set[str]:
        """Eligible contacts as Teamleader holds them now (Teamleader's own rule)."""
        contacts = self.stack.teamleader.accounts[self.account.account_id].contacts.values()
        return Dataset(contacts=[c for c in contacts]).eligible_ids()


def sandbox_settings(stack: SandboxStack, directory: Path) -> Settings:
    """The sync's settings for the sandbox, its secrets file and SQLite state in `directory`."""
    return settings_from(stack.sync_settings(directory))


def sandbox_env(stack: SandboxStack, directory: Path) -> dict[str, str]:
    """The same settings as environment variables, for a sync run in another process."""
    return {**os.environ, **stack.sync_settings(directory)}


def google_user_credentials(stack: SandboxStack, user: str) -> Credentials:
    """OAuth user credentials for a sandbox Google user (created if new), as after consent."""
    if user not in stack.people.users:
        stack.people.add_user(user)
    return Credentials(
        token=None,
        refresh_token=stack.people.issue_refresh_token(user),
        client_id=GOOGLE_CLIENT[0],
        client_secret=GOOGLE_CLIENT[1],
        token_uri=stack.url("people") + "/token",
    )


def oauth_client_secrets(path: Path) -> LocalFileSecrets:
    """A local secrets file holding both sandbox OAuth apps' client ids and secrets, as the
    operator's `connect` commands leave them."""
    secrets = LocalFileSecrets(path)
    for name, (client_id, client_secret) in CLIENT_SECRETS.items():
        secrets.write(name, json.dumps({"client_id": client_id, "client_secret": client_secret}))
    return secrets
