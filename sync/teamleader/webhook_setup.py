"""What registering a connection's webhook needs, without the receiver (and its web framework):
the event types asked for, and the connection's secret token with the digest stored of it."""

from __future__ import annotations

import hashlib
import secrets

# The events that change what Google shows (webhooks.register types).
EVENT_TYPES = frozenset(
    {
        "contact.added",
        "contact.updated",
        "contact.deleted",
        "contact.linkedToCompany",
        "contact.unlinkedFromCompany",
        "contact.updatedLinkToCompany",
        "company.added",
        "company.updated",
        "company.deleted",
    }
)


def new_token() -> tuple[str, str]:
    """A connection's webhook secret (256 random bits) and the SHA-256 that is stored of it."""
    token = secrets.token_urlsafe(32)
    return token, token_digest(token)


def token_digest(token: str) -> str:
    """The SHA-256 of a token, as stored and compared."""
    return hashlib.sha256(token.encode()).hexdigest()
