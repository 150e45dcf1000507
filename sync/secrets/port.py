"""The secrets port: named values, read and replaced as a whole."""

from __future__ import annotations

from typing import Protocol


class SecretStore(Protocol):
    """Where tokens live. Adapters: Secret Manager (cloud) and a local file (one machine)."""

    def read(self, name: str) -> str:
        """The current value; KeyError when there is none."""
        ...

    def write(self, name: str, value: str) -> None:
        """Store a new current value; only returns once it is durable."""
        ...


TEAMLEADER_CLIENT_SECRET = "teamleader-oauth-client"
GOOGLE_CLIENT_SECRET = "google-oauth-client"
