"""A Google Group as the team: its members (nested groups expanded, each once) read again at
every run, a member added served at the next run without anyone acting, one removed or
suspended leaving; and what the Workspace may answer: the delegation revoked (one problem for
the connection, one alert), a consumer address in the group, a group read as empty."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from sandbox.datagen import generate
from sandbox.stack import SandboxStack
from sync.logs import JsonFormatter
from sync.recipients import SUSPENDED
from sync.serve.runner.connection import DELEGATION_REFUSED
from sync.state.connections import AccountRecord, destination_name
from sync.state.port import StateStore
from tests.harness import Harness
from tests.integration.test_delegation import delegate
from tests.integration.test_runner import make_runner
from tests.integration.test_teams import group_ids

GROUP = "sales@acme.com"


def group_team(stack: SandboxStack, state: StateStore, tmp_path: Path, members: dict[str, str]) -> Harness:
    """A connection whose team is every member of sales@acme.com, its Workspace delegating."""
    team = Harness.create(stack, state, generate(80, 8, seed=36), tmp_path)
    delegate(stack)
    for address, kind in members.items():
        if kind == "USER" and address not in stack.people.users:
            stack.people.add_user(address)
    stack.people.set_group(GROUP, members)
    team.account.destinations = []
    team.account.workspace_domain, team.account.team_group = "acme.com", GROUP
    team.account.directory_admin = "admin@acme.com"
    state.put_account(team.account)
    return team


def stored(state: StateStore) -> AccountRecord:
    record = state.account("acme")
    assert record is not None
    return record


def test_members_added_and_removed_at_the_next_run_nested_groups_each_once(
    stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path
) -> None:
    stack.people.add_user("cid@acme.com")
    team = group_team(stack, sqlite_state, tmp_path, {"ann@acme.com": "USER", "bob@acme.com": "USER"})
    # A nested group that names its parent again: read once all the same.
    stack.people.set_group("north@acme.com", {"cid@acme.com": "USER", GROUP: "GROUP", "ann@acme.com": "USER"})
    stack.people.set_group(GROUP, {"ann@acme.com": "USER", "bob@acme.com": "USER", "north@acme.com": "GROUP"})
    first = make_runner(team).run()
    assert first.status == "ok"
    users = {d.user or "": d for d in stored(sqlite_state).targets}
    assert sorted(users) == ["ann@acme.com", "bob@acme.com", "cid@acme.com"]
    assert all(d.delegated and d.enabled for d in users.values())
    for user in users:
        assert sorted(group_ids(stack, user)) == sorted(team.expected_ids())
    assert stack.servers["people"].log.calls("/admin/directory/v1/groups/north") != []

    # bob leaves the group, dan joins: nobody runs a command.
    stack.people.add_user("dan@acme.com")
    stack.people.set_group(GROUP, {"ann@acme.com": "USER", "dan@acme.com": "USER", "north@acme.com": "GROUP"})
    stack.clock.advance(3600)
    second = make_runner(team).run()
    assert second.status == "ok"
    record = stored(sqlite_state)
    bob = record.destination("bob@acme.com")
    assert bob is not None and not bob.enabled
    assert bob.leaving_reason == f"left {GROUP}" and bob.leaving_since is not None
    assert sorted(group_ids(stack, "dan@acme.com")) == sorted(team.expected_ids())
    served = {d.destination for d in second.accounts[0].destinations}
    assert destination_name("bob@acme.com") not in served and destination_name("dan@acme.com") in served

    # bob is back before his copy is removed: he is served again.
    stack.people.set_group(GROUP, {"ann@acme.com": "USER", "bob@acme.com": "USER", "dan@acme.com": "USER"})
    stack.clock.advance(3600)
    make_runner(team).run()
    record = stored(sqlite_state)
    bob, cid = record.destination("bob@acme.com"), record.destination("cid@acme.com")
    assert bob is not None and bob.enabled and bob.leaving_since is None
    assert cid is not None and (cid.enabled, cid.leaving_reason) == (False, f"left {GROUP}")


def test_a_revoked_delegation_is_one_problem_of_the_connection_and_one_alert(
    stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    members = {f"u{i}@acme.com": "USER" for i in range(6)}
    team = group_team(stack, sqlite_state, tmp_path, members)
    assert make_runner(team).run().status == "ok"
    stack.people.delegate("acme.com", "tl-sync-delegate@sandbox-project.iam.gserviceaccount.com", [])
    stack.clock.advance(3600)
    caplog.clear()
    with caplog.at_level(logging.INFO):
        invocation = make_runner(team).run()
    (outcome,) = invocation.accounts
    assert (outcome.status, outcome.destinations) == ("needs_reauth", [])
    record = stored(sqlite_state)
    assert record.status == "needs_reauth" and "authorise its client id again" in (record.reason or "")
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.getMessage() for r in errors] == [DELEGATION_REFUSED]
    # Nobody left: a refused delegation says nothing about who is in the team.
    assert all(d.enabled and d.last_status == "ok" for d in record.targets)


def test_a_suspended_member_leaves_alone(stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path) -> None:
    team = group_team(stack, sqlite_state, tmp_path, {"ann@acme.com": "USER", "bob@acme.com": "USER"})
    make_runner(team).run()
    stack.people.suspend_user("bob@acme.com")
    stack.clock.advance(3600)
    invocation = make_runner(team).run()
    assert invocation.status == "ok"
    record = stored(sqlite_state)
    bob, ann = record.destination("bob@acme.com"), record.destination("ann@acme.com")
    assert bob is not None and (bob.enabled, bob.leaving_reason) == (False, SUSPENDED)
    assert ann is not None and ann.enabled and ann.last_status == "ok"


def test_a_consumer_address_in_the_group_is_refused_with_a_sentence(
    stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path
) -> None:
    team = group_team(stack, sqlite_state, tmp_path, {"ann@acme.com": "USER", "joe@gmail.com": "USER"})
    assert make_runner(team).run().status == "ok"
    record = stored(sqlite_state)
    assert [d.user for d in record.targets] == ["ann@acme.com"]
    (note,) = record.recipients_notes
    assert note.startswith("joe@gmail.com is not a user of acme.com: domain-wide delegation reaches only")


def test_a_group_read_as_empty_removes_nobody(stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path) -> None:
    team = group_team(stack, sqlite_state, tmp_path, {"ann@acme.com": "USER"})
    make_runner(team).run()
    stack.people.set_group(GROUP, {})
    stack.clock.advance(3600)
    make_runner(team).run()
    record = stored(sqlite_state)
    ann = record.destination("ann@acme.com")
    assert ann is not None and ann.enabled and ann.leaving_since is None
    assert record.recipients_notes == [f"{GROUP} lists no active member: nobody is removed until it lists some"]


def test_the_logs_of_a_groups_runs_name_no_address(
    stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    members = {"ann@acme.com": "USER", "bob@acme.com": "USER", "joe@gmail.com": "USER"}
    team = group_team(stack, sqlite_state, tmp_path, members)
    with caplog.at_level(logging.DEBUG):
        make_runner(team).run()
        stack.people.suspend_user("bob@acme.com")
        stack.people.set_group(GROUP, {"ann@acme.com": "USER", "bob@acme.com": "USER"})
        stack.clock.advance(3600)
        make_runner(team).run()
        stack.people.delegate("acme.com", "tl-sync-delegate@sandbox-project.iam.gserviceaccount.com", [])
        stack.clock.advance(3600)
        make_runner(team).run()
    lines = "\n".join(JsonFormatter().format(record) for record in caplog.records)
    assert "team group read" in lines and DELEGATION_REFUSED in lines
    for address in ("ann@acme.com", "bob@acme.com", "joe@gmail.com", "admin@acme.com", GROUP):
        assert address not in lines
