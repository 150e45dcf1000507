"""Every setting, read once from the environment (prefix SYNC_) and validated."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import Field, HttpUrl, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from sync.errors import ConfigError


class Settings(BaseSettings):
    """The product's settings; the defaults are the real services and a local state file."""

    model_config = SettingsConfigDict(env_prefix="SYNC_", extra="ignore")

    teamleader_api_url: HttpUrl = HttpUrl("https://api.focus.teamleader.eu")
    teamleader_token_url: HttpUrl = HttpUrl("https://focus.teamleader.eu/oauth2/access_token")
    teamleader_authorize_url: HttpUrl = HttpUrl("https://focus.teamleader.eu/oauth2/authorize")
    # Empty means Google's own endpoint; the sandbox sets a local one.
    google_api_url: HttpUrl | None = None
    google_token_uri: HttpUrl = HttpUrl("https://oauth2.googleapis.com/token")
    google_auth_uri: HttpUrl = HttpUrl("https://accounts.google.com/o/oauth2/auth")
    # Workspace domain-wide delegation: the service account a Workspace admin authorised
    # (Terraform's `delegated_service_account` output); empty: no connection may delegate.
    # Its JWTs are signed by the IAM Credentials API, never by a key; the Admin SDK Directory
    # reads a connection's group. Both URLs empty mean Google's own; the sandbox sets local ones.
    delegation_service_account: str = Field("", pattern=r"^[A-Za-z0-9._@-]{0,200}$")
    iam_credentials_url: HttpUrl | None = None
    directory_api_url: HttpUrl | None = None

    state_backend: Literal["sqlite", "firestore"] = "sqlite"
    sqlite_path: str = ".state/sync.sqlite3"
    firestore_project: str | None = None
    firestore_database: str = "(default)"

    secrets_backend: Literal["file", "secretmanager"] = "file"
    secrets_file: str = ".secrets/secrets.json"
    secret_manager_project: str | None = None
    # Put before the names of the token secrets of accounts registered from now on: the
    # deployment lets its runtime reach secrets with its own prefix only (Terraform's
    # `secret_prefix` output).
    secret_prefix: str = Field("", pattern=r"^[A-Za-z0-9_-]{0,100}$")
    # Empty means Google's own endpoint; tests point it at the sandbox.
    secret_manager_url: HttpUrl | None = None

    # A scheduled invocation (Cloud Scheduler, every `tick_minutes`) serves an account that
    # synced fine once this long has passed, and an unfinished, failed or new one at once.
    run_every_minutes: float = Field(60.0, gt=0)
    tick_minutes: float = Field(5.0, gt=0)
    # An enabled account without an ordinary run for this long (or never run, this long after
    # it was added) is named by every scheduled tick, and an alert fires (sync/serve/runner/heartbeat.py).
    overdue_hours: float = Field(3.0, gt=0)
    # Teamleader announces no deletions: a full run mirrors them, this often at least.
    full_run_every_hours: float = Field(24.0, gt=0)
    # A destination whose person left (turned off, deactivated in Teamleader, out of the team)
    # keeps the CRM in their Google account this long, then the sync removes it.
    removal_grace_hours: float = Field(24.0, ge=0)
    # Run reports older than this are deleted (Firestore's TTL policy, or on save in SQLite).
    report_retention_days: int = Field(90, ge=1)
    create_visibility_delay: float = Field(1800.0, ge=0)
    # A run that would delete more than this share of an account's contacts in Google stops
    # before it and the account waits for `run --allow-deletions` (at least 25 always pass).
    max_deletion_share: float = Field(0.5, gt=0, le=1)
    # The function's timeout is 540 s: stop taking new batches well before it.
    time_budget_seconds: float = Field(480.0, gt=0)
    # A run renews its lease four times per period; after a crash it expires by itself.
    lease_seconds: float = Field(300.0, gt=0)
    http_timeout_seconds: float = Field(30.0, gt=0)
    # Teamleader's documented limit per integration and Teamleader account: the sync keeps its
    # own calls within it in any sliding minute, even where answers carry no rate headers.
    teamleader_calls_per_minute: int = Field(200, ge=1)
    # Each Google user's writes in any sliding minute: the People API's per-user quota
    # "Critical write requests per minute per user" is not published (only the Cloud console
    # shows it, and projects differ: 30 to 180 reported, /work/shared/reference). 30, the lowest,
    # assuming each mutate request (a batch of 200 too) counts one; raise it to the console's.
    google_writes_per_minute: int = Field(30, ge=1)
    # A connection's destinations written at the same time (threads): each Google user has
    # its own write quota, so a team's run is not the sum of its members' writes.
    parallel_destinations: int = Field(20, ge=1, le=64)
    # Webhook hints kept per connection before it is read in full instead.
    webhook_hint_cap: int = Field(5000, ge=1)
    # A public request's body still arriving after this long is refused (408) and its
    # connection closed; the receiver's request timeout (10 s) leaves room for the hand-off.
    body_read_seconds: float = Field(5.0, gt=0, le=8)
    # The webhook receiver's public address (its connections' paths are below it) and the
    # private sync function it asks for targeted runs; unset: targeted runs in this process.
    webhook_url: HttpUrl | None = None
    sync_function_url: HttpUrl | None = None
    # How a tick's runs are dispatched: "loop" serves the due connections one after another in
    # the tick's invocation (the CLI, one machine); "tasks" enqueues one Cloud Tasks task per
    # due connection on `tasks_queue` (projects/P/locations/L/queues/Q), aimed at
    # {sync_function_url}/task with an OIDC token of `tasks_service_account`.
    dispatch: Literal["loop", "tasks"] = "loop"
    tasks_queue: str = Field("", pattern=r"^(projects/[a-z0-9-]+/locations/[a-z0-9-]+/queues/[A-Za-z0-9-]+)?$")
    tasks_service_account: str = ""
    # Empty means Google's own endpoint; the sandbox sets a local one.
    cloud_tasks_url: HttpUrl | None = None
    # The people's page (sync/serve/page): its public base URL (the redirect addresses are
    # {page_url}/auth/teamleader and {page_url}/auth/google), the Teamleader accounts whose
    # first person to sign in may connect them (comma-separated ids, or "any"; empty: none),
    # and how long a sign-in lasts.
    page_url: HttpUrl | None = None
    page_accounts: str = ""
    session_hours: float = Field(12.0, gt=0, le=24 * 30)
    # The secret holding the page's Google client ("Web application"); empty: the default name
    # of the "google-web" client kind under `secret_prefix`.
    google_web_client_secret: str = Field("", pattern=r"^[A-Za-z0-9_-]{0,200}$")

    def may_connect(self, account_id: str) -> bool:
        """Whether a person of this Teamleader account may connect it from the page."""
        listed = {a.strip() for a in self.page_accounts.split(",") if a.strip()}
        return "any" in listed or account_id in listed


def load_settings() -> Settings:
    """The settings from the environment; a clear error names what is wrong."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(f"SYNC_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"invalid settings: {problems}") from exc


def settings_from(variables: Mapping[str, str]) -> Settings:
    """The settings from SYNC_* variables given as a mapping rather than read from the
    environment (the sandbox's settings for a sync in this process)."""
    return Settings.model_validate(
        {name.removeprefix("SYNC_").lower(): value for name, value in variables.items() if name.startswith("SYNC_")}
    )


def url(value: HttpUrl | None) -> str:
    """A configured URL as a plain string without a trailing slash."""
    return str(value).rstrip("/") if value else ""
