"""The page's records on both state adapters: a session lives until its expiry, and an
account's rules are kept as set."""

from __future__ import annotations

from sync.state.page import PageRules, Session
from sync.state.port import StateStore


def test_a_session_is_found_until_it_expires_and_then_dropped(any_state: StateStore) -> None:
    session = Session("s1", expires=100.0, user_id="u-ada", account_id="acme", teams=["Sales"], csrf="c")
    session.flow = {"kind": "google", "state": "st", "verifier": "v"}
    any_state.put_session(session)
    assert any_state.session("s1", now=99.0) == session
    assert any_state.session("other", now=99.0) is None
    assert any_state.session("s1", now=100.0) is None
    # Dropped on the expired read: a later clock that went back finds nothing either.
    assert any_state.session("s1", now=1.0) is None


def test_a_dropped_session_is_gone(any_state: StateStore) -> None:
    any_state.put_session(Session("s2", expires=100.0))
    any_state.drop_session("s2")
    assert any_state.session("s2", now=1.0) is None


def test_page_rules_are_kept_per_account(any_state: StateStore) -> None:
    assert any_state.page_rules("acme") is None
    rules = PageRules("acme", admins=["u-ada"], who="teams", teams=["Sales"], domains=["acme.example"])
    rules.owners["u-bram"] = "u123"
    any_state.put_page_rules(rules)
    any_state.put_page_rules(PageRules("globex", admins=["u-eva"]))
    assert any_state.page_rules("acme") == rules
    assert any_state.page_rules("globex") == PageRules("globex", admins=["u-eva"])
