"""Before a delegating connection's run: the delegation checked once for the whole connection
(a revoked one is one problem, not a failure per user), and the group's members read again, the
destinations set to them and stored."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from google.auth.exceptions import RefreshError
from googleapiclient.errors import HttpError

from sync.config import Settings, url
from sync.errors import DelegationRefusedError, GoogleError, describe
from sync.google.answers import error_message, oauth_error
from sync.google.delegation import DIRECTORY_MEMBERS_SCOPE
from sync.google.directory import DirectoryClient
from sync.google.people import SCOPES
from sync.google.transport import HttpxAuthRequest
from sync.recipients import Changes, apply_roster, expand
from sync.serve.wiring import http_client, open_delegation
from sync.state.connections import AccountRecord
from sync.state.port import StateStore

log = logging.getLogger("sync.recipients")


def refresh_recipients(
    settings: Settings,
    state: StateStore,
    record: AccountRecord,
    *,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    store: bool = True,
) -> AccountRecord:
    """The connection as its run should serve it: unchanged unless it delegates; with a group,
    its destinations set to the group's members as read now (and stored unless `store` is
    False). Raises DelegationRefusedError when the Workspace refuses the delegation."""
    domain = record.workspace_domain
    if domain is None:
        return record
    if record.team_group:
        actor, scopes = record.directory_admin or "", [*SCOPES, DIRECTORY_MEMBERS_SCOPE]
    else:
        listed = [d.user for d in record.targets if d.delegated and d.enabled and d.user]
        if not listed:
            return record
        actor, scopes = listed[0], SCOPES
    with http_client(settings) as http:
        credentials = open_delegation(settings, http).credentials(actor, scopes)
        try:
            credentials.refresh(HttpxAuthRequest(http))
        except RefreshError as exc:
            if exc.retryable:
                log.warning("the delegation could not be checked now: the run goes on as registered")
                return record
            code = oauth_error(exc)
            if record.team_group or code == "unauthorized_client":
                raise DelegationRefusedError(_refused(record, code)) from exc
            return record  # the first listed user alone is refused: their destination says so
        if not record.team_group:
            return record
        directory = DirectoryClient(http, credentials, api_url=url(settings.directory_api_url) or None, sleep=sleep)
        try:
            roster = expand(record.team_group, domain, directory.members)
        except (HttpError, GoogleError) as exc:
            why = error_message(exc) if isinstance(exc, HttpError) else describe(exc)
            note = f"the members of {record.team_group} could not be read ({why}): nobody was added or removed"
            return _noted(state, record, [note], store)
    now = datetime.fromtimestamp(clock(), tz=UTC).isoformat(timespec="seconds")
    current = state.account(record.account_id) if store else None
    target = current or record
    changes = apply_roster(target, record.team_group, roster, now, settings.secret_prefix)
    _log(changes, len(roster.users), len(roster.refused))
    notes = [*roster.refused.values(), *([changes.held] if changes.held else [])]
    return _noted(state, target, notes, store)


def _noted(state: StateStore, record: AccountRecord, notes: list[str], store: bool) -> AccountRecord:
    record.recipients_notes = notes
    if store:
        state.put_account(record)
    return record


def _refused(record: AccountRecord, code: str) -> str:
    if code == "unauthorized_client":
        return (
            f"the Workspace {record.workspace_domain} no longer delegates to the sync ({code}): an admin "
            "must authorise its client id again for the scopes in `terraform output delegated_scopes` "
            "(Admin console → Security → API controls → Domain-wide delegation)"
        )
    return (
        f"Google refused to act as the admin named to read {record.team_group} ({code}): "
        f"name an active admin of {record.workspace_domain}"
    )


def _log(changes: Changes, members: int, refused: int) -> None:
    # Counts only: the addresses are personal data.
    log.info(
        "team group read",
        extra={
            "members": members,
            "added": len(changes.added),
            "left": len(changes.left),
            "returned": len(changes.returned),
            "refused": refused,
            "held": changes.held is not None,
        },
    )
