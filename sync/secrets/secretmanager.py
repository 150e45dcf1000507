"""Secrets in Google Secret Manager: one secret per name, a new version per write."""

from __future__ import annotations

import logging

from google.api_core import exceptions as gexc
from google.cloud import secretmanager
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

log = logging.getLogger(__name__)
_TRANSIENT = (gexc.ServiceUnavailable, gexc.InternalServerError, gexc.TooManyRequests, gexc.DeadlineExceeded)


class SecretManagerSecrets:
    """Reads `latest`; a write adds a version, reads it back and only then destroys every
    older one: a leaked old refresh token is useless, and one version stays billed ($0.06 a
    month) per secret however often tokens rotate. The read-back asks for the new version by
    its number (strongly consistent, where `latest` is not): until the new value is known to
    read back, the old one is not given up."""

    def __init__(self, client: secretmanager.SecretManagerServiceClient, project: str, attempts: int = 4) -> None:
        self._client = client
        self._project = project
        self._retrying = Retrying(
            retry=retry_if_exception_type(_TRANSIENT),
            stop=stop_after_attempt(attempts),
            wait=wait_exponential_jitter(multiplier=0.2, max=5),
            reraise=True,
        )

    def _secret(self, name: str) -> str:
        return f"projects/{self._project}/secrets/{name}"

    def read(self, name: str) -> str:
        try:
            answer = self._retrying(
                self._client.access_secret_version, request={"name": self._secret(name) + "/versions/latest"}
            )
        except (gexc.NotFound, gexc.FailedPrecondition) as exc:
            raise KeyError(name) from exc
        data: bytes = answer.payload.data
        return data.decode()

    def write(self, name: str, value: str) -> None:
        parent = self._secret(name)
        request = {"parent": parent, "payload": {"data": value.encode()}}
        try:
            added = self._retrying(self._client.add_secret_version, request=request)
        except gexc.NotFound:
            # Terraform creates the deployment's secrets; `connect` may add accounts later.
            self._client.create_secret(
                request={
                    "parent": f"projects/{self._project}",
                    "secret_id": name,
                    "secret": {"replication": {"automatic": {}}},
                }
            )
            added = self._retrying(self._client.add_secret_version, request=request)
        try:
            read_back = self._retrying(self._client.access_secret_version, request={"name": added.name})
            if read_back.payload.data != value.encode():
                log.warning("a new secret version did not read back as written: older versions kept")
                return
            self._destroy_older(parent, added.name)
        except gexc.GoogleAPICallError as exc:
            # The new value is stored; older versions left as they are are destroyed next time.
            log.warning("could not retire older versions of a secret: %s", type(exc).__name__)

    def _destroy_older(self, parent: str, newest: str) -> None:
        """Destroy every version but `newest`, enabled or disabled (a crash, or a read-back
        that failed, may have left several)."""
        for state in ("ENABLED", "DISABLED"):
            for version in self._client.list_secret_versions(request={"parent": parent, "filter": f"state:{state}"}):
                if version.name != newest:
                    self._client.destroy_secret_version(request={"name": version.name})
