"""A person in a real browser clicks through both services' consent pages in the sandbox, by
the labels and buttons they read, and lands on a redirect catcher standing in for the people's
page; the codes that come back are exchanged and say who signed in and what was granted."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.cast import seed_cast
from sandbox.catcher import RedirectCatcher
from sandbox.consent_flow import finish_google, finish_teamleader, google_flow, teamleader_flow
from sandbox.people import CONTACTS_SCOPE
from sandbox.stack import APP_NAME, SandboxStack
from tests.browser.conftest import Screenshots

CONTACTS_BOX = "See, edit, download, and permanently delete your contacts"


@pytest.fixture
def catcher(stack: SandboxStack) -> Iterator[RedirectCatcher]:
    seed_cast(stack)
    stack.teamleader.interactive_consent = True
    stack.people.interactive_consent = True
    with RedirectCatcher() as running:
        yield running


def test_a_salesperson_signs_in_with_teamleader_and_grants_google_contacts(
    stack: SandboxStack, catcher: RedirectCatcher, shots: Screenshots
) -> None:
    page = shots.page
    flow = teamleader_flow(stack, catcher.url("/teamleader"))
    page.goto(flow.link)
    shots.reached("Sign in to Teamleader Focus")
    page.get_by_label("Bram Janssens (bram@acme.example)").check()
    page.get_by_role("button", name="Sign in").click()
    shots.reached(f"Allow {APP_NAME} access?")
    page.get_by_role("button", name="Allow").click()
    shots.reached("Redirect received")
    path, query = catcher.wait(1)
    assert path == "/teamleader" and query["state"] == flow.state
    assert finish_teamleader(stack, flow, query["code"])["me"]["id"] == "u-bram"

    tokens = _through_google(stack, catcher, shots, "Bram Janssens (bram@acme.example)", tick=True, hinted=True)
    assert CONTACTS_SCOPE in tokens["scope"].split()
    assert tokens["userinfo"]["email"] == "bram@acme.example"


def test_a_deactivated_user_is_stopped_and_an_unticked_box_is_not_granted(
    stack: SandboxStack, catcher: RedirectCatcher, shots: Screenshots
) -> None:
    page = shots.page
    page.goto(teamleader_flow(stack, catcher.url("/teamleader")).link)
    shots.reached("Sign in to Teamleader Focus")
    page.get_by_label("Dirk Maes (dirk@acme.example)").check()
    page.get_by_role("button", name="Sign in").click()
    shots.reached("This user is deactivated")
    assert catcher.received == []

    tokens = _through_google(stack, catcher, shots, "Chloé Dubois (chloe@gmail.example)", tick=False)
    assert CONTACTS_SCOPE not in tokens["scope"].split()
    assert tokens["userinfo"]["email"] == "chloe@gmail.example"


def _through_google(
    stack: SandboxStack, catcher: RedirectCatcher, shots: Screenshots, account: str, *, tick: bool, hinted: bool = False
) -> dict[str, Any]:
    """The person opens Google's link, chooses `account` (already chosen when it was hinted
    at), finds the contacts box unticked, ticks it or not, and continues; the tokens for the
    code that comes back, with userinfo."""
    page = shots.page
    address = account.split("(")[1].rstrip(")")
    google = google_flow(stack, catcher.url("/google"), login_hint=address if hinted else None)
    page.goto(google.link)
    shots.reached("Choose an account")
    choice = page.get_by_label(account)
    assert choice.is_checked() == hinted
    choice.check()
    page.get_by_role("button", name="Next").click()
    shots.reached(f"{APP_NAME} wants access to your Google Account")
    box = page.get_by_label(CONTACTS_BOX)
    assert not box.is_checked()
    if tick:
        box.check()
    page.get_by_role("button", name="Continue").click()
    shots.reached("Redirect received")
    path, query = catcher.received[-1]
    assert path == "/google" and query["state"] == google.state
    return finish_google(stack, google, query["code"])
