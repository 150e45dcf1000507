"""Workspace domain-wide delegation, keyless: a Google user's tokens from the JWT-bearer grant,
the JWT signed by the IAM Credentials API (google-auth's `iam.Signer`) as the delegated service
account, never with a key. The runtime only holds the right to sign as that one account."""

from __future__ import annotations

import google.auth
import httpx
from google.auth import credentials as auth_credentials
from google.auth import iam
from google.auth.credentials import AnonymousCredentials
from google.oauth2 import service_account

from sync.google.transport import HttpxAuthRequest

# Where google-auth's Signer sends signBlob; a configured IAM URL takes its place.
IAM_CREDENTIALS_HOST = "https://iamcredentials.googleapis.com"
# What the runtime's own identity needs to call signBlob.
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
# What the Workspace admin authorises for the delegated client id (README): writing a user's
# contacts, and reading a group's members as the named admin.
DIRECTORY_MEMBERS_SCOPE = "https://www.googleapis.com/auth/admin.directory.group.member.readonly"


class Delegation:
    """Signs as the delegated service account for any user of the run: the runtime's own
    credentials (looked up once) call signBlob, each user's credentials ask the token endpoint."""

    def __init__(self, http: httpx.Client, service_account_email: str, token_uri: str, iam_url: str = "") -> None:
        request = HttpxAuthRequest(http, {IAM_CREDENTIALS_HOST: iam_url} if iam_url else None)
        source: auth_credentials.Credentials
        if iam_url:
            # A stand-in for IAM Credentials (the sandbox) takes no caller identity.
            source = AnonymousCredentials()
        else:
            source, _ = google.auth.default(scopes=[CLOUD_PLATFORM_SCOPE])
        self._signer = iam.Signer(request, source, service_account_email)
        self._email = service_account_email
        self._token_uri = token_uri

    def credentials(self, user: str, scopes: list[str]) -> service_account.Credentials:
        """Credentials acting as `user` (`sub`) for `scopes`; the token is fetched when first
        needed, and a refusal raises google-auth's RefreshError with the OAuth error code."""
        return service_account.Credentials(
            self._signer, self._email, self._token_uri, scopes=scopes, subject=user.strip()
        )
