"""`python -m sync recipients`: a connection set to every member of sales@acme.com, or to
listed Workspace users, from the command line; an address delegation cannot reach is refused
with a sentence before anything changes."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from sandbox.datagen import generate
from sandbox.stack import SandboxStack
from sync.serve.cli.main import main
from sync.state.sqlite import SqliteState
from tests.integration.test_delegation import delegate
from tests.integration.test_teams import group_ids


def test_every_member_of_a_group_from_the_command_line(stack: SandboxStack, tmp_path: Path) -> None:
    data = generate(50, 4, seed=46)
    stack.connect_account("acme", data, tmp_path)
    delegate(stack)
    for user in ("ann@acme.com", "bob@acme.com"):
        stack.people.add_user(user)
    stack.people.set_group("sales@acme.com", {"ann@acme.com": "USER", "bob@acme.com": "USER"})
    env = stack.sync_settings(tmp_path)
    cli = CliRunner()
    outsider = cli.invoke(main, ["recipients", "group", "acme", "sales@acme.com", "--admin", "joe@gmail.com"], env=env)
    assert outsider.exit_code != 0 and "joe@gmail.com is not a user of acme.com" in outsider.output
    assert SqliteState(env["SYNC_SQLITE_PATH"]).account("acme") is None
    chosen = cli.invoke(main, ["recipients", "group", "acme", "sales@acme.com", "--admin", "admin@acme.com"], env=env)
    assert chosen.exit_code == 0, chosen.output
    assert "every member of sales@acme.com receives the contacts" in chosen.output
    ran = cli.invoke(main, ["run", "--account", "acme"], env=env)
    assert ran.exit_code == 0, ran.output
    for user in ("ann@acme.com", "bob@acme.com"):
        assert sorted(group_ids(stack, user)) == sorted(data.eligible_ids())
    shown = cli.invoke(main, ["recipients", "show", "acme"], env=env).output
    assert "every member of sales@acme.com (read as admin@acme.com)" in shown and "bob@acme.com" in shown


def test_listed_users_and_an_address_outside_the_domain(tmp_path: Path) -> None:
    env = {"SYNC_SQLITE_PATH": str(tmp_path / "s.sqlite3"), "SYNC_SECRETS_FILE": str(tmp_path / "secrets.json")}
    cli = CliRunner()
    listed = ["recipients", "list", "acme", "--domain", "acme.com"]
    refused = cli.invoke(main, [*listed, "ann@acme.com", "joe@gmail.com"], env=env)
    assert refused.exit_code != 0
    assert "joe@gmail.com is not a user of acme.com: domain-wide delegation reaches only" in refused.output
    assert SqliteState(env["SYNC_SQLITE_PATH"]).account("acme") is None
    assert cli.invoke(main, [*listed, "ann@acme.com", "bob@acme.com"], env=env).exit_code == 0
    assert cli.invoke(main, [*listed, "ann@acme.com"], env=env).exit_code == 0
    record = SqliteState(env["SYNC_SQLITE_PATH"]).account("acme")
    assert record is not None and record.workspace_domain == "acme.com" and record.team_group is None
    ann, bob = record.destination("ann@acme.com"), record.destination("bob@acme.com")
    assert ann is not None and ann.delegated and ann.enabled
    assert bob is not None and not bob.enabled and bob.leaving_reason == "no longer listed for this connection"
    assert "leaving since" in cli.invoke(main, ["recipients", "show", "acme"], env=env).output
