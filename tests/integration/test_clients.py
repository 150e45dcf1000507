"""The Teamleader and People clients against the sandbox over real HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from sandbox.datagen import generate
from sandbox.stack import TEAMLEADER_CLIENT, SandboxStack
from sync.errors import AmbiguousWriteError, ReauthRequiredError, TeamleaderForbiddenError, TokenStoreError
from sync.google.people import PeopleClient
from sync.ports import PersonRef
from sync.teamleader.client import TeamleaderClient
from sync.teamleader.limit import parse_rate_reset, parse_retry_after
from sync.teamleader.tokens import TeamleaderTokens
from tests.harness import google_user_credentials


def teamleader(stack: SandboxStack, refresh: str, on_rotate: Any) -> TeamleaderClient:
    return TeamleaderClient(
        httpx.Client(),
        api_url=stack.url("teamleader"),
        token_url=stack.url("teamleader") + "/oauth2/access_token",
        client_id=TEAMLEADER_CLIENT[0],
        client_secret=TEAMLEADER_CLIENT[1],
        tokens=TeamleaderTokens(refresh),
        on_rotate=on_rotate,
        sleep=stack.clock.advance,
        clock=stack.clock.now,
    )


def people(stack: SandboxStack, user: str = "ann@example.com") -> PeopleClient:
    credentials = google_user_credentials(stack, user)
    return PeopleClient(httpx.Client(), credentials, api_url=stack.url("people"), sleep=stack.clock.advance)


def test_rotated_token_is_stored_before_it_is_used(stack: SandboxStack) -> None:
    seeded = stack.seed_account("acme", generate(10, 0))
    events: list[str] = []
    calls_at_rotation: list[int] = []

    def store(tokens: TeamleaderTokens) -> None:
        events.append(tokens.refresh_token)
        calls_at_rotation.append(len(stack.servers["teamleader"].log.calls("/contacts.list")))

    client = teamleader(stack, seeded.teamleader_refresh_token, store)
    assert len(client.list_contacts()) == 10
    assert len(events) == 1 and events[0] != seeded.teamleader_refresh_token
    assert calls_at_rotation == [0]
    stack.clock.advance(3600)  # the access token expires: one more rotation, stored again
    client.list_contacts()
    assert len(events) == 2


def test_a_rotation_that_cannot_be_stored_stops_everything(stack: SandboxStack) -> None:
    seeded = stack.seed_account("acme", generate(3, 0))

    def broken_store(tokens: TeamleaderTokens) -> None:
        raise OSError("disk full")

    client = teamleader(stack, seeded.teamleader_refresh_token, broken_store)
    with pytest.raises(TokenStoreError):
        client.list_contacts()
    assert stack.servers["teamleader"].log.calls("/contacts.list") == []


def test_revoked_refresh_token_asks_for_reauth(stack: SandboxStack) -> None:
    seeded = stack.seed_account("acme", generate(3, 0))
    stack.teamleader.revoke("acme")
    with pytest.raises(ReauthRequiredError):
        teamleader(stack, seeded.teamleader_refresh_token, lambda t: None).list_contacts()


def test_rate_limit_is_waited_out_not_failed(stack: SandboxStack) -> None:
    seeded = stack.seed_account("acme", generate(250, 0))
    stack.teamleader.rate_limit = 2
    client = teamleader(stack, seeded.teamleader_refresh_token, lambda t: None)
    started = stack.clock.now()
    pages = [client.list_contacts(page=n) for n in (1, 2, 3)]
    assert [len(p) for p in pages] == [100, 100, 50]
    assert stack.clock.now() - started >= 59  # it waited for the window to slide
    assert all(c.status == 200 for c in stack.servers["teamleader"].log.calls("/contacts.list"))


def test_missing_scope_is_a_typed_error(stack: SandboxStack) -> None:
    seeded = stack.seed_account("acme", generate(3, 0))
    stack.teamleader.accounts["acme"].scopes = {"companies"}
    with pytest.raises(TeamleaderForbiddenError):
        teamleader(stack, seeded.teamleader_refresh_token, lambda t: None).list_contacts()


def test_transient_errors_are_retried(stack: SandboxStack) -> None:
    seeded = stack.seed_account("acme", generate(30, 0))
    stack.servers["teamleader"].faults.error_rate = 0.5
    client = teamleader(stack, seeded.teamleader_refresh_token, lambda t: None)
    for _ in range(5):
        assert len(client.list_contacts()) == 30


def test_rate_reset_formats() -> None:
    assert parse_rate_reset("2021-06-15T10:51:23.035+0100") == pytest.approx(1623750683.035)
    assert parse_rate_reset("1623750683") == 1623750683
    assert parse_rate_reset("soon") is None
    assert parse_retry_after("30", now=1000.0) == 1030.0
    assert parse_retry_after("Tue, 15 Jun 2021 09:51:53 GMT", now=0.0) == 1623750713
    assert parse_retry_after("later", now=0.0) is None


def person(n: int, **extra: Any) -> tuple[str, dict[str, Any]]:
    body = {
        "names": [{"givenName": f"G{n}", "familyName": "F"}],
        "clientData": [{"key": "teamleader_id", "value": f"t{n}"}],
    }
    body.update(extra)
    return f"t{n}", body


def test_a_dropped_create_is_never_sent_again(stack: SandboxStack) -> None:
    client = people(stack)
    group = client.create_group("Teamleader")
    stack.servers["people"].faults.drop_after_write_next = 1
    with pytest.raises(AmbiguousWriteError):
        client.create([person(i) for i in range(3)], group)
    assert len(stack.servers["people"].log.calls("/v1/people:batchCreateContacts")) == 1
    assert stack.people.count_with_client_data("ann@example.com", "teamleader_id", "t0") == 1


def test_create_sets_aside_the_contacts_google_names(stack: SandboxStack) -> None:
    client = people(stack)
    group = client.create_group("Teamleader")
    items = [person(i) for i in range(5)]
    items[2] = person(2, birthdays=[{"date": {"year": 2001, "month": 2, "day": 30}}])
    outcome = client.create(items, group)
    assert set(outcome.done) == {"t0", "t1", "t3", "t4"}
    assert "birthday" in outcome.failed["t2"]
    assert len(stack.people.members("ann@example.com", "Teamleader")) == 4


def test_stale_etags_are_reread_and_missing_persons_reported(stack: SandboxStack) -> None:
    client = people(stack)
    group = client.create_group("Teamleader")
    done = client.create([person(i) for i in range(4)], group).done
    stack.people.etag_churn_next = 2
    stack.people.delete_person_by_hand("ann@example.com", done["t3"].resource_name)
    updates = [
        (tid, ref, person(int(tid[1:]), names=[{"givenName": "New", "familyName": tid}])[1])
        for tid, ref in done.items()
    ]
    outcome = client.update(updates)
    assert set(outcome.done) == {"t0", "t1", "t2"}
    assert outcome.missing == ["t3"]
    assert all(outcome.done[t].etag != done[t].etag for t in outcome.done)


def test_create_group_adopts_a_group_taken_meanwhile(stack: SandboxStack) -> None:
    client = people(stack)
    first = client.create_group("Teamleader")
    assert client.create_group("Teamleader") == first
    assert client.find_group("Teamleader") == first


def test_throttled_writes_are_retried_after_back_off(stack: SandboxStack) -> None:
    client = people(stack)
    stack.people.write_quota_per_minute = 1
    group = client.create_group("Teamleader")
    started = stack.clock.now()
    outcome = client.create([person(1)], group)
    assert "t1" in outcome.done
    assert stack.clock.now() > started


def test_revoked_google_token_asks_for_reauth(stack: SandboxStack) -> None:
    client = people(stack)
    stack.people.revoke("ann@example.com")
    with pytest.raises(ReauthRequiredError):
        client.find_group("Teamleader")


def test_get_answers_current_etags(stack: SandboxStack) -> None:
    client = people(stack)
    group = client.create_group("Teamleader")
    done = client.create([person(1)], group).done
    names = [done["t1"].resource_name, "people/c404"]
    assert client.get(names) == {done["t1"].resource_name: PersonRef(done["t1"].resource_name, done["t1"].etag)}
