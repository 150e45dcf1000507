"""The People sandbox, driven with google-api-python-client as Google documents it."""

from __future__ import annotations

import json
from typing import Any

import google_auth_httplib2
import httplib2
import pytest
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from sandbox.stack import SandboxStack
from tests.harness import google_user_credentials

READ = "names,clientData,memberships,metadata"


def people_service(stack: SandboxStack, user: str) -> Any:
    credentials = google_user_credentials(stack, user)
    http = google_auth_httplib2.AuthorizedHttp(credentials, http=httplib2.Http(timeout=10))
    return build(
        "people",
        "v1",
        http=http,
        static_discovery=True,
        client_options={"api_endpoint": stack.url("people")},
    )


def person(n: int, group: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "names": [{"givenName": f"Given{n}", "familyName": "Family"}],
        "clientData": [{"key": "teamleader_id", "value": f"tl-{n}"}],
    }
    if group:
        body["memberships"] = [{"contactGroupMembership": {"contactGroupResourceName": group}}]
    return body


def error_body(exc: HttpError) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(exc.content)["error"]
    return body


@pytest.fixture
def svc(stack: SandboxStack) -> Any:
    return people_service(stack, "ann@example.com")


def make_group(svc: Any, name: str = "Teamleader") -> str:
    group = svc.contactGroups().create(body={"contactGroup": {"name": name}}).execute()
    resource_name: str = group["resourceName"]
    return resource_name


def test_groups_create_list_and_taken_name(svc: Any) -> None:
    group = make_group(svc)
    assert group.startswith("contactGroups/")
    with pytest.raises(HttpError) as taken:
        make_group(svc)
    assert taken.value.status_code == 409
    names = [g["name"] for g in svc.contactGroups().list(pageSize=1000).execute()["contactGroups"]]
    assert "Teamleader" in names and "myContacts" in names


def test_batch_create_sets_membership_and_client_data(stack: SandboxStack, svc: Any) -> None:
    group = make_group(svc)
    created = (
        svc.people()
        .batchCreateContacts(
            body={"contacts": [{"contactPerson": person(i, group)} for i in range(3)], "readMask": READ}
        )
        .execute()["createdPeople"]
    )
    assert len(created) == 3
    first = created[0]["person"]
    assert first["resourceName"].startswith("people/c") and first["etag"]
    assert first["clientData"] == [{"key": "teamleader_id", "value": "tl-0"}]
    got = svc.contactGroups().get(resourceName=group, maxMembers=10).execute()
    assert len(got["memberResourceNames"]) == 3
    assert stack.people.count_with_client_data("ann@example.com", "teamleader_id", "tl-1") == 1


def test_batch_limits_and_unknown_fields_are_refused(svc: Any) -> None:
    with pytest.raises(HttpError) as too_many:
        svc.people().batchCreateContacts(
            body={"contacts": [{"contactPerson": person(i)} for i in range(201)], "readMask": "names"}
        ).execute()
    assert too_many.value.status_code == 400
    with pytest.raises(HttpError) as unknown:
        svc.people().batchCreateContacts(
            body={"contacts": [{"contactPerson": {"nickName": "x"}}], "readMask": "names"}
        ).execute()
    assert "Unknown name" in error_body(unknown.value)["message"]
    with pytest.raises(HttpError) as bad_mask:
        svc.people().batchUpdateContacts(
            body={"contacts": {"people/c1": {"etag": "x"}}, "updateMask": "photos", "readMask": "names"}
        ).execute()
    assert bad_mask.value.status_code == 400


def test_one_invalid_person_fails_the_whole_batch(stack: SandboxStack, svc: Any) -> None:
    contacts = [{"contactPerson": person(i)} for i in range(5)]
    contacts[3]["contactPerson"]["names"][0]["givenName"] = "x" * 1500
    with pytest.raises(HttpError) as failed:
        svc.people().batchCreateContacts(body={"contacts": contacts, "readMask": "names"}).execute()
    details = error_body(failed.value)["details"]
    assert list(details[0]["contactErrors"]) == ["3"]
    assert stack.people.count_with_client_data("ann@example.com", "teamleader_id", "tl-0") == 0


def test_etags_change_on_every_write_and_stale_ones_fail(stack: SandboxStack, svc: Any) -> None:
    created = (
        svc.people()
        .batchCreateContacts(body={"contacts": [{"contactPerson": person(1)}], "readMask": READ})
        .execute()["createdPeople"][0]["person"]
    )
    name, etag = created["resourceName"], created["etag"]
    update: dict[str, Any] = {
        "contacts": {name: {"etag": etag, "names": [{"givenName": "New", "familyName": "Name"}]}},
        "updateMask": "names",
        "readMask": "names",
    }
    result = svc.people().batchUpdateContacts(body=update).execute()["updateResult"][name]["person"]
    assert result["etag"] != etag
    with pytest.raises(HttpError) as stale:
        svc.people().batchUpdateContacts(body=update).execute()
    assert error_body(stale.value)["status"] == "FAILED_PRECONDITION"
    assert name in error_body(stale.value)["details"][0]["contactErrors"]
    stack.people.etag_churn_next = 1
    fresh = svc.people().getBatchGet(resourceNames=[name], personFields="names").execute()
    update["contacts"][name]["etag"] = fresh["responses"][0]["person"]["etag"]
    with pytest.raises(HttpError) as churned:
        svc.people().batchUpdateContacts(body=update).execute()
    assert error_body(churned.value)["status"] == "FAILED_PRECONDITION"


def test_update_mask_clears_missing_fields(svc: Any) -> None:
    body = person(1)
    body["phoneNumbers"] = [{"value": "+32 9 123 45 67", "type": "work"}]
    created = svc.people().createContact(body=body, personFields="phoneNumbers").execute()
    svc.people().batchUpdateContacts(
        body={
            "contacts": {created["resourceName"]: {"etag": created["etag"]}},
            "updateMask": "phoneNumbers",
            "readMask": "phoneNumbers",
        }
    ).execute()
    got = svc.people().get(resourceName=created["resourceName"], personFields="phoneNumbers,names").execute()
    assert "phoneNumbers" not in got and got["names"]


def test_lists_lag_writes_while_batch_get_is_immediate(stack: SandboxStack, svc: Any) -> None:
    stack.people.propagation_delay = 180
    group = make_group(svc)
    created = (
        svc.people()
        .batchCreateContacts(body={"contacts": [{"contactPerson": person(1, group)}], "readMask": "names"})
        .execute()["createdPeople"][0]["person"]
    )
    listed = svc.people().connections().list(resourceName="people/me", personFields="clientData").execute()
    assert listed.get("connections", []) == []
    assert "memberResourceNames" not in svc.contactGroups().get(resourceName=group, maxMembers=5).execute()
    assert svc.people().searchContacts(query="Given1", readMask="names").execute()["results"] == []
    got = svc.people().getBatchGet(resourceNames=[created["resourceName"]], personFields="names").execute()
    assert got["responses"][0]["httpStatusCode"] == 200
    stack.clock.advance(181)
    listed = svc.people().connections().list(resourceName="people/me", personFields="clientData").execute()
    assert [p["resourceName"] for p in listed["connections"]] == [created["resourceName"]]


def test_sync_tokens_show_deletions_and_expire(stack: SandboxStack, svc: Any) -> None:
    created = svc.people().createContact(body=person(1), personFields="names").execute()
    first = (
        svc.people().connections().list(resourceName="people/me", personFields="names", requestSyncToken=True).execute()
    )
    token = first["nextSyncToken"]
    stack.clock.advance(1)
    svc.people().deleteContact(resourceName=created["resourceName"]).execute()
    stack.clock.advance(1)
    changes = (
        svc.people()
        .connections()
        .list(resourceName="people/me", personFields="names,metadata", syncToken=token)
        .execute()
    )
    assert changes["connections"][0]["metadata"]["deleted"] is True
    stack.clock.advance(8 * 24 * 3600)
    with pytest.raises(HttpError) as expired:
        svc.people().connections().list(
            resourceName="people/me", personFields="names", syncToken=changes["nextSyncToken"]
        ).execute()
    assert expired.value.status_code == 400
    assert "expired" in error_body(expired.value)["message"]


def test_write_quota_per_user_gives_429(stack: SandboxStack, svc: Any) -> None:
    stack.people.write_quota_per_minute = 2
    svc.people().createContact(body=person(1)).execute()
    svc.people().createContact(body=person(2)).execute()
    with pytest.raises(HttpError) as throttled:
        svc.people().createContact(body=person(3)).execute()
    assert throttled.value.status_code == 429
    assert error_body(throttled.value)["status"] == "RESOURCE_EXHAUSTED"
    other = people_service(stack, "bob@example.com")  # quotas are per user
    other.people().createContact(body=person(4)).execute()


def test_contact_limit(stack: SandboxStack, svc: Any) -> None:
    stack.people.max_contacts = 2
    svc.people().batchCreateContacts(
        body={"contacts": [{"contactPerson": person(i)} for i in range(2)], "readMask": "names"}
    ).execute()
    with pytest.raises(HttpError) as full:
        svc.people().createContact(body=person(3)).execute()
    assert full.value.status_code == 400


def test_users_are_isolated_by_bearer_token(stack: SandboxStack, svc: Any) -> None:
    make_group(svc)
    other = people_service(stack, "bob@example.com")
    make_group(other)  # the same name is free in another account
    svc.people().createContact(body=person(1)).execute()
    assert (
        other.people()
        .connections()
        .list(resourceName="people/me", personFields="names")
        .execute()
        .get("connections", [])
        == []
    )


def test_hand_deletions_of_persons_and_groups(stack: SandboxStack, svc: Any) -> None:
    group = make_group(svc)
    created = svc.people().createContact(body=person(1, group), personFields="names").execute()
    stack.people.delete_group_by_hand("ann@example.com", "Teamleader")
    with pytest.raises(HttpError) as gone:
        svc.contactGroups().get(resourceName=group).execute()
    assert gone.value.status_code == 404
    stack.people.delete_person_by_hand("ann@example.com", created["resourceName"])
    with pytest.raises(HttpError) as missing:
        svc.people().batchDeleteContacts(body={"resourceNames": [created["resourceName"]]}).execute()
    assert missing.value.status_code == 404


def test_revoked_refresh_token_is_invalid_grant(stack: SandboxStack, svc: Any) -> None:
    stack.people.revoke("ann@example.com")
    from google.auth.exceptions import RefreshError

    with pytest.raises(RefreshError, match="invalid_grant"):
        svc.contactGroups().list().execute()


def test_update_contact_and_members_modify(stack: SandboxStack, svc: Any) -> None:
    group = make_group(svc)
    created = svc.people().createContact(body=person(1), personFields="names,memberships").execute()
    name = created["resourceName"]
    answer = (
        svc.contactGroups()
        .members()
        .modify(resourceName=group, body={"resourceNamesToAdd": [name, "people/c404"]})
        .execute()
    )
    assert answer["notFoundResourceNames"] == ["people/c404"]
    assert [p.resource_name for p in stack.people.members("ann@example.com", "Teamleader")] == [name]
    fresh = svc.people().get(resourceName=name, personFields="names").execute()
    body = {"etag": fresh["etag"], "names": [{"givenName": "Patched", "familyName": "Name"}]}
    patched = (
        svc.people()
        .updateContact(resourceName=name, updatePersonFields="names", personFields="names", body=body)
        .execute()
    )
    assert patched["names"][0]["givenName"] == "Patched"
    with pytest.raises(HttpError) as stale:
        svc.people().updateContact(resourceName=name, updatePersonFields="names", body=body).execute()
    assert error_body(stale.value)["status"] == "FAILED_PRECONDITION"
    # Taken out of the group, the person keeps its other membership (My Contacts).
    svc.contactGroups().members().modify(
        resourceName="contactGroups/" + group.split("/")[1], body={"resourceNamesToRemove": [name]}
    ).execute()
    assert stack.people.members("ann@example.com", "Teamleader") == []
