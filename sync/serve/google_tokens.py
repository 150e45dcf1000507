"""A consented Google user's credentials, kept by a warm instance between runs (as
`sync.secrets.warm` keeps secrets): a warm run reads neither the user's token secret nor its OAuth
client's, and calls Google's token endpoint only when the kept access token runs out.

Kept credentials are bounded by the consent they came from. A new consent does not revoke the
refresh token it replaces, and `connect google` for a connection's default destination may be
given by another Google account than the one before, under the same secret name: credentials
kept from before would go on syncing into the old account. So each is kept with the consent the
destination's record names (`google_consent`, a new id written with every consent, on the page
and at the terminal), and a run whose record names another consent reads the secret again.
A refusal of the kept ones (revoked, or the client secret rotated) reads the stored ones once
(`StoredCredentials`)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sync.config import Settings, url
from sync.errors import ConfigError
from sync.google.credentials import StoredCredentials
from sync.google.people import SCOPES
from sync.secrets import warm
from sync.secrets.port import SecretStore, client_secret_name


@dataclass(frozen=True)
class _Consented:
    credentials: StoredCredentials
    # The consent the destination's record named when the secret was read.
    consented: str | None


_kept: warm.Kept[_Consented] = warm.Kept()


def google_credentials(settings: Settings, secrets: SecretStore, name: str, consented: str | None) -> StoredCredentials:
    """The credentials of the Google user whose tokens are in secret `name`, consented at
    `consented`: kept from an earlier run of this process with the same consent, or read."""
    kept = _kept.get(secrets, name)
    if kept is not None and kept.consented == consented:
        return kept.credentials

    def stored(fresh_client: bool) -> tuple[str, tuple[str, str]]:
        refresh_token, client_name = _stored_token(settings, secrets, name)
        client = warm.read_client(secrets, client_name) if fresh_client else warm.client(secrets, client_name)[0]
        return refresh_token, client

    refresh_token, client = stored(False)
    credentials = StoredCredentials(refresh_token, client, url(settings.google_token_uri), SCOPES, stored)
    _kept.put(secrets, name, _Consented(credentials, consented))
    return credentials


def _stored_token(settings: Settings, secrets: SecretStore, name: str) -> tuple[str, str]:
    """The refresh token stored in secret `name`, and the secret of the OAuth client it was
    issued to."""
    try:
        tokens = json.loads(secrets.read(name))
    except KeyError as exc:
        raise ConfigError(f"no Google tokens in secret {name}: run `python -m sync connect google`") from exc
    # A refresh token is bound to the client it was issued to: the page's ("google-web", its
    # tokens say so) or the CLI's installed-app client.
    if tokens.get("client") == "google-web":
        client_name = settings.google_web_client_secret or client_secret_name(settings.secret_prefix, "google-web")
    else:
        client_name = client_secret_name(settings.secret_prefix, "google")
    return str(tokens["refresh_token"]), client_name
