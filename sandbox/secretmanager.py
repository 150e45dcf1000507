"""The REST subset of Secret Manager that google-cloud-secret-manager's REST transport uses:
create and get a secret; add, access, list, enable, disable and destroy versions."""

from __future__ import annotations

import base64
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sandbox.clock import Clock
from sandbox.httpserver import Request, Response

_SECRET = r"projects/([^/]+)/secrets/([^/:]+)"


@dataclass
class Version:
    number: int
    payload: bytes
    created: float
    state: str = "ENABLED"
    destroyed: float | None = None


@dataclass
class Secret:
    name: str
    created: float
    versions: list[Version] = field(default_factory=list)


def _crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


def _time(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class _SmError(Exception):
    def __init__(self, http: int, status: str, message: str) -> None:
        super().__init__(message)
        self.http, self.status, self.message = http, status, message


class SecretManagerSandbox:
    """Secrets held in memory; authentication is not checked (the client is anonymous)."""

    name = "secretmanager"

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or Clock()
        self.secrets: dict[str, Secret] = {}
        self._lock = threading.Lock()
        # Fault: the next N addVersion calls fail with 503 (a storage outage).
        self.fail_add_version_next = 0
        # Fault: the next N accesses fail with 500 (reading a version, `latest` or by number).
        self.fail_access_next = 0

    def create_secret(self, project: str, secret_id: str) -> Secret:
        name = f"projects/{project}/secrets/{secret_id}"
        secret = Secret(name, self.clock.now())
        self.secrets[name] = secret
        return secret

    def account_of_token(self, token: str) -> str | None:
        return None

    def error_response(self, status: int, message: str) -> Response:
        name = {429: "RESOURCE_EXHAUSTED", 500: "INTERNAL"}.get(status, "UNAVAILABLE")
        return Response(status, {"error": {"code": status, "message": message, "status": name}})

    def control(self, request: Request) -> Response | None:
        if request.path == "/_sandbox/fail_add_version":
            self.fail_add_version_next = int(request.json().get("next", 1))
            return Response(204)
        return None

    def handle(self, request: Request) -> Response:
        try:
            with self._lock:
                return self._route(request)
        except _SmError as exc:
            body = {"error": {"code": exc.http, "message": exc.message, "status": exc.status}}
            return Response(exc.http, body)

    def _route(self, request: Request) -> Response:
        path, method = request.path, request.method
        if m := re.fullmatch(r"/v1/projects/([^/]+)/secrets", path):
            if method == "POST":
                return self._create(m.group(1), request)
            return self._list_secrets(m.group(1))
        if (m := re.fullmatch(rf"/v1/({_SECRET}):addVersion", path)) and method == "POST":
            return self._add_version(self._secret(m.group(1)), request)
        if (m := re.fullmatch(rf"/v1/({_SECRET})/versions", path)) and method == "GET":
            return self._list_versions(self._secret(m.group(1)), request)
        if m := re.fullmatch(rf"/v1/({_SECRET})/versions/([^/:]+)(:access|:disable|:enable|:destroy)?", path):
            secret = self._secret(m.group(1))
            version = self._version(secret, m.group(4))
            action = m.group(5)
            if action == ":access" and method == "GET":
                return self._access(secret, version)
            if action in (":disable", ":enable", ":destroy") and method == "POST":
                return self._transition(secret, version, action[1:])
            if action is None and method == "GET":
                return Response(200, self._version_view(secret, version))
        if (m := re.fullmatch(rf"/v1/({_SECRET})", path)) and method == "GET":
            secret = self._secret(m.group(1))
            return Response(
                200, {"name": secret.name, "createTime": _time(secret.created), "replication": {"automatic": {}}}
            )
        raise _SmError(404, "NOT_FOUND", f"Method not found: {method} {path}")

    def _secret(self, name: str) -> Secret:
        secret = self.secrets.get(name)
        if secret is None:
            raise _SmError(404, "NOT_FOUND", f"Secret [{name}] not found or has no versions.")
        return secret

    def _version(self, secret: Secret, ref: str) -> Version:
        if ref == "latest":
            if not secret.versions:
                raise _SmError(404, "NOT_FOUND", f"Secret [{secret.name}] not found or has no versions.")
            return secret.versions[-1]
        if ref.isdigit() and 1 <= int(ref) <= len(secret.versions):
            return secret.versions[int(ref) - 1]
        raise _SmError(404, "NOT_FOUND", f"Secret Version [{secret.name}/versions/{ref}] not found.")

    def _version_view(self, secret: Secret, version: Version) -> dict[str, Any]:
        view: dict[str, Any] = {
            "name": f"{secret.name}/versions/{version.number}",
            "createTime": _time(version.created),
            "state": version.state,
            "replicationStatus": {"automatic": {}},
        }
        if version.destroyed is not None:
            view["destroyTime"] = _time(version.destroyed)
        return view

    def _create(self, project: str, request: Request) -> Response:
        secret_id = request.arg("secretId") or ""
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,255}", secret_id):
            raise _SmError(400, "INVALID_ARGUMENT", "Invalid secretId.")
        name = f"projects/{project}/secrets/{secret_id}"
        if name in self.secrets:
            raise _SmError(409, "ALREADY_EXISTS", f"Secret [{name}] already exists.")
        secret = self.create_secret(project, secret_id)
        return Response(
            200, {"name": secret.name, "createTime": _time(secret.created), "replication": {"automatic": {}}}
        )

    def _list_secrets(self, project: str) -> Response:
        prefix = f"projects/{project}/secrets/"
        names = [n for n in self.secrets if n.startswith(prefix)]
        return Response(200, {"secrets": [{"name": n} for n in names], "totalSize": len(names)})

    def _add_version(self, secret: Secret, request: Request) -> Response:
        if self.fail_add_version_next > 0:
            self.fail_add_version_next -= 1
            raise _SmError(503, "UNAVAILABLE", "The service is currently unavailable.")
        payload = request.json().get("payload") or {}
        data = base64.b64decode(payload.get("data", ""))
        if "dataCrc32c" in payload and int(payload["dataCrc32c"]) != _crc32c(data):
            raise _SmError(400, "INVALID_ARGUMENT", "Checksum mismatch for the payload data.")
        if len(data) > 64 * 1024:
            raise _SmError(400, "INVALID_ARGUMENT", "Secret payload exceeds 64 KiB.")
        version = Version(len(secret.versions) + 1, data, self.clock.now())
        secret.versions.append(version)
        return Response(200, self._version_view(secret, version), wrote=True)

    def _access(self, secret: Secret, version: Version) -> Response:
        if self.fail_access_next > 0:
            self.fail_access_next -= 1
            raise _SmError(500, "INTERNAL", "Internal error encountered.")
        name = f"{secret.name}/versions/{version.number}"
        if version.state != "ENABLED":
            raise _SmError(400, "FAILED_PRECONDITION", f"Secret Version [{name}] is in {version.state} state.")
        payload = {"data": base64.b64encode(version.payload).decode(), "dataCrc32c": str(_crc32c(version.payload))}
        return Response(200, {"name": name, "payload": payload})

    def _transition(self, secret: Secret, version: Version, action: str) -> Response:
        if version.state == "DESTROYED":
            raise _SmError(400, "FAILED_PRECONDITION", "The version is destroyed.")
        if action == "destroy":
            version.state, version.payload, version.destroyed = "DESTROYED", b"", self.clock.now()
        else:
            version.state = "DISABLED" if action == "disable" else "ENABLED"
        return Response(200, self._version_view(secret, version), wrote=True)

    def _list_versions(self, secret: Secret, request: Request) -> Response:
        versions = list(reversed(secret.versions))  # newest first, as Secret Manager lists them
        flt = request.arg("filter") or ""
        if m := re.fullmatch(r"state:(\w+)", flt.strip()):
            versions = [v for v in versions if v.state == m.group(1).upper()]
        elif flt:
            raise _SmError(400, "INVALID_ARGUMENT", f"Unsupported filter: {flt}")
        size = int(request.arg("pageSize") or 25000)
        offset = int(request.arg("pageToken") or 0)
        page = versions[offset : offset + size]
        answer: dict[str, Any] = {"versions": [self._version_view(secret, v) for v in page], "totalSize": len(versions)}
        if offset + size < len(versions):
            answer["nextPageToken"] = str(offset + size)
        return Response(200, answer)
