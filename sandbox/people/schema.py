"""Request bodies and masks checked against the discovery document that
google-api-python-client ships."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import googleapiclient

from sandbox.people.records import GoogleError

DISCOVERY = Path(googleapiclient.__file__).parent / "discovery_cache/documents/people.v1.json"


class _Schema:
    """Structural checks of request bodies against the discovery document's schemas."""

    def __init__(self) -> None:
        self.schemas: dict[str, Any] = json.loads(DISCOVERY.read_text())["schemas"]

    def check(self, schema_name: str, value: Any, where: str) -> None:
        self._check({"$ref": schema_name}, value, where)

    def _check(self, spec: dict[str, Any], value: Any, where: str) -> None:
        if "$ref" in spec:
            schema = self.schemas[spec["$ref"]]
            if not isinstance(value, dict):
                raise GoogleError("INVALID_ARGUMENT", f"Invalid value at '{where}': expected an object")
            for key, sub in value.items():
                prop = schema.get("properties", {}).get(key)
                if prop is None:
                    raise GoogleError(
                        "INVALID_ARGUMENT",
                        f"Invalid JSON payload received. Unknown name \"{key}\" at '{where}': Cannot find field.",
                    )
                self._check(prop, sub, f"{where}.{key}" if where else key)
            return
        kind = spec.get("type")
        if kind == "array":
            if not isinstance(value, list):
                raise GoogleError("INVALID_ARGUMENT", f"Invalid value at '{where}': expected a list")
            for i, item in enumerate(value):
                self._check(spec.get("items", {}), item, f"{where}[{i}]")
        elif kind == "object" and "additionalProperties" in spec:
            if not isinstance(value, dict):
                raise GoogleError("INVALID_ARGUMENT", f"Invalid value at '{where}': expected a map")
            for key, item in value.items():
                self._check(spec["additionalProperties"], item, f"{where}[{key!r}]")
        elif kind == "string" and not isinstance(value, str):
            raise GoogleError("INVALID_ARGUMENT", f"Invalid value at '{where}' ({value!r}): expected a string")
        elif kind == "integer" and (isinstance(value, bool) or not isinstance(value, int | str)):
            raise GoogleError("INVALID_ARGUMENT", f"Invalid value at '{where}': expected an integer")
        elif kind == "boolean" and not isinstance(value, bool):
            raise GoogleError("INVALID_ARGUMENT", f"Invalid value at '{where}': expected a boolean")


def _mask(value: str | None, allowed: frozenset[str], name: str, *, required: bool = True) -> list[str]:
    if not value:
        if required:
            raise GoogleError("INVALID_ARGUMENT", f"{name} is required.")
        return []
    paths = [p.strip() for p in value.split(",") if p.strip()]
    bad = [p for p in paths if p not in allowed]
    if bad:
        raise GoogleError("INVALID_ARGUMENT", f'Invalid {name} path: "{bad[0]}".')
    return paths
