"""The Cloud Build configurations: checks for pull requests and branches under a low-privilege
account; for main a plan, then its apply once a named person has approved it; pinned images,
and settings that live in the repository. The two builds of main run step by step in
test_deploy_builds.py."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from tests.infra.hcl import TF, terraform_accepts
from tests.infra.hcl import load as _load

ROOT = TF.parents[1]


def _build(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / name).read_text())
    return loaded


def _script(step: dict[str, Any]) -> str:
    return "\n".join(str(arg) for arg in step.get("args", []))


def test_every_image_is_pinned_and_the_tests_run_on_the_functions_python() -> None:
    for name in ("cloudbuild.yaml", "cloudbuild-plan.yaml", "cloudbuild-deploy.yaml"):
        for step in _build(name)["steps"]:
            image = step["name"]
            assert re.search(r":\d+\.\d+\.\d+", image), f"{name}: {image} is not pinned to a version"
    for name in ("cloudbuild.yaml", "cloudbuild-plan.yaml"):
        (test,) = [s for s in _build(name)["steps"] if s["id"] == "test"]
        assert test["name"].startswith("python:3.12."), "the function runs python312"
        assert _script(test) == ".ci/cloudbuild-test"
    # No download at all, so no checksum to trust: Terraform comes from its pinned image.
    script = (ROOT / ".ci" / "cloudbuild-test").read_text()
    assert "releases.hashicorp.com" not in script and "make test" in script
    assert "google-cloud-cli-firestore-emulator" in script and "openjdk-17" in script


def test_checks_plan_nothing_and_keep_nothing() -> None:
    build = _build("cloudbuild.yaml")
    assert "artifacts" not in build
    scripts = "\n".join(_script(step) for step in build["steps"])
    assert "terraform validate" in scripts and "-backend=false" in scripts
    assert "terraform plan" not in scripts and "terraform apply" not in scripts


def test_main_plans_in_one_build_and_applies_that_plan_in_another() -> None:
    plan = _build("cloudbuild-plan.yaml")
    steps = {step["id"]: _script(step) for step in plan["steps"]}
    assert list(steps) == ["terraform-binary", "test", "terraform-plan", "keep-plan"]
    assert '-var-file="env/${_ENV}.tfvars" -out=tfplan' in steps["terraform-plan"]
    # Kept by a step of its own, not as artifacts: those are uploaded only if every step passed.
    assert "artifacts" not in plan
    assert (TF / "env" / f"{plan['substitutions']['_ENV']}.tfvars").exists()
    deploy = _build("cloudbuild-deploy.yaml")
    steps = {step["id"]: _script(step) for step in deploy["steps"]}
    assert list(steps) == ["terraform-binary", "fetch-plan", "terraform-apply"]
    assert "terraform plan" not in "\n".join(steps.values()), "the deploy applies the plan it was shown, no other"
    assert "artifacts" not in deploy
    for step in deploy["steps"][1:]:
        assert step["name"].startswith("gcr.io/google.com/cloudsdktool/google-cloud-cli:"), "gcloud for public.tf"


def test_triggers_split_checks_from_a_plan_and_an_approved_deploy_of_main() -> None:
    tf = _load()
    triggers = tf["resource"]["google_cloudbuild_trigger"]
    checks = triggers["checks"]
    assert checks["for_each"] == '${toset(local.ci_enabled ? ["pull-requests", "branches"] : [])}'
    assert checks["filename"] == "cloudbuild.yaml"
    assert checks["service_account"] == "${google_service_account.ci[0].id}"
    events = checks["github"][0]["dynamic"]
    by_event = {name: body for block in events for name, body in block.items()}
    assert by_event["pull_request"]["content"][0] == {"branch": ".*"}
    assert by_event["push"]["content"][0] == {"branch": "^main$", "invert_regex": True}
    plan, deploy = triggers["plan"], triggers["deploy"]
    assert (plan["filename"], deploy["filename"]) == ("cloudbuild-plan.yaml", "cloudbuild-deploy.yaml")
    for trigger in (plan, deploy):
        assert trigger["service_account"] == "${google_service_account.deployer[0].id}"
        assert trigger["github"][0]["push"][0]["branch"] == "^main$"
        assert trigger["substitutions"]["_PLANS_BUCKET"] == "${var.plans_bucket}"
    assert "approval_config" not in plan, "the plan is shown before anyone is asked"
    assert deploy["approval_config"][0]["approval_required"] is True
    # Someone named may approve; a deploy trigger without anyone is refused at plan time.
    approvers = tf["resource"]["google_project_iam_member"]["deploy_approvers"]
    assert approvers["role"] == "roles/cloudbuild.builds.approver"
    assert approvers["for_each"] == "${toset(local.ci_enabled ? var.deploy_approvers : [])}"
    (precondition,) = deploy["lifecycle"][0]["precondition"]
    assert precondition["condition"] == "${length(var.deploy_approvers) > 0}"
    ci_roles = tf["resource"]["google_project_iam_member"]["ci_logs"]
    assert ci_roles["role"] == "roles/logging.logWriter"


def test_approvers_are_people(tmp_path: Path) -> None:
    tf = _load()
    assert terraform_accepts(tf, "deploy_approvers", ["user:lead@example.com", "group:ops@example.com"], tmp_path)
    for member in ("serviceAccount:ci@p.iam.gserviceaccount.com", "allUsers", "domain:example.com"):
        assert not terraform_accepts(tf, "deploy_approvers", [member], tmp_path), member


def test_the_readme_lists_the_deployers_roles_exactly() -> None:
    tf = _load()
    roles = next(block["deployer_roles"] for block in tf["locals"] if "deployer_roles" in block)
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("<!-- deployer roles -->") : readme.index("<!-- /deployer roles -->")]
    assert sorted(re.findall(r"`(roles/[\w.]+)`", section)) == sorted(roles)


def test_the_test_script_is_executable() -> None:
    assert Path(ROOT / ".ci" / "cloudbuild-test").stat().st_mode & 0o111
