"""The Terraform configuration as data (python-hcl2), shared by the infrastructure tests:
providers cannot be downloaded here, so the tests read what `terraform plan` would be given."""

from __future__ import annotations

import json
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
