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

import pytest

from sync.state import companies_firestore
from sync.state.idmap_firestore import COLLECTION, FIELD
from tests.infra.hcl import ROOT, TF, depends_on, load, resources, text
from tests.infra.hcl import local as _local

PUBLIC = {"allUsers", "allAuthenticatedUsers"}


@pytest.fixture(scope="module")
def tf() -> dict[str, Any]:
    return load()


def test_nothing_is_public_but_the_webhook_receiver(tf: dict[str, Any]) -> None:
    public = []
    for rtype, named in tf["resource"].items():
        if "iam" in rtype:
            for name, body in named.items():
                if PUBLIC & set(re.findall(r"all(?:Authenticated)?Users", text(body))):
                    public.append((rtype, name, body))
    # Teamleader cannot present an identity: only the public functions (public.tf: the receiver)
    # may be opened to allUsers, and only when var.public_access says so.
    ((rtype, name, body),) = public
    assert (rtype, name, body["member"], body["role"]) == (
        "google_cloud_run_service_iam_member",
        "public",
        "allUsers",
        "roles/run.invoker",
    )
    assert "local.public_functions" in body["for_each"] and 'var.public_access == "all_users"' in body["for_each"]
    bucket = resources(tf, "google_storage_bucket")["source"]
    assert bucket["uniform_bucket_level_access"] is True
    assert bucket["public_access_prevention"] == "enforced"


def test_the_webhook_receiver_holds_no_secret_and_may_only_ask_for_runs(tf: dict[str, Any]) -> None:
    receiver = resources(tf, "google_cloudfunctions2_function")["receiver"]
    config = receiver["service_config"][0]
    assert receiver["build_config"][0]["entry_point"] == "receive_webhook"
    assert "google_service_account.receiver" in config["service_account_email"]
    assert not any("SECRET" in name for name in config["environment_variables"])
    assert "google_cloudfunctions2_function.sync" in config["environment_variables"]["SYNC_SYNC_FUNCTION_URL"]
    grants = [
        (rtype, body)
        for rtype in (
            "google_project_iam_member",
            "google_cloud_run_service_iam_member",
            "google_secret_manager_secret_iam_member",
        )
        for body in resources(tf, rtype).values()
        if "google_service_account.receiver" in text(body.get("member", ""))
    ]
    assert sorted((rtype, body["role"]) for rtype, body in grants) == [
        ("google_cloud_run_service_iam_member", "roles/run.invoker"),
        ("google_project_iam_member", "roles/datastore.user"),
    ]
    (invoke,) = [body for rtype, body in grants if rtype == "google_cloud_run_service_iam_member"]
    assert "google_cloudfunctions2_function.sync" in invoke["service"]
    # The sync function itself stays private.
    sync = resources(tf, "google_cloudfunctions2_function")["sync"]
    assert sync["build_config"][0]["entry_point"] == "sync_http"


def test_runtime_identity_has_only_what_it_needs(tf: dict[str, Any]) -> None:
    runtime_grants = [b for b in resources(tf, "google_project_iam_member").values() if "runtime" in b["member"]]
    assert {b["role"] for b in runtime_grants} == {
        "roles/datastore.user",
        "${google_project_iam_custom_role.token_rotator.id}",
    }
    assert "google_project_iam_binding" not in tf["resource"]
    # Token secrets: add, list, disable and destroy versions (and read them), nothing else...
    rotator = resources(tf, "google_project_iam_custom_role")["token_rotator"]
    assert sorted(rotator["permissions"]) == [
        "secretmanager.versions.access",
        "secretmanager.versions.add",
        "secretmanager.versions.destroy",
        "secretmanager.versions.disable",
        "secretmanager.versions.list",
    ]
    # ... and only on the deployment's token secrets, present and future: a condition on the
    # name's prefix that leaves out the OAuth clients' secrets.
    # (test_page.py evaluates it: the prefix, less each client's secret by its full name.)
    (token_grant,) = [b for b in runtime_grants if "token_rotator" in b["role"]]
    assert token_grant["condition"][0]["expression"] == "${local.token_secrets_only}"
    expression = _local(tf, "token_secrets_only")
    assert "resource.name.startsWith" in expression and "local.secrets_path" in expression
    assert "!resource.name.startsWith" in expression and "local.app_secrets" in expression
    assert 'secret_prefix = "${var.name}-"' in (TF / "identities.tf").read_text()
    # The OAuth clients' secrets are only read.
    per_secret = resources(tf, "google_secret_manager_secret_iam_member")
    client_grant = per_secret["runtime_client_access"]
    assert client_grant["role"] == "roles/secretmanager.secretAccessor"
    assert client_grant["for_each"] == "${google_secret_manager_secret.app}"
    # Token secrets named without the prefix: the same token role, on each name listed, only.
    older = per_secret["runtime_tokens_outside_prefix"]
    assert older["role"] == token_grant["role"] and older["for_each"] == "${toset(var.names_outside_prefix)}"
    runtime_per_secret = {
        name for name, grant in per_secret.items() if "google_service_account.runtime" in grant["member"]
    }
    assert runtime_per_secret == {"runtime_client_access", "runtime_tokens_outside_prefix"}
    function = resources(tf, "google_cloudfunctions2_function")["sync"]
    service = function["service_config"][0]
    assert "google_service_account.runtime.email" in service["service_account_email"]
    # No logging.logWriter: Cloud Run writes what the function prints without it.
    assert "roles/logging.logWriter" not in {b["role"] for b in runtime_grants}
    assert service["environment_variables"]["SYNC_SECRET_PREFIX"] == "${local.secret_prefix}"


def test_the_function_is_built_by_its_own_account_once_iam_has_settled(tf: dict[str, Any]) -> None:
    function = resources(tf, "google_cloudfunctions2_function")["sync"]
    assert function["build_config"][0]["service_account"] == "${google_service_account.build.id}"
    roles = _local(tf, "build_roles")
    # The roles the provider's documentation lists for a function's build service account.
    assert sorted(roles) == ["roles/artifactregistry.writer", "roles/logging.logWriter", "roles/storage.objectAdmin"]
    grants = resources(tf, "google_project_iam_member")["build"]
    assert "google_service_account.build.email" in grants["member"]
    iam_settle = tf["resource"]["time_sleep"]["iam_settle"]
    assert "google_project_iam_member.build" in depends_on(iam_settle)
    assert "google_project_iam_member.runtime_token_secrets" in depends_on(iam_settle)
    assert "time_sleep.iam_settle" in depends_on(function)


def test_everything_waits_for_the_apis(tf: dict[str, Any]) -> None:
    services = text(tf["locals"])
    for api in ("cloudfunctions", "run", "cloudscheduler", "secretmanager", "firestore", "cloudbuild", "logging"):
        assert f"{api}.googleapis.com" in services
    for api in ("people", "cloudresourcemanager", "iam", "monitoring", "artifactregistry"):
        assert f"{api}.googleapis.com" in services
    settle = tf["resource"]["time_sleep"]["apis_settle"]
    assert "google_project_service.enabled" in depends_on(settle)
    waiting = (
        "google_service_account",
        "google_secret_manager_secret",
        "google_firestore_database",
        "google_project_iam_custom_role",
        "google_storage_bucket",
        "google_logging_metric",
        "google_monitoring_notification_channel",
    )
    for rtype in waiting:
        for name, body in resources(tf, rtype).items():
            assert "time_sleep.apis_settle" in depends_on(body), f"{rtype}.{name}"
    function = resources(tf, "google_cloudfunctions2_function")["sync"]
    assert "google_firestore_database.state" in depends_on(function)


def test_only_the_scheduler_and_named_people_may_invoke(tf: dict[str, Any]) -> None:
    invokers = resources(tf, "google_cloud_run_service_iam_member")
    assert {b["role"] for b in invokers.values()} == {"roles/run.invoker"}
    assert "google_service_account.scheduler" in invokers["scheduler_invoker"]["member"]
    assert invokers["manual_invokers"]["for_each"] == "${toset(var.manual_invokers)}"
    accounts = resources(tf, "google_service_account")
    assert len({body["account_id"] for body in accounts.values()}) == len(accounts)


def test_function_is_gen2_python312_sized_by_variables(tf: dict[str, Any]) -> None:
    function = resources(tf, "google_cloudfunctions2_function")["sync"]
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
    assert "main.py" in text(archive) and "sync/**/*.py" in text(archive)
    # Every file the package holds besides its modules (the page's templates and stylesheet)
    # is packed too, or the deployed page could not render.
    others = {p.suffix for p in (ROOT / "sync").rglob("*.*") if p.suffix not in {".py", ".pyc"}}
    assert others and all(f"sync/**/*{suffix}" in text(archive) for suffix in others)


def test_sessions_and_reports_expire_by_firestores_ttl(tf: dict[str, Any]) -> None:
    fields = resources(tf, "google_firestore_field")
    expiring = {(f["collection"], f["field"]) for f in fields.values() if "ttl_config" in f}
    assert expiring == {("runs", "expire_at"), ("accounts-sessions", "expire_at")}


def test_the_id_maps_packed_entries_are_not_indexed(tf: dict[str, Any]) -> None:
    """A shard's entries (sync/state/idmap_firestore.py) would each make index entries, 40,000
    at most a document: the field is exempt, an `index_config` with no index."""
    packed = resources(tf, "google_firestore_field")["idmap_unindexed"]
    assert (packed["collection"], packed["field"]) == (COLLECTION, FIELD)
    assert not packed["index_config"] or packed["index_config"] == [{}]


def test_the_companies_packed_in_shards_are_not_indexed_but_their_people_are(tf: dict[str, Any]) -> None:
    """A shard's companies (sync/state/companies_firestore.py) are exempt from indexing like the
    id map's entries; its people array keeps the index `companies_of` queries."""
    fields = resources(tf, "google_firestore_field")
    packed = fields["companies_unindexed"]
    assert (packed["collection"], packed["field"]) == (companies_firestore.COLLECTION, companies_firestore.FIELD)
    assert not packed["index_config"] or packed["index_config"] == [{}]
    exempt = {(f["collection"], f["field"]) for f in fields.values()}
    assert (companies_firestore.COLLECTION, companies_firestore.PEOPLE) not in exempt


def test_a_first_run_goes_on_within_minutes_not_the_next_hour(tf: dict[str, Any]) -> None:
    """A tick every few minutes serves unfinished accounts at once and finished ones hourly
    (sync/serve/runner/due.py `is_due`); one invocation may work for up to 29 minutes, within the
    30 minutes Cloud Scheduler waits, so a 25,000-contact first run needs one or two."""
    job = resources(tf, "google_cloud_scheduler_job")["tick"]
    assert job["schedule"] == "*/${var.tick_minutes} * * * *"
    assert tf["variable"]["tick_minutes"]["default"] == 5
    assert tf["variable"]["run_every_minutes"]["default"] == 60
    assert tf["variable"]["function_timeout_seconds"]["default"] == 1800
    assert job["attempt_deadline"] == "${local.attempt_deadline_seconds}s"
    assert "min(var.function_timeout_seconds, 1800)" in text(tf["locals"])
    assert job["retry_config"][0]["retry_count"] == 0  # the next tick is the retry
    target = job["http_target"][0]
    assert target["http_method"] == "POST"
    assert target["body"] == "${base64encode(jsonencode({scheduled = true}))}"
    oidc = target["oidc_token"][0]
    assert "google_service_account.scheduler.email" in oidc["service_account_email"]
    assert oidc["audience"] == target["uri"]
    env = resources(tf, "google_cloudfunctions2_function")["sync"]["service_config"][0]["environment_variables"]
    assert env["SYNC_TIME_BUDGET_SECONDS"] == "${tostring(local.attempt_deadline_seconds - 60)}"
    assert env["SYNC_TICK_MINUTES"] == "${tostring(var.tick_minutes)}"
    assert env["SYNC_RUN_EVERY_MINUTES"] == "${tostring(var.run_every_minutes)}"


def test_secret_values_never_pass_through_terraform(tf: dict[str, Any]) -> None:
    assert "google_secret_manager_secret_version" not in tf["resource"]
    for name in tf["variable"]:
        assert not re.search(r"secret|token|password", name), name
    secrets = resources(tf, "google_secret_manager_secret")["app"]
    assert secrets["for_each"] == "${toset(local.app_secrets)}"
    locals_text = text(tf["locals"])
    assert "teamleader-oauth-client" in locals_text and "google-oauth-client" in locals_text


def test_firestore_native_with_a_ttl_on_run_reports(tf: dict[str, Any]) -> None:
    database = resources(tf, "google_firestore_database")["state"]
    assert database["type"] == "FIRESTORE_NATIVE"
    ttl = resources(tf, "google_firestore_field")["report_ttl"]
    assert (ttl["collection"], ttl["field"]) == ("runs", "expire_at")
    assert "ttl_config" in ttl


def test_variables_documented_and_the_environment_complete(tf: dict[str, Any]) -> None:
    for name, body in tf["variable"].items():
        assert body.get("description"), f"variable {name} has no description"
    environment = (TF / "env" / f"{tf['variable']['environment']['default']}.tfvars").read_text()
    set_in_environment = set(re.findall(r"^(\w+)\s*=", environment, re.MULTILINE))
    assert set_in_environment <= set(tf["variable"])
    assert "project_id" in set_in_environment
    assert {"function_url", "webhook_url", "operator_env"} <= set(tf["output"])
    # Values, not commands: what $(terraform output -raw NAME) gives is never parsed again.
    for name, output in tf["output"].items():
        assert not re.search(r"\$\(|\bcurl\b|\"", str(output["value"])), name
    assert "SYNC_SECRET_PREFIX=${local.secret_prefix}" in tf["output"]["operator_env"]["value"]


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
