"""Teamleader's token set as it is stored, and the token sets a warm instance keeps between
runs: each run would otherwise read the token secret again (a billed Secret Manager access),
though the access token it read an hour ago is still good. Kept per secret store, by secret
name, and handed out only while the access token is valid. A kept refresh token is never
trusted: a client given kept tokens reads the stored ones before it refreshes
(`TeamleaderClient`'s `reload`), since another instance, or the page, may have rotated them
meanwhile (each under the connection's lease). Kept as `sync.secrets.warm` keeps values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sync.secrets.port import SecretStore
from sync.secrets.warm import Kept

# Refresh this long before expiry, so a token never expires between check and use.
EXPIRY_MARGIN = 120.0


@dataclass(frozen=True)
class TeamleaderTokens:
    """The account's token set as it is stored: the refresh token is the one that matters."""

    refresh_token: str
    access_token: str | None = None
    expires_at: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {"refresh_token": self.refresh_token, "access_token": self.access_token, "expires_at": self.expires_at}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TeamleaderTokens:
        return cls(data["refresh_token"], data.get("access_token"), float(data.get("expires_at") or 0))

    def expiring(self, now: float) -> bool:
        """No access token, or one about to expire."""
        return not self.access_token or self.expires_at - EXPIRY_MARGIN <= now


_kept: Kept[TeamleaderTokens] = Kept()


def kept(store: SecretStore, name: str, now: float) -> TeamleaderTokens | None:
    """The tokens of secret `name` last read or stored through `store` in this process, while
    their access token stays valid; None otherwise."""
    tokens = _kept.get(store, name)
    return None if tokens is None or tokens.expiring(now) else tokens


def keep(store: SecretStore, name: str, tokens: TeamleaderTokens) -> None:
    """Remember the tokens just read from, or stored in, secret `name` of `store`."""
    _kept.put(store, name, tokens)
