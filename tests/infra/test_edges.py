"""Where the deployment meets what is outside Terraform's sight: who may be named an invoker,
which older secrets the runtime may reach, how the receiver reaches the sync function, and
what the source bucket keeps. Validations are evaluated by Terraform itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.infra.hcl import load, resources, terraform_accepts


@pytest.fixture(scope="module")
def tf() -> dict[str, Any]:
    return load()


def test_manual_invokers_are_users_groups_or_service_accounts(tf: dict[str, Any], tmp_path: Path) -> None:
    """Anything but a named user, group or service account (allUsers, allAuthenticatedUsers, a
    whole domain) is refused at plan time."""
    named = ["user:ops@example.com", "group:sales@example.com", "serviceAccount:ci@p.iam.gserviceaccount.com"]
    assert terraform_accepts(tf, "manual_invokers", named, tmp_path)
    for member in ("allUsers", "allAuthenticatedUsers", "domain:example.com", "user:", "ops@example.com"):
        assert not terraform_accepts(tf, "manual_invokers", [member], tmp_path), member


def test_token_secrets_named_before_the_prefix_are_granted_by_name_only(tf: dict[str, Any], tmp_path: Path) -> None:
    older = ["acme-teamleader-tokens", "acme-google-tokens", "acme-google-u1a2b3c4d5e-tokens"]
    assert terraform_accepts(tf, "names_outside_prefix", older, tmp_path)
    for name in ("teamleader-oauth-client", "google-oauth-client", "acme-tokens/versions/1", "other-app-password"):
        assert not terraform_accepts(tf, "names_outside_prefix", [name], tmp_path), name
    grant = resources(tf, "google_secret_manager_secret_iam_member")["runtime_tokens_outside_prefix"]
    assert grant["secret_id"] == "projects/${data.google_project.this.number}/secrets/${each.value}"
    settle = tf["resource"]["time_sleep"]["iam_settle"]
    assert "${google_secret_manager_secret_iam_member.runtime_tokens_outside_prefix}" in settle["depends_on"]


def test_the_receiver_reaches_the_sync_function_through_its_ingress(tf: dict[str, Any]) -> None:
    """The receiver calls the sync function's run.app address without VPC egress: internal-only
    ingress would refuse every targeted run, so no setting can make it so."""
    functions = resources(tf, "google_cloudfunctions2_function")
    receiver_env = functions["receiver"]["service_config"][0]["environment_variables"]
    assert receiver_env["SYNC_SYNC_FUNCTION_URL"] == "${google_cloudfunctions2_function.sync.service_config[0].uri}"
    assert "vpc_connector" not in functions["receiver"]["service_config"][0]
    assert functions["sync"]["service_config"][0]["ingress_settings"] == "ALLOW_ALL"
    # Room for the receiver's read deadline (about 5 s) and its 2 s hand-off to the sync function.
    assert functions["receiver"]["service_config"][0]["timeout_seconds"] >= 5 + 2
    assert "allow_ingress_from_internet" not in tf["variable"]


def test_the_source_bucket_deletes_replaced_sources(tf: dict[str, Any]) -> None:
    """Every source is named by its hash, so a rule on newer versions of one name never fires;
    a replaced source is a noncurrent version, deleted after 30 days, never the live one."""
    bucket = resources(tf, "google_storage_bucket")["source"]
    assert bucket["versioning"] == [{"enabled": True}]
    (rule,) = bucket["lifecycle_rule"]
    assert rule["condition"] == [{"days_since_noncurrent_time": 30, "with_state": "ARCHIVED"}]
    assert rule["action"] == [{"type": "Delete"}]
    source = resources(tf, "google_storage_bucket_object")["source"]
    assert source["name"] == "source-${data.archive_file.source.output_md5}.zip"
