"""Workspace delegation in the Terraform: its own service account with no key and no project
role, the runtime allowed to sign as that one account only, and the client id and scopes the
Workspace admin enters given as outputs."""

from __future__ import annotations

from typing import Any

import pytest

from sync.google.delegation import DIRECTORY_MEMBERS_SCOPE
from sync.google.people import SCOPES
from tests.infra.hcl import load, resources
from tests.infra.hcl import local as _local


@pytest.fixture(scope="module")
def tf() -> dict[str, Any]:
    return load()


def test_no_key_is_ever_made(tf: dict[str, Any]) -> None:
    assert "google_service_account_key" not in tf["resource"]
    assert "google_service_account" in tf["resource"] and "delegate" in resources(tf, "google_service_account")


def test_the_runtime_signs_as_the_delegated_account_only(tf: dict[str, Any]) -> None:
    creators = [
        (rtype, name, body)
        for rtype, named in tf["resource"].items()
        if "iam" in rtype
        for name, body in named.items()
        if body.get("role") == "roles/iam.serviceAccountTokenCreator"
    ]
    ((rtype, _, grant),) = creators
    assert rtype == "google_service_account_iam_member"
    assert grant["service_account_id"] == "${google_service_account.delegate.name}"
    assert grant["member"] == "serviceAccount:${google_service_account.runtime.email}"
    # The delegated account itself holds no role in the project.
    for body in resources(tf, "google_project_iam_member").values():
        assert "delegate" not in body["member"]
    service = resources(tf, "google_cloudfunctions2_function")["sync"]["service_config"][0]
    assert service["environment_variables"]["SYNC_DELEGATION_SERVICE_ACCOUNT"] == (
        "${google_service_account.delegate.email}"
    )


def test_the_admin_is_given_the_client_id_and_the_scopes_the_sync_asks_for(tf: dict[str, Any]) -> None:
    assert tf["output"]["delegated_client_id"]["value"] == "${google_service_account.delegate.unique_id}"
    assert tf["output"]["delegated_scopes"]["value"] == "${local.delegated_scopes}"
    for scope in (*SCOPES, DIRECTORY_MEMBERS_SCOPE):
        assert f'"{scope}"' in _local(tf, "delegated_scopes")
    assert {"admin.googleapis.com", "iamcredentials.googleapis.com"} <= set(_local(tf, "services"))
