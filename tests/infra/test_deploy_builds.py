"""main's two builds, run step by step as Cloud Build runs them (its substitutions made, each
step's script in its directory) with stand-ins for terraform and gcloud: the deploy of a commit
applies the very plan that commit's plan build printed and kept, and nothing without it."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.infra.hcl import ROOT, TF
from tests.infra.stubs import calls, environment, install

SUBSTITUTIONS = {
    "_ENV": "production",
    "_TF_STATE_BUCKET": "my-state",
    "_PLANS_BUCKET": "my-plans",
    "COMMIT_SHA": "abc123",
}


def _steps(name: str) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = yaml.safe_load((ROOT / name).read_text())["steps"]
    return steps


def _workspace(directory: Path, stubs: Path) -> Path:
    """A fresh checkout as a build's /workspace, with the Terraform binary that the build's
    first step copies in (a stand-in)."""
    (directory / "infra" / "terraform" / "env").mkdir(parents=True)
    shutil.copy(TF / ".terraform.lock.hcl", directory / "infra" / "terraform")
    (directory / ".tools").mkdir()
    shutil.copy(stubs / "terraform", directory / ".tools" / "terraform")
    return directory


def _run(name: str, workspace: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The build's steps after Terraform's binary and the tests; stops at the first failure.
    Answers the last step's outcome with every step's output, as the build's log has it."""
    done, log = subprocess.CompletedProcess[str]([], 0, "", ""), ""
    for step in _steps(name):
        if step["id"] in ("terraform-binary", "test"):
            continue
        flags, script = step["args"]
        for key, value in SUBSTITUTIONS.items():
            script = script.replace("${" + key + "}", value)
        # Cloud Build refuses a $NAME that is no substitution; $$ passes a $ to the shell.
        assert not re.search(r"\$(?!\()\{?\w", script.replace("$$", "")), f"{step['id']}: {script}"
        script = script.replace("$$", "$").replace("/workspace/", f"{workspace}/")
        cwd = workspace / step.get("dir", "")
        done = subprocess.run([step["entrypoint"], flags, script], cwd=cwd, env=env, capture_output=True, text=True)
        log += done.stdout
        if done.returncode != 0:
            break
    return subprocess.CompletedProcess(done.args, done.returncode, log, done.stderr)


def test_the_applied_plan_is_the_kept_one_and_nothing_is_applied_without_it(tmp_path: Path) -> None:
    stubs = install(tmp_path / "bin", "terraform", "gcloud")
    log, gcs = tmp_path / "calls.jsonl", tmp_path / "gcs"
    env = environment(stubs, log, gcs)
    # Approved before its plan build has kept anything: it stops, and says why.
    early = _run("cloudbuild-deploy.yaml", _workspace(tmp_path / "early", stubs), env)
    assert early.returncode != 0 and "No plan kept for abc123 yet" in early.stderr
    assert not [c for c in calls(log) if c["argv"][:1] == ["apply"]]
    planned = _run("cloudbuild-plan.yaml", _workspace(tmp_path / "plan", stubs), env)
    assert planned.returncode == 0, planned.stderr
    assert "Terraform will perform the following actions" in planned.stdout, "the plan is in the build's log"
    kept = gcs / "my-plans" / "plans" / "abc123"
    assert sorted(p.name for p in kept.iterdir()) == ["plan.tgz", "plan.txt"]
    # The deploy build starts from a fresh checkout of the same commit.
    applied = _run("cloudbuild-deploy.yaml", _workspace(tmp_path / "deploy", stubs), env)
    assert applied.returncode == 0, applied.stderr
    (apply,) = [c for c in calls(log) if c["argv"][:1] == ["apply"]]
    made = (tmp_path / "plan" / "infra" / "terraform" / "tfplan").read_bytes()
    assert apply["plan_sha256"] == hashlib.sha256(made).hexdigest(), "not the plan that was shown"
    assert apply["source_present"], "the function's source archive the plan uploads"
    assert apply["cwd"] == str(tmp_path / "deploy" / "infra" / "terraform")
    inits = [c["argv"] for c in calls(log) if c["argv"][:1] == ["init"]]
    assert len(inits) == 2 and all("-backend-config=bucket=my-state" in argv for argv in inits), inits
