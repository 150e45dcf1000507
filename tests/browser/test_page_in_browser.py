"""The people's page in headless Chromium against the sandbox, clicked by the labels people
read: an admin connects the account and sets a team rule and a Google domain (and, last, a
Google Group as the team); two people connect their own Google accounts, one with a tag scope;
each card shows its counts and its skipped contacts, and the search finds one; one person turns
it off with removal, and only their group is emptied; the refusals say why; a cross-site POST
and a consent without the contacts permission change nothing. Every page is shot."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

from sandbox.stack import APP_NAME, SandboxStack
from tests.browser.conftest import Screenshots
from tests.page_site import Site, group_size, make_site

CONTACTS_BOX = "See, edit, download, and permanently delete your contacts"


@pytest.fixture
def site(stack: SandboxStack, tmp_path: Path) -> Iterator[Site]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # "localhost": a browser keeps a Secure cookie over plain HTTP for it, as a trustworthy origin.
    built = make_site(stack, tmp_path, page_url=f"http://localhost:{port}", contacts=30)
    stack.teamleader.interactive_consent = True
    stack.people.interactive_consent = True
    # Someone of acme in the Support team only: outside the team the admin allows.
    stack.teamleader.add_user("acme", "Finn", "Claes", "finn@acme.example", user_id="u-finn", teams=("Support",))
    server = make_server("127.0.0.1", port, built.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    built.page_url = f"http://localhost:{port}"  # type: ignore[attr-defined]
    yield built
    server.shutdown()


def sign_in(shots: Screenshots, site: Site, who: str) -> None:
    page = shots.page
    page.goto(site.page_url)  # type: ignore[attr-defined]
    shots.reached("Your Teamleader contacts in your phone")
    page.get_by_role("link", name="Sign in with Teamleader").click()
    shots.reached("Sign in to Teamleader Focus")
    page.get_by_label(who).check()
    page.get_by_role("button", name="Sign in").click()
    shots.reached(f"Allow {APP_NAME} access?")
    page.get_by_role("button", name="Allow").click()


def connect_google(shots: Screenshots, account: str, *, tick: bool = True) -> None:
    page = shots.page
    page.get_by_role("link", name="Connect Google").click()
    shots.reached("Choose an account")
    page.get_by_label(account).check()
    page.get_by_role("button", name="Next").click()
    shots.reached(f"{APP_NAME} wants access to your Google Account")
    if tick:
        page.get_by_label(CONTACTS_BOX).check()
    page.get_by_role("button", name="Continue").click()


def test_a_team_turns_it_on_itself_in_the_browser(site: Site, people: list[Screenshots], shots: Screenshots) -> None:
    page = shots.page
    sign_in(shots, site, "Ada Peeters (ada@acme.example)")
    shots.reached("My contacts")
    page.get_by_role("link", name="Admin").click()
    shots.reached("Admin")
    page.get_by_label("Members of these teams").check()
    page.get_by_label("Sales").check()
    page.get_by_label("Google domains that may receive the contacts").fill("acme.example")
    page.get_by_role("button", name="Save rules").click()
    shots.reached("Admin")
    rules = site.state.page_rules("acme")
    assert rules is not None and rules.who == "teams" and rules.domains == ["acme.example"]
    page.get_by_role("link", name="My contacts").click()
    shots.reached("My contacts")
    connect_google(shots, "Ada Peeters (ada@acme.example)")
    shots.reached("My contacts")
    expect(page.locator("#in-google")).not_to_have_text("0 contacts")
    ada_count = group_size(site, "ada@acme.example")
    assert ada_count > 0

    # Bram: a consent without the contacts box stores nothing; then he connects, with a tag scope.
    bram = _person(people, site, shots, "Bram Janssens (bram@acme.example)")
    connect_google(bram, "Bram Janssens (bram@acme.example)", tick=False)
    bram.reached("Google not connected")
    expect(bram.page.get_by_text("not allowed to reach your contacts")).to_be_visible()
    assert site.state.account("acme").destination("bram@acme.example") is None  # type: ignore[union-attr]
    bram.page.get_by_role("link", name="Back to the start").click()
    bram.reached("My contacts")
    connect_google(bram, "Bram Janssens (bram@acme.example)")
    bram.reached("My contacts")
    bram.page.get_by_label("Contacts with these tags").check()
    bram.page.get_by_label("Tags (comma-separated)").fill("vip")
    bram.page.get_by_role("button", name="Save").click()
    bram.reached("My contacts")
    expect(bram.page.get_by_role("status")).to_have_text("Saved.")
    bram.page.get_by_role("button", name="Sync now").click()
    bram.reached("My contacts")
    bram_count = group_size(site, "bram@acme.example")
    assert 0 < bram_count < ada_count
    expect(bram.page.locator("#in-google")).to_have_text(f"{bram_count} contacts")

    # Ada's skipped contacts, with their reasons; the search finds one by name.
    page.reload()
    shots.reached("My contacts")
    first = page.locator("tbody tr td").first.inner_text()
    page.get_by_label("Why is a contact not in my phone?").fill(first.split()[-1])
    page.get_by_role("button", name="Search").click()
    shots.reached("My contacts")
    expect(page.locator("tbody tr").first).to_contain_text(first)

    # Bram turns it off and removes what it put in his Google account; Ada's stays.
    bram.page.get_by_label("Sync on").uncheck()
    bram.page.get_by_label("are removed now").check()
    bram.page.get_by_role("button", name="Save").click()
    bram.reached("My contacts")
    expect(bram.page.get_by_role("status")).to_contain_text(f"{bram_count} contacts removed")
    assert group_size(site, "bram@acme.example") == 0
    assert group_size(site, "ada@acme.example") == ada_count

    # Refusals, each in a sentence.
    eva = _person(people, site, shots, "Eva Smit (eva@globex.example)", landing="Not available for your account")
    expect(eva.page.get_by_text("is not connected to this service")).to_be_visible()
    finn = _person(people, site, shots, "Finn Claes (finn@acme.example)")
    expect(finn.page.get_by_text("only members of chosen teams")).to_be_visible()
    chloe = _person(people, site, shots, "Chloé Dubois (chloe@acme.example)")
    connect_google(chloe, "Chloé Dubois (chloe@gmail.example)")
    chloe.reached("Google not connected")
    expect(chloe.page.get_by_text("only Google addresses of acme.example")).to_be_visible()

    # A form on another site posting to the card: no session cookie goes along, no token.
    page.set_content(
        f'<h1>Another site</h1><form method="post" action="{site.page_url}/card">'  # type: ignore[attr-defined]
        '<input name="group" value="Hijacked"><input name="scope" value="all"><button>Go</button></form>'
    )
    shots.reached("Another site")
    page.get_by_role("button", name="Go").click()
    shots.reached("Forbidden")
    destination = site.state.account("acme").destination("ada@acme.example")  # type: ignore[union-attr]
    assert destination is not None and destination.group_name == "Teamleader" and destination.enabled

    # The admin sees both people: Ada's contacts in Google, Bram's turned off and removed.
    page.goto(f"{site.page_url}/admin")  # type: ignore[attr-defined]
    shots.reached("Admin")
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="ada@acme.example")).to_contain_text(f"on, ok {ada_count}")
    expect(rows.filter(has_text="bram@acme.example")).to_contain_text(
        f"off, ok; {bram_count} contacts removed from Google on"
    )

    # The admin makes the team every member of a Google Group instead (the Workspace delegates).
    page.get_by_label("Every member of a Google Group").check()
    page.get_by_label("Group", exact=True).fill("sales@acme.example")
    page.get_by_label("Read as the Workspace admin").fill("it@acme.example")
    page.get_by_role("button", name="Save recipients").click()
    shots.reached("Admin")
    record = site.state.account("acme")
    assert record is not None and (record.team_group, record.directory_admin) == (
        "sales@acme.example",
        "it@acme.example",
    )
    expect(page.get_by_label("Every member of a Google Group")).to_be_checked()
    expect(page.get_by_label("Group", exact=True)).to_have_value("sales@acme.example")


@pytest.fixture
def people(browser: Any, shots: Screenshots) -> Iterator[list[Screenshots]]:
    """The other people's browsers, each with its own cookies; every page of theirs shot too."""
    others: list[Screenshots] = []
    yield others
    for other in others:
        other.page.context.close()
        assert not other.unshot(), f"pages reached without a screenshot: {other.unshot()}"


def _person(
    people: list[Screenshots], site: Site, shots: Screenshots, who: str, landing: str = "My contacts"
) -> Screenshots:
    """Another person in their own browser, signed in; screenshots in a folder beside the first's."""
    folder = shots.folder / who.split("(")[1].split("@")[0]
    folder.mkdir()
    other = Screenshots(shots.page.context.browser.new_context().new_page(), folder)
    people.append(other)
    sign_in(other, site, who)
    other.reached(landing)
    return other
