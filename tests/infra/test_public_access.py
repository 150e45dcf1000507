"""How the public functions are opened (var.public_access), in both shapes. The for_each
expressions and the variable's validation are taken from the configuration and evaluated by
Terraform itself, in a module of built-in terraform_data resources (no provider to download)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.infra.hcl import expression, load, resources

SHAPES = ("invoker_iam_disabled", "all_users")
# The public functions' keys and their services' names as a default apply names them.
SERVICES = {"hooks": "tl-contacts-sync-hooks", "page": "tl-contacts-sync-page"}


def _probe(tf: dict[str, Any], directory: Path) -> Path:
    """The variable and the two for_each expressions of the configuration, over stand-ins for
    the public functions, as a module that Terraform can plan here."""
    variable = tf["variable"]["public_access"]
    (validation,) = variable["validation"]
    opened = resources(tf, "google_cloud_run_service_iam_member")["public"]["for_each"]
    unchecked = resources(tf, "terraform_data")["invoker_iam_check_off"]["for_each"]
    stand_ins = ", ".join(f'{key} = {{ name = "{name}", location = "europe-west1" }}' for key, name in SERVICES.items())
    module = f"""
variable "public_access" {{
  type    = string
  default = {json.dumps(variable["default"])}
  validation {{
    condition     = {expression(validation["condition"])}
    error_message = "refused"
  }}
}}
locals {{
  public_functions = {{ {stand_ins} }}
}}
resource "terraform_data" "all_users" {{
  for_each = {expression(opened)}
  input    = each.value.name
}}
resource "terraform_data" "invoker_iam_check_off" {{
  for_each = {expression(unchecked)}
  input    = each.value.name
}}
"""
    directory.mkdir()
    (directory / "main.tf").write_text(module)
    return directory


def _planned(terraform: str, module: Path, *args: str) -> subprocess.CompletedProcess[str]:
    run = [terraform, f"-chdir={module}"]
    subprocess.run([*run, "init", "-input=false"], check=True, capture_output=True, text=True)
    plan = subprocess.run([*run, "plan", "-input=false", "-out=plan", *args], capture_output=True, text=True)
    if plan.returncode != 0:
        return plan
    return subprocess.run([*run, "show", "-json", "plan"], check=True, capture_output=True, text=True)


@pytest.fixture(scope="module")
def tf() -> dict[str, Any]:
    return load()


@pytest.fixture(scope="module")
def terraform() -> str:
    found = shutil.which("terraform")
    assert found, "terraform is needed to evaluate the configuration's expressions"
    return found


@pytest.mark.parametrize("shape", [*SHAPES, None])
def test_each_shape_opens_the_receiver_and_the_page_one_way_only(
    tf: dict[str, Any], terraform: str, tmp_path: Path, shape: str | None
) -> None:
    module = _probe(tf, tmp_path / "probe")
    shown = _planned(terraform, module, *([f"-var=public_access={shape}"] if shape else []))
    planned = [r["address"] for r in json.loads(shown.stdout)["planned_values"]["root_module"]["resources"]]
    # Without a value the default applies: the way that works under Domain Restricted Sharing.
    way = "all_users" if shape == "all_users" else "invoker_iam_check_off"
    assert sorted(planned) == [f'terraform_data.{way}["{key}"]' for key in sorted(SERVICES)]


def test_anything_else_is_refused_at_plan(tf: dict[str, Any], terraform: str, tmp_path: Path) -> None:
    module = _probe(tf, tmp_path / "probe")
    for value in ("allUsers", "public", ""):
        refused = _planned(terraform, module, f"-var=public_access={value}")
        assert refused.returncode != 0 and "refused" in refused.stderr, value


def test_the_receiver_and_the_page_are_the_public_functions_and_how_each_shape_opens_them(
    tf: dict[str, Any],
) -> None:
    (public,) = [block["public_functions"] for block in tf["locals"] if "public_functions" in block]
    assert public == {
        "hooks": "${google_cloudfunctions2_function.receiver}",
        "page": "${google_cloudfunctions2_function.page}",
    }
    functions = resources(tf, "google_cloudfunctions2_function")
    assert {
        key: functions[function[len("${google_cloudfunctions2_function.") : -1]]["name"]
        for key, function in public.items()
    } == {key: name.replace("tl-contacts-sync", "${var.name}") for key, name in SERVICES.items()}
    grant = resources(tf, "google_cloud_run_service_iam_member")["public"]
    assert (grant["role"], grant["member"]) == ("roles/run.invoker", "allUsers")
    assert (grant["service"], grant["location"]) == ("${each.value.name}", "${each.value.location}")
    check_off = resources(tf, "terraform_data")["invoker_iam_check_off"]
    assert check_off["input"] == {
        "service": "${each.value.name}",
        "region": "${each.value.location}",
        "project": "${var.project_id}",
    }
    # Again after every change of the function: a redeploy may put the check back.
    assert check_off["triggers_replace"] == ["${each.value.update_time}"]
    (provisioner,) = check_off["provisioner"]
    command = provisioner["local-exec"]["command"]
    assert command.startswith("gcloud run services update ${self.input.service} ")
    for flag in ("--project=${self.input.project}", "--region=${self.input.region}", "--no-invoker-iam-check"):
        assert flag in command.split(), flag
    # An existing deployment's allUsers grant keeps its state under the new address.
    assert {
        "from": "${google_cloud_run_service_iam_member.receiver_public}",
        "to": '${google_cloud_run_service_iam_member.public["hooks"]}',
    } in tf["moved"]
