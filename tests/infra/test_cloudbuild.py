"""The Cloud Build configurations: checks for pull requests and branches under a low-privilege
account, a deploy of main that applies only after approval, pinned images, and settings that
live in the repository."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from tests.infra.hcl import TF
from tests.infra.hcl import load as _load

ROOT = TF.parents[1]


def _build(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / name).read_text())
    return loaded


def _script(step: dict[str, Any]) -> str:
    return "\n".join(str(arg) for arg in step.get("args", []))


def test_every_image_is_pinned_and_the_tests_run_on_the_functions_python() -> None:
    for name in ("cloudbuild.yaml", "cloudbuild-deploy.yaml"):
        steps = _build(name)["steps"]
        for step in steps:
            image = step["name"]
            assert re.search(r":\d+\.\d+\.\d+", image), f"{name}: {image} is not pinned to a version"
        (test,) = [s for s in steps if s["id"] == "test"]
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


def test_the_deploy_applies_the_plan_it_keeps_from_a_committed_environment() -> None:
    build = _build("cloudbuild-deploy.yaml")
    steps = {step["id"]: _script(step) for step in build["steps"]}
    assert list(steps) == ["terraform-binary", "test", "terraform-plan", "terraform-apply"]
    assert '-var-file="env/${_ENV}.tfvars" -out=tfplan' in steps["terraform-plan"]
    assert "terraform show -no-color tfplan > plan.txt" in steps["terraform-plan"]
    assert "/workspace/.tools/terraform apply -input=false tfplan" in steps["terraform-apply"]
    assert build["artifacts"]["objects"]["paths"] == ["infra/terraform/plan.txt"]
    assert (TF / "env" / f"{build['substitutions']['_ENV']}.tfvars").exists()


def test_triggers_split_checks_from_an_approved_deploy() -> None:
    triggers = _load()["resource"]["google_cloudbuild_trigger"]
    checks = triggers["checks"]
    assert checks["for_each"] == '${toset(local.ci_enabled ? ["pull-requests", "branches"] : [])}'
    assert checks["filename"] == "cloudbuild.yaml"
    assert checks["service_account"] == "${google_service_account.ci[0].id}"
    events = checks["github"][0]["dynamic"]
    by_event = {name: body for block in events for name, body in block.items()}
    assert by_event["pull_request"]["content"][0] == {"branch": ".*"}
    assert by_event["push"]["content"][0] == {"branch": "^main$", "invert_regex": True}
    deploy = triggers["deploy"]
    assert deploy["filename"] == "cloudbuild-deploy.yaml"
    assert deploy["service_account"] == "${google_service_account.deployer[0].id}"
    assert deploy["approval_config"][0]["approval_required"] is True
    assert deploy["github"][0]["push"][0]["branch"] == "^main$"
    ci_roles = _load()["resource"]["google_project_iam_member"]["ci_logs"]
    assert ci_roles["role"] == "roles/logging.logWriter"


def test_the_readme_lists_the_deployers_roles_exactly() -> None:
    tf = _load()
    roles = next(block["deployer_roles"] for block in tf["locals"] if "deployer_roles" in block)
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("<!-- deployer roles -->") : readme.index("<!-- /deployer roles -->")]
    assert sorted(re.findall(r"`(roles/[\w.]+)`", section)) == sorted(roles)


def test_the_test_script_is_executable() -> None:
    assert Path(ROOT / ".ci" / "cloudbuild-test").stat().st_mode & 0o111
