"""The deployment's security properties, read from the Terraform itself (python-hcl2), plus
`terraform fmt -check` and a checkov scan. Providers cannot be downloaded here, so there is no
`terraform init`; Cloud Build runs `validate` and `plan` where they can."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import hcl2
import pytest

TF = Path(__file__).resolve().parents[2] / "infra" / "terraform"
PUBLIC = {"allUsers", "allAuthenticatedUsers"}


def _clean(value: Any) -> Any:
    """python-hcl2 keeps HCL's quotes around names and strings; take them off."""
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items() if k not in ("__is_block__", "__comments__")}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def _load() -> dict[str, Any]:
    """Every block of every .tf file: {"resource": {type: {name: body}}, "variable": {...}, ...}"""
    merged: dict[str, Any] = {}
    for path in sorted(TF.glob("*.tf")):
        with open(path) as handle:
            parsed = _clean(hcl2.load(handle))
        for kind, blocks in parsed.items():
            for block in blocks if isinstance(blocks, list) else [blocks]:
                if kind in ("resource", "data"):
                    for rtype, named in block.items():
                        merged.setdefault(kind, {}).setdefault(rtype, {}).update(named)
                elif kind in ("variable", "output"):
                    merged.setdefault(kind, {}).update(block)
                else:
                    merged.setdefault(kind, []).append(block)
    return merged


@pytest.fixture(scope="module")
def tf() -> dict[str, Any]:
    return _load()


def _resources(tf: dict[str, Any], rtype: str) -> dict[str, Any]:
    found: dict[str, Any] = tf["resource"].get(rtype, {})
    return found


def _text(value: Any) -> str:
    return json.dumps(value)


def test_nothing_is_public(tf: dict[str, Any]) -> None:
    for rtype, named in tf["resource"].items():
        if "iam" in rtype:
            for name, body in named.items():
                assert not PUBLIC & set(re.findall(r"all(?:Authenticated)?Users", _text(body))), f"{rtype}.{name}"
    variables = tf["variable"]["manual_invokers"]
    assert "allUsers" in _text(variables["validation"])  # the variable itself refuses public members
    bucket = _resources(tf, "google_storage_bucket")["source"]
    assert bucket["uniform_bucket_level_access"] is True
    assert bucket["public_access_prevention"] == "enforced"


def test_runtime_identity_has_only_what_it_needs(tf: dict[str, Any]) -> None:
    project_roles = {
        body["role"] for body in _resources(tf, "google_project_iam_member").values() if "runtime" in body["member"]
    }
    assert project_roles == {"roles/datastore.user", "roles/logging.logWriter"}
    assert "google_project_iam_binding" not in tf["resource"]
    # Secret roles are granted secret by secret, on the deployment's own secrets only.
    secret_grants = _resources(tf, "google_secret_manager_secret_iam_member")
    assert {b["role"] for b in secret_grants.values()} == {
        "roles/secretmanager.secretAccessor",
        "roles/secretmanager.secretVersionManager",
    }
    for grant in secret_grants.values():
        assert grant["for_each"] == "${google_secret_manager_secret.sync}"
        assert "google_service_account.runtime" in grant["member"]
    function = _resources(tf, "google_cloudfunctions2_function")["sync"]
    assert "google_service_account.runtime.email" in function["service_config"][0]["service_account_email"]


def test_only_the_scheduler_and_named_people_may_invoke(tf: dict[str, Any]) -> None:
    invokers = _resources(tf, "google_cloud_run_service_iam_member")
    assert {b["role"] for b in invokers.values()} == {"roles/run.invoker"}
    assert "google_service_account.scheduler" in invokers["scheduler_invoker"]["member"]
    assert invokers["manual_invokers"]["for_each"] == "${toset(var.manual_invokers)}"
    scheduler_sa = _resources(tf, "google_service_account")["scheduler"]
    runtime_sa = _resources(tf, "google_service_account")["runtime"]
    assert scheduler_sa["account_id"] != runtime_sa["account_id"]


def test_function_is_gen2_python312_sized_by_variables(tf: dict[str, Any]) -> None:
    function = _resources(tf, "google_cloudfunctions2_function")["sync"]
    build = function["build_config"][0]
    assert build["runtime"] == "python312" and build["entry_point"] == "sync_http"
    storage = build["source"][0]["storage_source"][0]
    assert "google_storage_bucket.source" in storage["bucket"]
    service = function["service_config"][0]
    assert service["available_memory"] == "${var.function_memory}"
    assert service["timeout_seconds"] == "${var.function_timeout_seconds}"
    assert service["max_instance_count"] == "${var.function_max_instances}"
    env = service["environment_variables"]
    assert env["SYNC_STATE_BACKEND"] == "firestore" and env["SYNC_SECRETS_BACKEND"] == "secretmanager"
    archive = tf["data"]["archive_file"]["source"]
    assert "main.py" in _text(archive) and "sync/**/*.py" in _text(archive)


def test_scheduler_fires_hourly_with_oidc_and_retries(tf: dict[str, Any]) -> None:
    job = _resources(tf, "google_cloud_scheduler_job")["hourly"]
    assert tf["variable"]["schedule"]["default"] == "0 * * * *"
    assert job["schedule"] == "${var.schedule}"
    assert job["attempt_deadline"] == "${var.function_timeout_seconds}s"
    assert job["retry_config"][0]["retry_count"] >= 1
    target = job["http_target"][0]
    assert target["http_method"] == "POST"
    oidc = target["oidc_token"][0]
    assert "google_service_account.scheduler.email" in oidc["service_account_email"]
    assert oidc["audience"] == target["uri"]


def test_secret_values_never_pass_through_terraform(tf: dict[str, Any]) -> None:
    assert "google_secret_manager_secret_version" not in tf["resource"]
    for name in tf["variable"]:
        assert not re.search(r"secret|token|password", name), name
    secrets = _resources(tf, "google_secret_manager_secret")["sync"]
    assert secrets["for_each"] == "${toset(local.secrets)}"
    locals_text = _text(tf["locals"])
    assert "teamleader-oauth-client" in locals_text and "google-oauth-client" in locals_text
    assert "-teamleader-tokens" in locals_text and "-google-tokens" in locals_text


def test_firestore_native_with_a_ttl_on_run_reports(tf: dict[str, Any]) -> None:
    database = _resources(tf, "google_firestore_database")["state"]
    assert database["type"] == "FIRESTORE_NATIVE"
    ttl = _resources(tf, "google_firestore_field")["report_ttl"]
    assert (ttl["collection"], ttl["field"]) == ("runs", "expire_at")
    assert "ttl_config" in ttl


def test_needed_apis_are_enabled(tf: dict[str, Any]) -> None:
    services = _text(tf["locals"])
    apis = ("cloudfunctions", "run", "cloudscheduler", "secretmanager", "firestore", "cloudbuild", "logging", "people")
    for api in apis:
        assert f"{api}.googleapis.com" in services


def test_variables_documented_and_example_complete(tf: dict[str, Any]) -> None:
    for name, body in tf["variable"].items():
        assert body.get("description"), f"variable {name} has no description"
    example = (TF / "terraform.tfvars.example").read_text()
    set_in_example = set(re.findall(r"^(\w+)\s*=", example, re.MULTILINE))
    assert set_in_example <= set(tf["variable"])
    assert "project_id" in set_in_example
    assert {"function_url", "curl_command"} <= set(tf["output"])
    assert "print-identity-token" in tf["output"]["curl_command"]["value"]


def test_terraform_fmt_is_clean() -> None:
    terraform = shutil.which("terraform")
    assert terraform, "terraform is needed for `terraform fmt -check`"
    result = subprocess.run([terraform, "fmt", "-check", "-recursive", str(TF)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_checkov_finds_nothing_unexplained() -> None:
    checkov = os.environ.get("CHECKOV_BIN") or str(Path(__file__).resolve().parents[2] / ".venv/checkov/bin/checkov")
    assert Path(checkov).exists(), "checkov is installed by `make test` into .venv/checkov"
    result = subprocess.run(
        [checkov, "-d", str(TF), "--framework", "terraform", "--output", "json", "--skip-download"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    report = json.loads(result.stdout)
    reports = report if isinstance(report, list) else [report]
    failed = [c for r in reports for c in r.get("results", {}).get("failed_checks", [])]
    assert not failed, [(c["check_id"], c["resource"]) for c in failed]
    skipped = [c for r in reports for c in r.get("results", {}).get("skipped_checks", [])]
    assert all(c["check_result"].get("suppress_comment") for c in skipped), "every suppression carries its reason"
