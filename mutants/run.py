"""`make mutants`: break each protection on purpose and check that a test notices.

Every mutant in `mutants.toml` names one rule of the design (an invariant of ARCHITECTURE.md or
a claim of the README), the one place in the code that keeps it, the change that breaks it,
and the tests that guard it. Each mutant is applied to its own scratch copy of the working
tree, its tests are run there, and it must be killed: those tests must fail (pytest's exit
status 1). A mutant whose text no longer matches the code is an error too, so that the list
is mended with the code it guards. Prints the table; exits non-zero if any mutant survived.

    python mutants/run.py [--jobs 2] [--only NAME ...] [--markdown]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = Path(__file__).with_name("mutants.toml")
# Generous: the slowest guard (20 kills of a first run) takes under two minutes here.
TIMEOUT_SECONDS = 600


@dataclass(frozen=True)
class Mutant:
    """One deliberate break of one protection."""

    name: str
    invariant: str
    file: str
    find: str
    replace: str
    tests: tuple[str, ...]


@dataclass(frozen=True)
class Verdict:
    mutant: Mutant
    outcome: str  # killed, SURVIVED, or ERROR (the mutant no longer applies, or pytest broke)
    seconds: float
    detail: str = ""


def load(spec: Path = SPEC) -> list[Mutant]:
    """The mutants of the spec file, in its order."""
    with spec.open("rb") as handle:
        entries = tomllib.load(handle)["mutant"]
    return [Mutant(e["name"], e["invariant"], e["file"], e["find"], e["replace"], tuple(e["tests"])) for e in entries]


def _tracked_files() -> list[str]:
    """The working tree as a clean clone would have it, with uncommitted changes."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [name for name in listed.split("\0") if name and (ROOT / name).is_file()]


def _scratch_copy(files: list[str]) -> Path:
    scratch = Path(tempfile.mkdtemp(prefix="mutant-"))
    for name in files:
        target = scratch / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    return scratch


def apply(mutant: Mutant, tree: Path) -> None:
    """Write the mutant into `tree`; ValueError when its text is not found exactly once."""
    path = tree / mutant.file
    source = path.read_text()
    found = source.count(mutant.find)
    if found != 1:
        raise ValueError(f"its text is found {found} times in {mutant.file}: update the mutant with the code")
    path.write_text(source.replace(mutant.find, mutant.replace))


def judge(mutant: Mutant, files: list[str]) -> Verdict:
    """Apply one mutant to a scratch copy and run its guards there."""
    started = time.monotonic()
    scratch = _scratch_copy(files)
    try:
        try:
            apply(mutant, scratch)
        except ValueError as exc:
            return Verdict(mutant, "ERROR", 0.0, str(exc))
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *mutant.tests]
        try:
            result = subprocess.run(
                command, cwd=scratch, env=env, capture_output=True, text=True, timeout=TIMEOUT_SECONDS
            )
        except subprocess.TimeoutExpired:
            return Verdict(mutant, "ERROR", time.monotonic() - started, "its tests timed out")
        seconds = time.monotonic() - started
        last = (result.stdout.strip().splitlines() or [""])[-1]
        if result.returncode == 1:
            return Verdict(mutant, "killed", seconds, last)
        if result.returncode == 0:
            return Verdict(mutant, "SURVIVED", seconds, last)
        # Collection errors, usage errors, no tests: the mutant proved nothing either way.
        return Verdict(mutant, "ERROR", seconds, f"pytest exit {result.returncode}: {last}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _table(verdicts: list[Verdict], markdown: bool) -> str:
    rows = [("mutant", "invariant", "guarded by", "verdict", "s")]
    for v in verdicts:
        guards = ", ".join(t.split("/")[-1] for t in v.mutant.tests)
        rows.append((v.mutant.name, v.mutant.invariant, guards, v.outcome, f"{v.seconds:.0f}"))
    if markdown:
        lines = ["| " + " | ".join(row) + " |" for row in rows]
        lines.insert(1, "|" + "---|" * len(rows[0]))
        return "\n".join(lines)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=2, help="mutants judged at once")
    parser.add_argument("--only", nargs="*", default=None, help="judge only these mutants")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = parser.parse_args()
    mutants = load()
    if args.only:
        unknown = set(args.only) - {m.name for m in mutants}
        if unknown:
            parser.error(f"unknown mutants: {', '.join(sorted(unknown))}")
        mutants = [m for m in mutants if m.name in args.only]
    files = _tracked_files()
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        verdicts = list(pool.map(lambda m: judge(m, files), mutants))
    print(_table(verdicts, args.markdown))
    alive = [v for v in verdicts if v.outcome != "killed"]
    for verdict in alive:
        print(f"\n{verdict.outcome}: {verdict.mutant.name} ({verdict.mutant.file}): {verdict.detail}")
    killed = len(verdicts) - len(alive)
    print(f"\n{killed} of {len(verdicts)} mutants killed in {time.monotonic() - started:.0f} s")
    return 1 if alive else 0


if __name__ == "__main__":
    sys.exit(main())
