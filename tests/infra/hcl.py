"""The Terraform configuration as data (python-hcl2), shared by the infrastructure tests:
providers cannot be downloaded here, so the tests read what `terraform plan` would be given."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import hcl2

TF = Path(__file__).resolve().parents[2] / "infra" / "terraform"
ROOT = TF.parents[1]


def clean(value: Any) -> Any:
    """python-hcl2 keeps HCL's quotes around names and strings; take them off."""
    if isinstance(value, dict):
        return {clean(k): clean(v) for k, v in value.items() if k not in ("__is_block__", "__comments__")}
    if isinstance(value, list):
        return [clean(v) for v in value]
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def load_file(path: Path) -> dict[str, Any]:
    with open(path) as handle:
        parsed: dict[str, Any] = clean(hcl2.load(handle))
    return parsed


def load() -> dict[str, Any]:
    """Every block of every .tf file: {"resource": {type: {name: body}}, "variable": {...}, ...}"""
    merged: dict[str, Any] = {}
    for path in sorted(TF.glob("*.tf")):
        for kind, blocks in load_file(path).items():
            for block in blocks if isinstance(blocks, list) else [blocks]:
                if kind in ("resource", "data"):
                    for rtype, named in block.items():
                        merged.setdefault(kind, {}).setdefault(rtype, {}).update(named)
                elif kind in ("variable", "output"):
                    merged.setdefault(kind, {}).update(block)
                else:
                    merged.setdefault(kind, []).append(block)
    return merged


def resources(tf: dict[str, Any], rtype: str) -> dict[str, Any]:
    found: dict[str, Any] = tf["resource"].get(rtype, {})
    return found


def text(value: Any) -> str:
    return json.dumps(value)


def local(tf: dict[str, Any], name: str) -> Any:
    return next(block[name] for block in tf["locals"] if name in block)


def depends_on(body: dict[str, Any]) -> str:
    return text(body.get("depends_on", []))


def expression(value: str) -> str:
    """An HCL expression as python-hcl2 gives it ("${...}"), without the interpolation."""
    assert value.startswith("${") and value.endswith("}"), value
    return value[2:-1]


def terraform_accepts(tf: dict[str, Any], variable: str, value: Any, workdir: Path) -> bool:
    """Whether Terraform itself lets `value` (JSON) through the variable's validation: the
    variable alone, planned in a module of its own (no provider to download)."""
    body = tf["variable"][variable]
    checks = "".join(
        f'  validation {{\n    condition     = {expression(v["condition"])}\n    error_message = "refused"\n  }}\n'
        for v in body.get("validation", [])
    )
    module = workdir / f"validation-{variable}"
    module.mkdir(parents=True, exist_ok=True)
    # python-hcl2 gives `string` as it is, `list(string)` as "${list(string)}".
    kind = body["type"] if body["type"] in ("string", "number", "bool") else expression(body["type"])
    (module / "main.tf").write_text(f'variable "{variable}" {{\n  type = {kind}\n{checks}}}\n')
    (module / "values.auto.tfvars.json").write_text(json.dumps({variable: value}))
    terraform = shutil.which("terraform")
    assert terraform, "terraform evaluates the variables' validations"
    planned = subprocess.run([terraform, f"-chdir={module}", "plan", "-input=false"], capture_output=True, text=True)
    assert planned.returncode == 0 or "refused" in planned.stderr, planned.stderr
    return planned.returncode == 0


def terraform_value(value: str, workdir: Path, stand_ins: str = "") -> Any:
    """What Terraform itself makes of an expression of the configuration ("${...}"), in a module
    of its own: `stand_ins` is HCL (locals) for what the expression reads, the references to
    resources rewritten to them by the caller. No provider to download."""
    module = workdir / "value"
    module.mkdir(parents=True, exist_ok=True)
    (module / "main.tf").write_text(f'{stand_ins}\noutput "value" {{\n  value = {expression(value)}\n}}\n')
    terraform = shutil.which("terraform")
    assert terraform, "terraform evaluates the configuration's expressions"
    run = [terraform, f"-chdir={module}"]
    subprocess.run([*run, "plan", "-input=false", "-out=plan"], check=True, capture_output=True, text=True)
    shown = subprocess.run([*run, "show", "-json", "plan"], check=True, capture_output=True, text=True)
    return json.loads(shown.stdout)["planned_values"]["outputs"]["value"]["value"]
