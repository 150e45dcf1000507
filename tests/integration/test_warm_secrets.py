"""A warm instance keeps the secrets it read (`sync.secrets.warm`): the OAuth clients' ids and
secrets and each Google user's credentials, with their access token, so a warm run reads no
secret and calls no token endpoint. Kept values are not trusted blindly: a refusal reads the
stored ones once and tries them (a person who connected again through another instance, an
operator who rotated a client secret), and a new consent named by the connection's record (which
may be another Google account's, under the same secret name) is read instead of the kept one.

Against the sandbox's Secret Manager and OAuth servers over HTTP; the instance's store is one
`SecretManagerSecrets`, another instance's (or the page's, or the operator's) a second one."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import httpx
import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import secretmanager

from sandbox.datagen import generate
from sandbox.stack import GOOGLE_CLIENT, TEAMLEADER_CLIENT, SandboxStack
from sync.config import Settings
from sync.engine import ConnectionReport, EngineOptions
from sync.errors import TeamleaderError
from sync.secrets.secretmanager import SecretManagerSecrets
from sync.serve.wiring import run_connection
from sync.state.connections import AccountRecord, new_consent
from sync.state.port import StateStore
from tests.harness import sandbox_settings

ACCOUNT = "acme"
USER = "acme@sandbox.example"


def _store(stack: SandboxStack, project: str) -> SecretManagerSecrets:
    client = secretmanager.SecretManagerServiceClient(
        credentials=AnonymousCredentials(),
        transport="rest",
        client_options={"api_endpoint": stack.url("secretmanager")},
    )
    return SecretManagerSecrets(client, project)


class Instance:
    """One warm instance of the sync function: its own secret store, kept for its runs."""

    def __init__(self, stack: SandboxStack, state: StateStore, tmp_path: Path) -> None:
        self.stack, self.state = stack, state
        self.project = f"demo-warm-{uuid.uuid4().hex[:8]}"
        self.secrets = _store(stack, self.project)
        self.settings: Settings = sandbox_settings(stack, tmp_path)
        stack.connect_account(ACCOUNT, generate(12, 3, seed=11), self.secrets, google_user=USER)
        state.put_account(AccountRecord(ACCOUNT))

    def other(self) -> SecretManagerSecrets:
        """The same secrets, as another instance, the page or the operator reach them."""
        return _store(self.stack, self.project)

    def run(self) -> ConnectionReport:
        """A run of the connection as its record stands now."""
        record = self.state.account(ACCOUNT)
        assert record is not None
        return run_connection(
            self.settings,
            record,
            state=self.state,
            secrets=self.secrets,
            options=EngineOptions(create_visibility_delay=0),
            clock=self.stack.clock.now,
            sleep=self.stack.clock.advance,
        )

    def counted(self) -> tuple[int, int]:
        """Reads of secrets (a write's read-back of its own version aside) and token endpoint
        calls (both sides) so far."""
        servers = self.stack.servers
        accesses = [c for c in servers["secretmanager"].log.calls() if c.path.endswith("/versions/latest:access")]
        tokens = servers["people"].log.calls("/token") + servers["teamleader"].log.calls("/oauth2/access_token")
        return len(accesses), len(tokens)


def _ok(report: ConnectionReport) -> None:
    assert report.status == "ok" and not report.errors, (report.status, report.errors)


def test_a_warm_run_reads_no_secret_and_calls_no_token_endpoint(
    stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path
) -> None:
    instance = Instance(stack, sqlite_state, tmp_path)
    _ok(instance.run())
    accesses, tokens = instance.counted()
    assert accesses == 4 and tokens == 2, "cold: both clients, both tokens; one refresh a side"
    _ok(instance.run())
    contact = next(iter(stack.teamleader.accounts[ACCOUNT].contacts))
    stack.teamleader.edit_contact(ACCOUNT, contact, last_name="Warm")
    changed = instance.run()
    _ok(changed)
    assert changed.destinations[0].updated == 1
    assert instance.counted() == (accesses, tokens), "warm: nothing read again, no token asked for"


def test_a_refused_kept_google_token_is_read_again_and_only_the_stored_ones_refusal_is_final(
    stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path
) -> None:
    instance = Instance(stack, sqlite_state, tmp_path)
    _ok(instance.run())
    # The person revokes the app, then connects again through another instance (whose record
    # this run does not see yet): the kept token is refused, the stored one is good.
    httpx.post(stack.url("people") + "/_sandbox/revoke", json={"user": USER}).raise_for_status()
    token = stack.people.issue_refresh_token(USER)
    instance.other().write(f"{ACCOUNT}-google-tokens", json.dumps({"refresh_token": token}))
    accesses, _ = instance.counted()
    _ok(instance.run())
    assert instance.counted()[0] == accesses + 1, "the token secret read again, once"
    # Revoked with nothing newer stored: now a person must reconnect.
    httpx.post(stack.url("people") + "/_sandbox/revoke", json={"user": USER}).raise_for_status()
    refused = instance.run()
    assert refused.destinations[0].status == "needs_reauth"


@pytest.mark.parametrize("refusal", [401, 400])
def test_rotated_client_secrets_are_read_again_before_a_refresh_fails(
    stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path, refusal: int
) -> None:
    # Teamleader's status for a refused client is undocumented: 401, or 400 as OAuth allows.
    stack.teamleader.client_refusal_status = refusal
    instance = Instance(stack, sqlite_state, tmp_path)
    _ok(instance.run())
    # The operator rotates both OAuth clients' secrets and stores the new ones.
    operator = instance.other()
    for side, (client_id, _), name in (
        ("teamleader", TEAMLEADER_CLIENT, "teamleader-oauth-client"),
        ("people", GOOGLE_CLIENT, "google-oauth-client"),
    ):
        rotated = {"client_id": client_id, "client_secret": f"rotated-{side}"}
        httpx.post(stack.url(side) + "/_sandbox/client_secret", json=rotated).raise_for_status()
        operator.write(name, json.dumps(rotated))
    stack.clock.advance(3600)  # both kept access tokens run out: each side refreshes
    _ok(instance.run())
    _ok(instance.run())
    # A client refused even as stored is the operator's to mend, not a person's to reconnect.
    again = {"client_id": TEAMLEADER_CLIENT[0], "client_secret": "rotated-again"}
    httpx.post(stack.url("teamleader") + "/_sandbox/client_secret", json=again).raise_for_status()
    stack.clock.advance(3600)
    with pytest.raises(TeamleaderError):
        instance.run()


def test_a_new_consent_in_the_record_is_read_instead_of_the_kept_credentials(
    stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path
) -> None:
    """`connect google` for the default destination, given by another Google account: the old
    account's refresh token still works (a new consent revokes nothing), so only the record's
    new consent keeps a warm instance from syncing into the old account."""
    instance = Instance(stack, sqlite_state, tmp_path)
    _ok(instance.run())
    other = "someone-else@sandbox.example"
    stack.people.add_user(other)
    token = stack.people.issue_refresh_token(other)
    instance.other().write(f"{ACCOUNT}-google-tokens", json.dumps({"refresh_token": token}))
    record = sqlite_state.account(ACCOUNT)
    assert record is not None
    record.targets[0].google_consent = new_consent()
    sqlite_state.put_account(record)
    log = stack.servers["people"].log
    log.clear()
    _ok(instance.run())
    reached = {call.account for call in log.calls("/v1/")}
    assert reached == {other}, "the run reaches the account the stored token is now for, only"
