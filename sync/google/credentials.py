"""A Google user's OAuth credentials as a warm instance keeps them between runs (their access
token is good for an hour, so a kept one saves the next run's call to the token endpoint too),
going back to the secrets they came from when Google refuses them."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from google.auth.exceptions import RefreshError
from google.oauth2.credentials import Credentials

from sync.errors import OAUTH_CLIENT_REFUSALS, ConfigError
from sync.google.answers import oauth_error

# The refresh token as stored now and the OAuth client it belongs to; the client read again
# from its secret when asked (True), else as kept.
Stored = Callable[[bool], tuple[str, tuple[str, str]]]


class StoredCredentials(Credentials):
    """Credentials refreshed with the refresh token and OAuth client read from the secrets;
    when Google refuses them, `stored` is asked for the stored ones once and the refresh is
    tried again with them if they differ. A kept refresh token may have been replaced since
    (the person connected again, through another instance) and a kept client secret rotated by
    the operator: only a refusal of what is stored now is final."""

    def __init__(
        self, refresh_token: str, client: tuple[str, str], token_uri: str, scopes: list[str], stored: Stored
    ) -> None:
        super().__init__(  # type: ignore[no-untyped-call]  # google-auth's are untyped
            token=None,
            refresh_token=refresh_token,
            client_id=client[0],
            client_secret=client[1],
            token_uri=token_uri,
            scopes=scopes,
        )
        self._stored = stored
        # Runs of one process may share these credentials: one refresh at a time.
        self._refreshing = threading.Lock()

    def refresh(self, request: Any) -> None:
        with self._refreshing:
            try:
                super().refresh(request)  # type: ignore[no-untyped-call]
            except RefreshError as exc:
                if exc.retryable or not self._read_again(oauth_error(exc)):
                    raise
                super().refresh(request)  # type: ignore[no-untyped-call]

    def _read_again(self, error: str) -> bool:
        """Whether the secrets behind a refusal (`error`) hold other values than these
        credentials used; they take them if so."""
        if error != "invalid_grant" and error not in OAUTH_CLIENT_REFUSALS:
            return False
        try:
            refresh_token, client = self._stored(error != "invalid_grant")
        except (ConfigError, KeyError, ValueError):
            return False  # the secret is gone or unreadable: the refusal stands
        if (refresh_token, client) == (self._refresh_token, (self._client_id, self._client_secret)):
            return False
        self._refresh_token = refresh_token
        self._client_id, self._client_secret = client
        return True
