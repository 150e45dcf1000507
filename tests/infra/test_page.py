"""The people's page as deployed (infra/terraform/page.tf): the function and its settings, its
identity's grants (nothing beyond what the page does), how it is opened, and the values an
operator registers with Teamleader and Google. Expressions are evaluated by Terraform itself
over stand-ins (no provider to download)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sync.secrets.port import GOOGLE_CLIENT_SECRET, TEAMLEADER_CLIENT_SECRET
from tests.infra.hcl import load, local, resources, terraform_accepts, terraform_value, text

PROJECT_NUMBER = "123456789012"
PREFIX = "tl-contacts-sync-"
PAGE = f"https://tl-contacts-sync-page-{PROJECT_NUMBER}.europe-west1.run.app"
PAGE_IDENTITY = "google_service_account.page"


@pytest.fixture(scope="module")
def tf() -> dict[str, Any]:
    return load()


def _value(tf: dict[str, Any], expression: str, workdir: Path) -> Any:
    """An expression of the configuration as a default apply in project PROJECT_NUMBER makes it."""
    clients = {
        kind: name.replace("${local.secret_prefix}", PREFIX) for kind, name in local(tf, "client_secrets").items()
    }
    stand_ins = f'''
variable "name" {{
  default = "tl-contacts-sync"
}}
variable "region" {{
  default = "europe-west1"
}}
locals {{
  project_number = "{PROJECT_NUMBER}"
  secret_prefix  = "{PREFIX}"
  secrets_path   = "projects/{PROJECT_NUMBER}/secrets/{PREFIX}"
  app_secrets    = [{", ".join(f'"{name}"' for name in clients.values())}]
  page_url       = "{local(tf, "page_url").replace("data.google_project.this.number", "local.project_number")}"
}}
'''
    return terraform_value(
        expression.replace("data.google_project.this.number", "local.project_number"), workdir, stand_ins
    )


def _grants(tf: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """Every grant to the page's identity: (resource type, name, body)."""
    return [
        (rtype, name, body)
        for rtype, named in tf["resource"].items()
        if "iam" in rtype
        for name, body in named.items()
        if PAGE_IDENTITY in text(body.get("member", ""))
    ]


def test_the_page_is_its_own_function_built_from_the_same_source(tf: dict[str, Any]) -> None:
    functions = resources(tf, "google_cloudfunctions2_function")
    page, sync = functions["page"], functions["sync"]
    assert page["name"] == "${var.name}-page"
    build = page["build_config"][0]
    assert (build["runtime"], build["entry_point"]) == ("python312", "page_http")
    assert build["source"] == sync["build_config"][0]["source"]
    assert build["service_account"] == sync["build_config"][0]["service_account"]
    service = page["service_config"][0]
    assert service["available_memory"] == "256M"
    assert service["max_instance_count"] == "${var.page_max_instances}"
    assert service["min_instance_count"] == 0
    assert service["service_account_email"] == "${google_service_account.page.email}"
    assert "time_sleep.iam_settle" in text(page["depends_on"])


def test_the_page_is_told_its_address_its_rules_and_where_everything_is(tf: dict[str, Any]) -> None:
    env = resources(tf, "google_cloudfunctions2_function")["page"]["service_config"][0]["environment_variables"]
    assert env == {
        "SYNC_PAGE_URL": "${local.page_url}",
        "SYNC_PAGE_ACCOUNTS": "${var.page_accounts}",
        "SYNC_SESSION_HOURS": "${tostring(var.session_hours)}",
        "SYNC_STATE_BACKEND": "firestore",
        "SYNC_FIRESTORE_PROJECT": "${var.project_id}",
        "SYNC_SECRETS_BACKEND": "secretmanager",
        "SYNC_SECRET_MANAGER_PROJECT": "${var.project_id}",
        "SYNC_SECRET_PREFIX": "${local.secret_prefix}",
        "SYNC_SYNC_FUNCTION_URL": "${google_cloudfunctions2_function.sync.service_config[0].uri}",
        "SYNC_WEBHOOK_URL": "${google_cloudfunctions2_function.receiver.service_config[0].uri}",
        # "Sync now" is a task on the runs' queue (tests/infra/test_tasks_queue.py).
        "SYNC_DISPATCH": "tasks",
        "SYNC_TASKS_QUEUE": "${google_cloud_tasks_queue.runs.id}",
        "SYNC_TASKS_SERVICE_ACCOUNT": "${google_service_account.tasks.email}",
    }
    # Nobody may connect until the operator names the accounts; a sign-in lasts a working day.
    assert tf["variable"]["page_accounts"]["default"] == ""
    assert tf["variable"]["session_hours"]["default"] == 12


def test_the_pages_identity_may_do_what_the_page_does_and_nothing_more(tf: dict[str, Any]) -> None:
    grants = {(rtype, name): body for rtype, name, body in _grants(tf)}
    assert {key: body["role"] for key, body in grants.items()} == {
        ("google_project_iam_member", "page_firestore"): "roles/datastore.user",
        ("google_project_iam_member", "page_secret_creator"): "${google_project_iam_custom_role.secret_creator.id}",
        ("google_project_iam_member", "page_token_secrets"): "${google_project_iam_custom_role.token_rotator.id}",
        ("google_secret_manager_secret_iam_member", "page_client_access"): "roles/secretmanager.secretAccessor",
        ("google_cloud_run_service_iam_member", "page_invokes_sync"): "roles/run.invoker",
    }
    # Creating a secret, only: its versions are reached through the token role's condition.
    creator = resources(tf, "google_project_iam_custom_role")["secret_creator"]
    assert creator["permissions"] == ["secretmanager.secrets.create"]
    assert "condition" not in grants[("google_project_iam_member", "page_secret_creator")]
    # The runtime's token role under the runtime's condition.
    runtime = resources(tf, "google_project_iam_member")["runtime_token_secrets"]
    tokens = grants[("google_project_iam_member", "page_token_secrets")]
    assert (
        tokens["condition"][0]["expression"] == runtime["condition"][0]["expression"] == "${local.token_secrets_only}"
    )
    # The two clients people sign in with, not the CLI's Desktop app client.
    clients = grants[("google_secret_manager_secret_iam_member", "page_client_access")]
    assert clients["for_each"] == '${toset([local.client_secrets["teamleader"], local.client_secrets["google-web"]])}'
    assert clients["secret_id"] == "${google_secret_manager_secret.app[each.value].id}"
    # Invoking the sync function, not itself nor the receiver.
    invoke = grants[("google_cloud_run_service_iam_member", "page_invokes_sync")]
    assert invoke["service"] == "${google_cloudfunctions2_function.sync.name}"
    # Every grant settles before the page takes its first visitor.
    settle = text(resources(tf, "time_sleep")["iam_settle"]["depends_on"])
    for rtype, name in grants:
        if rtype != "google_cloud_run_service_iam_member":
            assert f"{rtype}.{name}" in settle, name


def test_the_token_condition_leaves_out_every_oauth_client(tf: dict[str, Any], tmp_path: Path) -> None:
    clients = local(tf, "client_secrets")
    # The names the code reads (sync/secrets/port.py), and the page's client named alike.
    assert clients == {
        "teamleader": "${local.secret_prefix}" + TEAMLEADER_CLIENT_SECRET,
        "google": "${local.secret_prefix}" + GOOGLE_CLIENT_SECRET,
        "google-web": "${local.secret_prefix}google-web-oauth-client",
    }
    condition = _value(tf, local(tf, "token_secrets_only"), tmp_path)
    secrets = f"projects/{PROJECT_NUMBER}/secrets/"
    assert condition.split(" && ") == [
        f'resource.name.startsWith("{secrets}{PREFIX}")',
        f'!resource.name.startsWith("{secrets}{PREFIX}google-oauth-client")',
        f'!resource.name.startsWith("{secrets}{PREFIX}google-web-oauth-client")',
        f'!resource.name.startsWith("{secrets}{PREFIX}teamleader-oauth-client")',
    ]
    # The runtime reads every client: a token is refreshed with the client that issued it.
    assert resources(tf, "google_secret_manager_secret")["app"]["for_each"] == "${toset(local.app_secrets)}"
    assert local(tf, "app_secrets") == "${values(local.client_secrets)}"


def test_the_page_is_opened_like_the_receiver(tf: dict[str, Any]) -> None:
    """Both shapes of var.public_access are planned over the page in test_public_access.py."""
    (public,) = [block["public_functions"] for block in tf["locals"] if "public_functions" in block]
    assert public["page"] == "${google_cloudfunctions2_function.page}"
    page = resources(tf, "google_cloudfunctions2_function")["page"]
    assert page["service_config"][0]["ingress_settings"] == "ALLOW_ALL"


def test_the_addresses_to_register_are_plain_values(tf: dict[str, Any], tmp_path: Path) -> None:
    def output(name: str) -> Any:
        # A string template, as the output's value is written.
        return _value(tf, '${"' + tf["output"][name]["value"] + '"}', tmp_path)

    assert output("page_url") == PAGE
    assert output("teamleader_redirect_uri") == f"{PAGE}/auth/teamleader"
    assert output("google_redirect_uri") == f"{PAGE}/auth/google"
    # The page's own address is the one it is told, and Cloud Run's deterministic address of the
    # function's service: SERVICE-PROJECT_NUMBER.REGION.run.app.
    assert resources(tf, "google_cloudfunctions2_function")["page"]["name"] == "${var.name}-page"
    assert local(tf, "page_url") == "https://${var.name}-page-${data.google_project.this.number}.${var.region}.run.app"


def test_the_pages_settings_are_validated(tf: dict[str, Any], tmp_path: Path) -> None:
    for accounts in ("", "any", "4f3c2d1e-0000-4aaa-8bbb-123456789abc", "acme,globex", "acme, globex"):
        assert terraform_accepts(tf, "page_accounts", accounts, tmp_path), accounts
    for accounts in ("acme;globex", "acme,,globex", "*", "acme globex", ","):
        assert not terraform_accepts(tf, "page_accounts", accounts, tmp_path), accounts
    numbers: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
        "session_hours": ((1, 12, 168), (0, 0.5, 169, -1)),
        "page_max_instances": ((1, 3, 100), (0, 2.5, 101)),
    }
    for variable, (accepted, refused) in numbers.items():
        for number in accepted:
            assert terraform_accepts(tf, variable, number, tmp_path), (variable, number)
        for number in refused:
            assert not terraform_accepts(tf, variable, number, tmp_path), (variable, number)
