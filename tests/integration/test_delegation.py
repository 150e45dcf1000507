"""Workspace domain-wide delegation, keyless: a destination whose tokens come from the
JWT-bearer grant, the JWT signed through the sandbox's stand-in for IAM Credentials, never by a
key; and what the Workspace may answer (the delegation revoked, a user suspended or deleted)."""

from __future__ import annotations

import json
from pathlib import Path

from sandbox.datagen import generate
from sandbox.stack import DELEGATED_SERVICE_ACCOUNT, SandboxStack
from sync.google.delegation import DIRECTORY_MEMBERS_SCOPE
from sync.google.people import SCOPES
from sync.state.port import StateStore
from tests.harness import Harness
from tests.integration.test_teams import group_ids


def delegate(stack: SandboxStack, domain: str = "acme.com", admin: str = "admin@acme.com") -> None:
    """The Workspace admin authorises the sync's client id for the contacts and directory scopes."""
    stack.people.add_workspace(domain, admin)
    stack.people.delegate(domain, DELEGATED_SERVICE_ACCOUNT, [*SCOPES, DIRECTORY_MEMBERS_SCOPE])


def test_a_delegated_user_gets_every_contact_through_a_signed_jwt_and_no_secret(
    stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path
) -> None:
    data = generate(120, 10, seed=26)
    team = Harness.create(stack, sqlite_state, data, tmp_path)
    delegate(stack)
    ann = team.add_delegated("ann@acme.com")
    report = team.run_all()
    assert report.destination(ann.name).status == "ok"
    assert sorted(group_ids(stack, "ann@acme.com")) == sorted(team.expected_ids())
    log = stack.servers["people"].log
    # One signature through signBlob and one JWT-bearer grant for ann: her token is not a secret.
    signed = log.calls("/v1/projects/-/serviceAccounts/", "POST")
    assert [c.path for c in signed] == [f"/v1/projects/-/serviceAccounts/{DELEGATED_SERVICE_ACCOUNT}:signBlob"]
    assert not any(ann.name in name for name in json.loads(Path(team.settings.secrets_file).read_text()))


def test_a_suspended_or_deleted_user_fails_alone(stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path) -> None:
    team = Harness.create(stack, sqlite_state, generate(60, 5, seed=27), tmp_path)
    delegate(stack)
    ann, bob, cid = (team.add_delegated(f"{name}@acme.com") for name in ("ann", "bob", "cid"))
    stack.people.suspend_user("bob@acme.com")
    stack.people.delete_workspace_user("cid@acme.com")
    report = team.run_all()
    statuses = {r.destination: r.status for r in report.destinations}
    assert statuses == {"default": "ok", ann.name: "ok", bob.name: "needs_reauth", cid.name: "needs_reauth"}
    assert "invalid_grant" in str(report.errors[bob.name])
