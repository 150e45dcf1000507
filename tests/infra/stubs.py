"""Stand-ins for the commands an operator (or a Cloud Build step) runs, which record how they
were called: the arguments exactly as the shell passed them, and the working directory. Enough
to test quoting, working directories and what is handed from one step to the next, with no
cloud at all."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

# One program for every command; what it does besides recording depends on its name.
STUB = r'''
import hashlib, json, os, shutil, sys
from pathlib import Path

name, args = Path(sys.argv[0]).name, sys.argv[1:]
entry = {"tool": name, "argv": args, "cwd": os.getcwd(),
         "env": {k: v for k, v in os.environ.items() if k.startswith("SYNC_")}}

def gcs(path):
    """gs://bucket/key in the stand-in storage folder."""
    return Path(os.environ["STUB_GCS"], path[len("gs://"):]) if path.startswith("gs://") else Path(path)

if name == "terraform":
    command = [a for a in args if not a.startswith("-chdir")][0]
    if command == "output":
        print(json.loads(os.environ["STUB_OUTPUTS"])[args[-1]], end="")
    elif command == "plan":
        out = next(a.split("=", 1)[1] for a in args if a.startswith("-out="))
        Path(out).write_bytes(os.urandom(32))
        Path(".build").mkdir(exist_ok=True)
        Path(".build/source.zip").write_bytes(b"zip")
    elif command == "show":
        print("Terraform will perform the following actions:")
    elif command == "apply" and args[-1] != "-auto-approve" and Path(args[-1]).is_file():
        entry["plan_sha256"] = hashlib.sha256(Path(args[-1]).read_bytes()).hexdigest()
        entry["source_present"] = Path(".build/source.zip").is_file()
elif name == "gcloud":
    if args[:2] == ["auth", "print-identity-token"]:
        print("ID-TOKEN")
    elif args[:2] == ["storage", "cp"]:
        *sources, target = args[2:]
        for source in sources:
            found = gcs(source)
            if not found.is_file():
                sys.stderr.write(f"ERROR: {source} not found\n")
                sys.exit(1)
            destination = gcs(target)
            if target.endswith("/"):
                destination.mkdir(parents=True, exist_ok=True)
                destination = destination / found.name
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(found, destination)
with open(os.environ["STUB_LOG"], "a") as log:
    log.write(json.dumps(entry) + "\n")
'''


def install(directory: Path, *names: str) -> Path:
    """The stubs, as executables in `directory` (put it first on PATH)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in names:
        path = directory / name
        path.write_text(f"#!{sys.executable}\n{STUB}")
        path.chmod(0o755)
    return directory


def environment(stubs: Path, log: Path, gcs: Path, outputs: dict[str, str] | None = None) -> dict[str, str]:
    """A process environment in which only the stubs and the shell's basics are found."""
    return {
        "PATH": f"{stubs}:/usr/bin:/bin",
        "HOME": str(log.parent),
        "STUB_LOG": str(log),
        "STUB_GCS": str(gcs),
        "STUB_OUTPUTS": json.dumps(outputs or {}),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
    }


def calls(log: Path) -> list[dict[str, Any]]:
    """Every recorded call, in order."""
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines()]
