"""The README's deploy section, pasted as an operator would: its shell blocks, in order, in one
bash at the repository's root, with stand-ins for gcloud, terraform, make, curl and the venv's
Python that record how they were called. What reaches each command is what the shell made of
the README's quoting, and where it ran."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.infra.hcl import ROOT, load
from tests.infra.stubs import calls, environment, install

URL = "https://tl-contacts-sync-abc123-ew.a.run.app"
HOOKS = "https://tl-contacts-sync-hooks-abc123-ew.a.run.app"
PAGE = "https://tl-contacts-sync-page-123456789012.europe-west1.run.app"


def _section() -> str:
    readme = (ROOT / "README.md").read_text()
    start = readme.index("## Deploying to Google Cloud")
    return readme[start : readme.index("\n## ", start + 1)]


def _blocks() -> list[str]:
    return [
        re.sub(r"^ {3}", "", block, flags=re.MULTILINE) for block in re.findall(r"```sh\n(.*?)```", _section(), re.S)
    ]


def _outputs() -> dict[str, str]:
    """Terraform's outputs as an apply of env/production.tfvars would give them, from the
    configuration's own expressions."""
    values = {
        "${var.project_id}": "my-sync-project",
        "${local.secret_prefix}": "tl-contacts-sync-",
        "${google_cloudfunctions2_function.receiver.service_config[0].uri}": HOOKS,
    }
    operator_env = load()["output"]["operator_env"]["value"]
    for expression, value in values.items():
        operator_env = operator_env.replace(expression, value)
    assert "${" not in operator_env, operator_env
    return {
        "operator_env": operator_env,
        "function_url": URL,
        "webhook_url": HOOKS,
        "page_url": PAGE,
        "google_redirect_uri": f"{PAGE}/auth/google",
        "teamleader_redirect_uri": f"{PAGE}/auth/teamleader",
    }


@pytest.fixture(scope="module")
def pasted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    """Every block run once, in a checkout-like folder: its calls, in order."""
    tmp = tmp_path_factory.mktemp("readme")
    repo = tmp / "repo"
    (repo / "infra" / "terraform" / "env").mkdir(parents=True)
    install(repo / ".venv" / "bin", "python")
    stubs = install(tmp / "bin", "gcloud", "terraform", "make", "curl")
    env = environment(stubs, tmp / "calls.jsonl", tmp / "gcs", _outputs())
    # Only the stand-ins and bash's builtins: a command the README needs and nobody stood in
    # for fails here instead of running for real.
    env["PATH"] = str(stubs)
    script = "set -euo pipefail\n" + "\n".join(_blocks())
    done = subprocess.run(["/bin/bash", "-c", script], cwd=repo, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return repo, calls(tmp / "calls.jsonl")


def _of(recorded: list[dict[str, Any]], tool: str) -> list[dict[str, Any]]:
    return [call for call in recorded if call["tool"] == tool]


def test_terraform_and_the_python_clients_get_credentials_before_they_run(pasted: tuple[Path, Any]) -> None:
    _, recorded = pasted
    order = [" ".join([c["tool"], *c["argv"][:2]]) for c in recorded]
    adc = order.index("gcloud auth application-default")
    quota = [
        c["argv"]
        for c in _of(recorded, "gcloud")
        if c["argv"][:3] == ["auth", "application-default", "set-quota-project"]
    ]
    assert quota == [["auth", "application-default", "set-quota-project", "my-sync-project"]]
    first_terraform = next(i for i, c in enumerate(recorded) if c["tool"] == "terraform")
    assert adc < first_terraform, "Terraform's provider and backend read Application Default Credentials"
    assert ["config", "set", "project", "my-sync-project"] in [c["argv"] for c in _of(recorded, "gcloud")]


def test_terraform_runs_in_its_folder_from_the_root_and_the_triggers_come_second(pasted: tuple[Path, Any]) -> None:
    repo, recorded = pasted
    terraform = _of(recorded, "terraform")
    assert all(c["argv"][0] == "-chdir=infra/terraform" and c["cwd"] == str(repo) for c in terraform)
    commands = [c["argv"][1:] for c in terraform if c["argv"][1] in ("init", "apply")]
    assert commands[0] == ["init", "-backend-config=bucket=my-sync-project-tfstate"]
    # The first apply leaves the Cloud Build triggers out; the one after the console connection
    # makes them.
    assert commands[1:] == [
        ["apply", "-var-file=env/production.tfvars", "-var=github_repo="],
        ["apply", "-var-file=env/production.tfvars"],
    ]
    section = _section()
    between = section[section.index("-var=github_repo=\n") : section.rindex("apply -var-file=env/production.tfvars\n")]
    between = " ".join(between.split())
    assert "cloud-build/triggers/connect" in between and "Connect repository" in between
    assert ["install"] in [c["argv"] for c in _of(recorded, "make")], "the venv the sync runs from"


def test_the_sync_runs_from_the_root_with_the_deployments_settings(pasted: tuple[Path, Any]) -> None:
    repo, recorded = pasted
    python = _of(recorded, "python")
    assert [c["argv"][:3] for c in python if c["argv"][0] == "-m"] == [
        ["-m", "sync", "accounts"],
        ["-m", "sync", "connect"],
        ["-m", "sync", "connect"],
    ]
    for call in python:
        assert call["cwd"] == str(repo), "the package imports from the repository's root only"
        assert call["env"]["SYNC_SECRET_PREFIX"] == "tl-contacts-sync-"
        assert call["env"]["SYNC_STATE_BACKEND"] == "firestore"
        assert call["env"]["SYNC_WEBHOOK_URL"] == HOOKS


def test_curl_gets_the_token_and_the_address_as_single_words(pasted: tuple[Path, Any]) -> None:
    _, recorded = pasted
    bearer = "Authorization: Bearer ID-TOKEN"
    assert [c["argv"] for c in _of(recorded, "curl")] == [
        ["-X", "POST", "-H", bearer, URL],
        ["-H", bearer, URL],
        ["-X", "POST", "-H", bearer, f"{URL}?account=acme&mode=full"],
    ]


def test_the_consent_screen_step_says_what_each_user_type_costs() -> None:
    section = _section()
    consent = section[section.index("OAuth apps") : section.index("Accounts and tokens")]
    for words in ("**Internal**", "**External**", "Testing", "7 days", "Publish app", "verified"):
        assert words in consent, words


def test_the_pages_web_client_is_stored_as_its_id_and_secret_under_the_secret_terraform_made(
    pasted: tuple[Path, Any], tmp_path: Path
) -> None:
    repo, recorded = pasted
    outputs = [c["argv"][1:] for c in _of(recorded, "terraform") if c["argv"][1] == "output"]
    for name in ("page_url", "google_redirect_uri", "teamleader_redirect_uri"):
        assert ["output", "-raw", name] in outputs, name
    (store,) = [c for c in _of(recorded, "gcloud") if c["argv"][:3] == ["secrets", "versions", "add"]]
    clients = load()["locals"]
    (secrets,) = [block["client_secrets"] for block in clients if "client_secrets" in block]
    name = secrets["google-web"].replace("${local.secret_prefix}", "tl-contacts-sync-")
    assert store["argv"][3:] == [name, "--data-file=-"] and store["cwd"] == str(repo)
    # The Python line that feeds it, run for real on a client file as Google's console downloads
    # it: the secret holds what the code reads of every client, its id and its secret alone.
    (flatten,) = [c for c in _of(recorded, "python") if c["argv"][0] == "-c"]
    assert flatten["argv"][2:] == ["client_secret_web.json"]
    download = {
        "web": {
            "client_id": "1234-abc.apps.googleusercontent.com",
            "client_secret": "GOCSPX-secret",
            "redirect_uris": [f"{PAGE}/auth/google"],
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        }
    }
    (tmp_path / "client_secret_web.json").write_text(json.dumps(download))
    done = subprocess.run(
        [sys.executable, "-c", flatten["argv"][1], "client_secret_web.json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(done.stdout) == {"client_id": download["web"]["client_id"], "client_secret": "GOCSPX-secret"}


def test_the_pages_step_names_the_consoles_paths_and_who_may_connect() -> None:
    section = _section()
    step = " ".join(
        section[section.index("**The people's page**") : section.index("Webhooks need nothing more")].split()
    )
    for words in (
        "APIs & Services → Credentials → Create credentials → OAuth client ID → Web application"
        " → Authorized redirect URIs",
        "Marketplace → your integration (step 5's) → redirect URLs",
        "**Internal**",
        "**External**",
        "verification",
        "`page_accounts`",
        "SYNC_PAGE_ACCOUNTS",
        '`"any"`',
    ):
        assert words in step, words
