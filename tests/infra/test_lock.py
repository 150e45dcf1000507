"""Every provider the configuration requires is pinned by the committed lock file, to a version
its constraint allows, with the registry's checksums: `terraform init` installs that version and
refuses a package whose checksum differs."""

from __future__ import annotations

import re
from typing import Any

from tests.infra.hcl import TF, load, load_file

REGISTRY = "registry.terraform.io/"


def _allows(constraint: str, version: str) -> bool:
    """Terraform's pessimistic constraint `~> X.Y`: at least X.Y, below X+1."""
    match = re.fullmatch(r"~>\s*(\d+)\.(\d+)", constraint)
    assert match, f"only ~> X.Y constraints are used here, not {constraint!r}"
    major, minor = int(match[1]), int(match[2])
    found = tuple(int(part) for part in version.split("."))
    return found[0] == major and found[1:] >= (minor,)


def _required() -> dict[str, dict[str, Any]]:
    terraform = next(block for block in load()["terraform"] if "required_providers" in block)
    (providers,) = terraform["required_providers"]
    return {body["source"]: body for body in providers.values()}


def test_every_required_provider_is_locked_to_an_allowed_version_with_checksums() -> None:
    locked = {}
    for block in load_file(TF / ".terraform.lock.hcl")["provider"]:
        locked.update({address.removeprefix(REGISTRY): body for address, body in block.items()})
    required = _required()
    assert set(locked) == set(required), "a provider is required but not locked, or locked and not required"
    for source, lock in locked.items():
        constraint = required[source]["version"]
        assert lock["constraints"] == constraint, source
        assert _allows(constraint, lock["version"]), (source, lock["version"])
        # zh: the SHA-256 of each platform's package as the registry publishes it.
        zip_hashes = [h for h in lock["hashes"] if h.startswith("zh:")]
        assert len(zip_hashes) >= 10 and all(re.fullmatch(r"zh:[0-9a-f]{64}", h) for h in zip_hashes), source


def test_the_constraint_reader_refuses_what_terraform_refuses() -> None:
    assert _allows("~> 6.10", "6.50.0") and _allows("~> 6.10", "6.10.0")
    assert not _allows("~> 6.10", "6.9.1") and not _allows("~> 6.10", "7.0.0")
