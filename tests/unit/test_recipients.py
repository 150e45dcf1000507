"""Who a group reaches: nested groups each read once (a cycle ends), suspended users apart,
addresses outside the domain and whole-domain members refused with a sentence."""

from __future__ import annotations

from sync.recipients import Member, Roster, apply_roster, expand, set_group
from sync.state.connections import AccountRecord

GROUPS = {
    "sales@acme.com": [
        Member("ann@acme.com", "USER"),
        Member("north@acme.com", "GROUP"),
        Member("joe@gmail.com", "USER"),
        Member("", "CUSTOMER"),
    ],
    "north@acme.com": [
        Member("ANN@acme.com", "USER"),
        Member("sales@acme.com", "GROUP"),
        Member("bob@acme.com", "USER", "SUSPENDED"),
        Member("cid@acme.com", "USER"),
    ],
}


def test_nested_groups_are_read_once_and_users_counted_once() -> None:
    read: list[str] = []

    def members_of(group: str) -> list[Member]:
        read.append(group)
        return GROUPS[group]

    roster = expand("sales@acme.com", "acme.com", members_of)
    assert read == ["sales@acme.com", "north@acme.com"]
    assert roster.users == ["ann@acme.com", "cid@acme.com"]
    assert roster.suspended == {"bob@acme.com"}
    assert set(roster.refused) == {"joe@gmail.com", "CUSTOMER"}


def test_a_roster_adds_and_removes_and_an_empty_one_removes_nobody() -> None:
    record = AccountRecord("acme", destinations=[])
    set_group(record, "sales@acme.com", "admin@acme.com")
    apply_roster(record, "sales@acme.com", Roster(["ann@acme.com", "bob@acme.com"]), "t0")
    assert [d.user for d in record.targets] == ["ann@acme.com", "bob@acme.com"]
    held = apply_roster(record, "sales@acme.com", Roster(), "t1")
    assert held.held and all(d.enabled for d in record.targets)
    changes = apply_roster(record, "sales@acme.com", Roster(["ann@acme.com"], {"bob@acme.com"}), "t2")
    bob = record.destination("bob@acme.com")
    assert bob is not None and (bob.enabled, bob.leaving_since, bob.leaving_reason) == (
        False,
        "t2",
        "suspended in Google Workspace",
    )
    assert changes.left == [bob.name]
