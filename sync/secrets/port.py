"""The secrets port: named values, read and replaced as a whole."""

from __future__ import annotations

from typing import Literal, Protocol


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
# The page's Google client, of type "Web application" (its redirect address is the page's).
GOOGLE_WEB_CLIENT_SECRET = "google-web-oauth-client"
# Account ids that would give token secrets names of the OAuth clients' secrets.
RESERVED_ACCOUNT_PREFIXES = (TEAMLEADER_CLIENT_SECRET, GOOGLE_CLIENT_SECRET, GOOGLE_WEB_CLIENT_SECRET)
CLIENT_SECRETS = {
    "teamleader": TEAMLEADER_CLIENT_SECRET,
    "google": GOOGLE_CLIENT_SECRET,
    "google-web": GOOGLE_WEB_CLIENT_SECRET,
}


def client_secret_name(prefix: str, side: Literal["teamleader", "google", "google-web"]) -> str:
    """The secret holding one side's OAuth app (its client id and secret) in a deployment
    whose secret names start with `prefix`."""
    return prefix + CLIENT_SECRETS[side]
