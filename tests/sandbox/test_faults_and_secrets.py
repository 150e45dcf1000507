"""Faults switched on while the servers run, and the Secret Manager sandbox through the real
client library's REST transport."""

from __future__ import annotations

import time

import httpx
import pytest
from google.api_core import exceptions as gexc
from google.auth.credentials import AnonymousCredentials
from google.cloud import secretmanager

from sandbox.stack import SandboxStack
from tests.sandbox.test_people_sandbox import make_group, people_service, person


def test_dropped_connection_after_an_applied_write(stack: SandboxStack) -> None:
    svc = people_service(stack, "ann@example.com")
    group = make_group(svc)
    stack.servers["people"].faults.drop_after_write_next = 1
    request = svc.people().batchCreateContacts(
        body={"contacts": [{"contactPerson": person(1, group)}], "readMask": "names"}
    )
    # httplib2, the client library's stock transport, re-sends a POST whose connection
    # dropped: Google applied the write, then applies it again. This is why the product talks
    # to Google over a transport that never re-sends.
    answer = request.execute()
    assert len(answer["createdPeople"]) == 1
    calls = stack.servers["people"].log.calls("/v1/people:batchCreateContacts")
    assert [c.status for c in calls] == [0, 200]
    assert stack.people.count_with_client_data("ann@example.com", "teamleader_id", "tl-1") == 2


def test_drop_is_a_real_connection_failure_for_httpx(stack: SandboxStack) -> None:
    stack.servers["secretmanager"].faults.drop_after_write_next = 1
    stack.secretmanager.create_secret("p", "s")
    with pytest.raises(httpx.TransportError):
        httpx.post(
            stack.url("secretmanager") + "/v1/projects/p/secrets/s:addVersion", json={"payload": {"data": "eA=="}}
        )
    assert len(stack.secretmanager.secrets["projects/p/secrets/s"].versions) == 1


def test_error_and_throttle_rates_and_latency_over_http_control(stack: SandboxStack) -> None:
    base = stack.url("teamleader")
    assert httpx.post(base + "/_sandbox/faults", json={"error_rate": 1.0}).status_code == 200
    answer = httpx.post(base + "/contacts.list", json={})
    assert answer.status_code in (500, 502, 503) and answer.json()["errors"]
    httpx.post(base + "/_sandbox/faults", json={"error_rate": 0, "throttle_rate": 1.0, "latency_ms": 150})
    started = time.monotonic()
    assert httpx.post(base + "/contacts.list", json={}).status_code == 429
    assert time.monotonic() - started >= 0.15
    assert httpx.post(base + "/_sandbox/faults", json={"nonsense": 1}).status_code == 400
    assert stack.servers["teamleader"].log.counts()["POST /contacts.list"] == 2
    # Virtual latency moves the sandbox's clock instead of passing (benchmarks of hours).
    httpx.post(base + "/_sandbox/faults", json={"throttle_rate": 0, "latency_ms": 60_000, "virtual_latency": True})
    started, clock_before = time.monotonic(), stack.clock.now()
    assert httpx.post(base + "/contacts.list", json={}).status_code == 401
    assert time.monotonic() - started < 5 and stack.clock.now() - clock_before >= 60


def test_people_faults_over_http_control(stack: SandboxStack) -> None:
    svc = people_service(stack, "ann@example.com")
    make_group(svc)
    base = stack.url("people")
    httpx.post(base + "/_sandbox/delete_group", json={"user": "ann@example.com", "name": "Teamleader"})
    assert stack.people.group_by_name("ann@example.com", "Teamleader") is None
    httpx.post(base + "/_sandbox/etag_churn", json={"next": 2})
    assert stack.people.etag_churn_next == 2


def _client(stack: SandboxStack) -> secretmanager.SecretManagerServiceClient:
    return secretmanager.SecretManagerServiceClient(
        credentials=AnonymousCredentials(),
        transport="rest",
        client_options={"api_endpoint": stack.url("secretmanager")},
    )


def test_secret_versions_through_the_rest_transport(stack: SandboxStack) -> None:
    client = _client(stack)
    parent = client.create_secret(
        request={
            "parent": "projects/demo",
            "secret_id": "acme-teamleader",
            "secret": {"replication": {"automatic": {}}},
        }
    ).name
    first = client.add_secret_version(request={"parent": parent, "payload": {"data": b"token-1"}})
    second = client.add_secret_version(request={"parent": parent, "payload": {"data": b"token-2"}})
    assert first.name.endswith("/versions/1") and second.name.endswith("/versions/2")
    latest = client.access_secret_version(request={"name": parent + "/versions/latest"})
    assert latest.payload.data == b"token-2"
    client.disable_secret_version(request={"name": first.name})
    enabled = list(client.list_secret_versions(request={"parent": parent, "filter": "state:ENABLED"}))
    assert [v.name for v in enabled] == [second.name]
    with pytest.raises(gexc.BadRequest, match="DISABLED"):
        client.access_secret_version(request={"name": first.name})
    destroyed = client.destroy_secret_version(request={"name": first.name})
    assert destroyed.state == secretmanager.SecretVersion.State.DESTROYED
    with pytest.raises(gexc.NotFound):
        client.access_secret_version(request={"name": "projects/demo/secrets/nope/versions/latest"})


def test_secret_storage_outage(stack: SandboxStack) -> None:
    client = _client(stack)
    stack.secretmanager.create_secret("demo", "s")
    stack.secretmanager.fail_add_version_next = 1
    with pytest.raises(gexc.ServiceUnavailable):
        client.add_secret_version(request={"parent": "projects/demo/secrets/s", "payload": {"data": b"x"}})
