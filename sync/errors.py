"""The package's own error types: what callers can tell apart and act on."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sync.ports import WriteOutcome

# An OAuth error code (RFC 6749 §5.2) is a short word; anything else in its place is not shown.
_OAUTH_ERROR = re.compile(r"[a-z_]{1,40}")
# How a token endpoint refuses the OAuth client itself (its id or secret), not the grant.
OAUTH_CLIENT_REFUSALS = ("invalid_client", "unauthorized_client")


class SyncError(Exception):
    """Base of every error this package raises on purpose."""


class ConfigError(SyncError):
    """A setting is missing or invalid."""


class ReauthRequiredError(SyncError):
    """A refresh token was refused (revoked, expired or reused): a person must reconnect."""

    def __init__(self, service: str, oauth_error: str) -> None:
        # Only the OAuth error code is kept: a token endpoint's description may quote the token.
        code = oauth_error if _OAUTH_ERROR.fullmatch(oauth_error) else "refused"
        super().__init__(f"{service} refused the refresh token ({code}); reconnect the account")
        self.service = service
        self.oauth_error = code


class DelegationRefusedError(SyncError):
    """The Workspace refused the domain-wide delegation (revoked, a scope missing, the admin
    named for the group gone): one problem of the connection, for its admin to solve."""


class TokenStoreError(SyncError):
    """A rotated refresh token could not be stored: the one error that must page a person."""


class TeamleaderError(SyncError):
    """Teamleader answered with an error that retrying will not fix."""

    def __init__(self, status: int, title: str) -> None:
        super().__init__(f"Teamleader answered {status}: {title}")
        self.status = status
        self.title = title


class TeamleaderForbiddenError(TeamleaderError):
    """403: the integration lacks a scope, or the user lacks export rights."""


class TeamleaderNotFoundError(TeamleaderError):
    """404: the record or endpoint does not exist."""


class GoogleError(SyncError):
    """Google answered with an error that retrying will not fix."""

    def __init__(self, status: int, message: str, reason: str = "") -> None:
        super().__init__(f"Google answered {status}: {message}")
        self.status = status
        self.message = message
        self.reason = reason


class GoogleAccountRefusedError(GoogleError):
    """Google refuses the account's writes, not any one contact: its contact limit, or a refusal
    that names no contact and is not about any single one."""


class AmbiguousWriteError(SyncError):
    """A write was sent but its answer was lost: it may or may not have been applied.

    `refused` names the items of the same batch that Google definitely refused before the
    answer was lost (with its reasons): those, at least, were not written.
    """

    def __init__(self, message: str, refused: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.refused = refused or {}


class WriteStoppedError(SyncError):
    """A batch write stopped part-way: `outcome` is what was written before `error` stopped it;
    the rest was not written."""

    def __init__(self, error: GoogleError | ReauthRequiredError, outcome: WriteOutcome) -> None:
        super().__init__(str(error))
        self.error = error
        self.outcome = outcome


class AccountBusyError(SyncError):
    """Another invocation holds the account's lease."""


class AlreadyServedError(SyncError):
    """The turn a task was enqueued for was served since (another delivery of it ran)."""


class LeaseContentionError(SyncError):
    """The lease could not be read and written atomically for contention: try later."""


class LeaseLostError(SyncError):
    """The account's lease expired and could not be renewed: stop writing at once."""


class UnknownAccountError(SyncError):
    """No account with that id is registered."""


def describe(error: BaseException) -> str:
    """An error as reports and answers show it: its type, and the status an API answered, but
    never its message, which may quote a token, an address or a phone number. The package's
    reconnect errors are the exception: their text is built from an error code only."""
    if isinstance(error, ReauthRequiredError):
        return str(error)
    status = getattr(error, "status", None)
    return f"{type(error).__name__} {status}" if isinstance(status, int) else type(error).__name__
