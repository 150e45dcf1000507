"""Builds the adapters and clients a run needs from the settings: the only place that knows
which concrete state store, secret store and HTTP stack are in use."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable

import httpx
from google.auth.credentials import Credentials as AuthCredentials

from sync.config import Settings, url
from sync.engine import ConnectionReport, DestinationConfig, Engine, EngineOptions, RunReport
from sync.errors import ConfigError
from sync.google.delegation import Delegation
from sync.google.pace import WritePace
from sync.google.people import SCOPES, PeopleClient
from sync.ports import Destination
from sync.progress import Announce, ProgressSink, unheard
from sync.secrets import warm as kept_secrets
from sync.secrets.localfile import LocalFileSecrets
from sync.secrets.port import SecretStore, client_secret_name
from sync.serve.google_tokens import google_credentials
from sync.state.connections import AccountRecord, DestinationRecord
from sync.state.port import StateStore
from sync.teamleader import tokens as warm
from sync.teamleader.client import TeamleaderClient
from sync.teamleader.tokens import TeamleaderTokens


def open_state(settings: Settings) -> StateStore:
    """The configured state store."""
    if settings.state_backend == "firestore":
        from google.cloud import firestore

        from sync.state.firestore import FirestoreState

        project = settings.firestore_project or os.environ.get("GOOGLE_CLOUD_PROJECT")
        if not project:
            raise ConfigError("SYNC_FIRESTORE_PROJECT (or GOOGLE_CLOUD_PROJECT) is required for Firestore")
        client = firestore.Client(project=project, database=settings.firestore_database)
        return FirestoreState(client, report_retention_days=settings.report_retention_days)
    from sync.state.sqlite import SqliteState

    return SqliteState(settings.sqlite_path, report_retention_days=settings.report_retention_days)


def open_secrets(settings: Settings) -> SecretStore:
    """The configured secret store."""
    if settings.secrets_backend == "secretmanager":
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import secretmanager

        from sync.secrets.secretmanager import SecretManagerSecrets

        project = settings.secret_manager_project or os.environ.get("GOOGLE_CLOUD_PROJECT")
        if not project:
            raise ConfigError("SYNC_SECRET_MANAGER_PROJECT (or GOOGLE_CLOUD_PROJECT) is required")
        if settings.secret_manager_url:
            client = secretmanager.SecretManagerServiceClient(
                credentials=AnonymousCredentials(),
                transport="rest",
                client_options={"api_endpoint": url(settings.secret_manager_url)},
            )
        else:
            client = secretmanager.SecretManagerServiceClient()
        return SecretManagerSecrets(client, project)
    return LocalFileSecrets(settings.secrets_file)


def http_client(settings: Settings) -> httpx.Client:
    """One HTTP client for a run; no transport-level retries (see sync.google.transport)."""
    return httpx.Client(
        timeout=httpx.Timeout(settings.http_timeout_seconds),
        transport=httpx.HTTPTransport(retries=0),
    )


def teamleader_client(
    settings: Settings,
    secrets: SecretStore,
    name: str,
    http: httpx.Client,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
    on_wait: Announce = unheard,
) -> TeamleaderClient:
    """A Teamleader client whose rotated tokens are stored before they are used; with the tokens
    this process kept from an earlier run while their access token is valid (`warm`), and the
    OAuth client kept as `sync.secrets.warm` keeps it."""
    client_name = client_secret_name(settings.secret_prefix, "teamleader")
    (client_id, client_secret), client_kept = kept_secrets.client(secrets, client_name)

    def stored() -> TeamleaderTokens:
        try:
            tokens = TeamleaderTokens.from_json(json.loads(secrets.read(name)))
        except KeyError as exc:
            missing = f"no Teamleader tokens in secret {name}: run `python -m sync connect teamleader`"
            raise ConfigError(missing) from exc
        warm.keep(secrets, name, tokens)
        return tokens

    def rotate(rotated: TeamleaderTokens) -> None:
        secrets.write(name, json.dumps(rotated.to_json()))
        warm.keep(secrets, name, rotated)

    tokens = warm.kept(secrets, name, clock())
    return TeamleaderClient(
        http,
        api_url=url(settings.teamleader_api_url),
        token_url=url(settings.teamleader_token_url),
        client_id=client_id,
        client_secret=client_secret,
        tokens=tokens or stored(),
        on_rotate=rotate,
        sleep=sleep,
        clock=clock,
        calls_per_minute=settings.teamleader_calls_per_minute,
        on_wait=on_wait,
        reload=stored if tokens else None,
        reload_client=(lambda: kept_secrets.read_client(secrets, client_name)) if client_kept else None,
    )


def people_client(
    settings: Settings,
    secrets: SecretStore,
    name: str,
    http: httpx.Client,
    sleep: Callable[[float], None] = time.sleep,
    on_wait: Announce = unheard,
    clock: Callable[[], float] = time.time,
    consented: str | None = None,
) -> PeopleClient:
    """A People client for the Google user whose tokens are in secret `name`, written by the
    consent `consented` (the destination's record names it): with the credentials this process
    kept from an earlier run under the same consent (`google_credentials`)."""
    return _people(settings, google_credentials(settings, secrets, name, consented), http, sleep, on_wait, clock)


def _people(
    settings: Settings,
    credentials: AuthCredentials,
    http: httpx.Client,
    sleep: Callable[[float], None],
    on_wait: Announce,
    clock: Callable[[], float],
) -> PeopleClient:
    pace = WritePace(settings.google_writes_per_minute, clock=clock, sleep=sleep, on_wait=on_wait)
    api_url = url(settings.google_api_url) or None
    return PeopleClient(http, credentials, api_url=api_url, sleep=sleep, on_wait=on_wait, pace=pace)


def open_delegation(settings: Settings, http: httpx.Client) -> Delegation:
    """The Workspace delegation the settings name, signing through IAM Credentials."""
    if not settings.delegation_service_account:
        raise ConfigError("SYNC_DELEGATION_SERVICE_ACCOUNT is not set: this deployment delegates for no Workspace")
    return Delegation(
        http, settings.delegation_service_account, url(settings.google_token_uri), url(settings.iam_credentials_url)
    )


def delegated_people_client(
    settings: Settings,
    delegation: Delegation,
    user: str,
    http: httpx.Client,
    sleep: Callable[[float], None] = time.sleep,
    on_wait: Announce = unheard,
    clock: Callable[[], float] = time.time,
) -> PeopleClient:
    """A People client acting as Workspace user `user` through the domain-wide delegation."""
    return _people(settings, delegation.credentials(user, SCOPES), http, sleep, on_wait, clock)


def destination_config(record: DestinationRecord) -> DestinationConfig:
    """What the engine needs of a registered destination."""
    return DestinationConfig(
        record.name, record.state_key, record.group_name, frozenset(record.tags), record.default_region
    )


def run_connection(
    settings: Settings,
    record: AccountRecord,
    *,
    state: StateStore,
    secrets: SecretStore,
    options: EngineOptions,
    serve: list[DestinationRecord] | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    progress: ProgressSink | None = None,
    run_id: str | None = None,
    keep_alive: Callable[[], None] | None = None,
) -> ConnectionReport:
    """One connection's run with fresh clients, for the destinations in `serve` (default:
    every one); the others rest, their bookmarks kept in step. `clock` and `sleep` are the
    time the clients live in."""
    serving = record.targets if serve is None else serve
    on_wait = progress.waiting if progress else unheard
    with http_client(settings) as http:
        source = teamleader_client(settings, secrets, record.teamleader_secret, http, sleep, clock, on_wait)
        destinations: list[tuple[DestinationConfig, Destination]] = []
        # Destinations whose Google side was never connected: they rest, and say so.
        unconnected: dict[str, ConfigError] = {}
        delegation: Delegation | None = None
        for target in serving:
            try:
                if target.delegated and target.user:
                    delegation = delegation or open_delegation(settings, http)
                    client = delegated_people_client(settings, delegation, target.user, http, sleep, on_wait, clock)
                else:
                    secret, consented = target.google_secret, target.google_consent
                    client = people_client(settings, secrets, secret, http, sleep, on_wait, clock, consented)
            except ConfigError as exc:
                unconnected[target.name] = exc
                continue
            destinations.append((destination_config(target), client))
        served = {config.name for config, _ in destinations}
        resting = [destination_config(d) for d in record.targets if d.name not in served]
        engine = Engine(
            record.account_id,
            source,
            destinations,
            state,
            options,
            resting=resting,
            clock=clock,
            progress=progress,
            run_id=run_id,
            keep_alive=keep_alive,
        )
        report = engine.run()
    for name, error in unconnected.items():
        started = report.destinations[0].started if report.destinations else ""
        unserved = RunReport(record.account_id, report.run_id, options.mode, options.dry_run, started, name)
        unserved.status, unserved.error = "needs_reauth", str(error)
        report.destinations.append(unserved)
        report.errors[name] = error
    return report
