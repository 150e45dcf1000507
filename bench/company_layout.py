"""How a connection's stored companies cost in Firestore, in the layout this tree ships: the
reads, writes and deletes of the companies' documents (counted on the wire, `sandbox.meter`)
for each kind of run of `bench/cost.py` (first, unchanged, 1% changed, full with nothing
changed, one webhook-driven change), one Google user; then the documents they are kept in and
their sizes. Run it on two trees to compare two layouts (bench/README.md names the commits).
Usage:

    .venv/bin/python bench/company_layout.py [--contacts 25000] [--json bench/results/company_layout.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from google.cloud import firestore

from bench.cost import RUNS, cold_runs, firestore_env
from bench.measure import ACCOUNT, SandboxProcess, first_run_shape, write_json
from sandbox.emulator import FirestoreEmulator

# The collections a connection's companies may be kept in: one document a company (before
# issue 28), or shard documents.
COLLECTIONS = ("companies", "company_shards")


def measure(contacts: int, emulator: FirestoreEmulator) -> dict[str, Any]:
    """Each kind of run's operations, in all and on the companies' collections; the
    companies' documents after them."""
    companies, bulk = first_run_shape(contacts)
    project = f"demo-layout-{uuid.uuid4().hex[:8]}"
    options: dict[str, float] = {"rate_limit": 1_000_000}
    with SandboxProcess(
        contacts, companies, bulk_import=bulk, options=options, env=firestore_env(project, emulator.host)
    ) as sandbox:
        runs, changed = cold_runs(sandbox, project, contacts)
    return {
        "contacts": contacts,
        "companies": companies,
        "changed": len(changed),
        "runs": {label: runs[label] for label in RUNS},
        "documents": documents(project),
    }


def documents(project: str) -> dict[str, dict[str, int]]:
    """Each companies' collection of the connection: its documents and their sizes (bytes of
    their JSON, near Firestore's own count)."""
    client = firestore.Client(project=project)
    try:
        found = {}
        for name in COLLECTIONS:
            sizes = [
                len(json.dumps(s.to_dict(), default=str))
                for s in client.collection("accounts").document(ACCOUNT).collection(name).stream()
            ]
            if sizes:
                found[name] = {
                    "documents": len(sizes),
                    "largest_bytes": max(sizes),
                    "mean_bytes": sum(sizes) // len(sizes),
                }
        return found
    finally:
        client.close()


def on_companies(run: dict[str, Any], kind: str) -> int:
    """A run's `kind` ("reads", "writes": writes and deletes) on the companies' collections."""
    return sum(run["by_collection"].get(f"{name} {kind}", 0) for name in COLLECTIONS)


def print_figures(figures: dict[str, Any]) -> None:
    print(
        f"{figures['contacts']:,} contacts, {figures['companies']:,} companies, one Google user "
        f"({figures['changed']:,} contacts in the 1% run)"
    )
    print(f"{'run':<12} {'reads':>8} {'writes':>8} {'deletes':>8} {'company reads':>14} {'company writes':>15}")
    for label in RUNS:
        run = figures["runs"][label]
        print(
            f"{label:<12} {run['reads']:>8,} {run['writes']:>8,} {run['deletes']:>8,} "
            f"{on_companies(run, 'reads'):>14,} {on_companies(run, 'writes'):>15,}"
        )
    for name, sizes in figures["documents"].items():
        print(
            f"{name}: {sizes['documents']:,} documents, the largest {sizes['largest_bytes']:,} bytes, "
            f"{sizes['mean_bytes']:,} on average"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=25_000)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    with FirestoreEmulator() as emulator:
        # This process's own clients (the receiver's part, the sizes) talk to the emulator too.
        os.environ["FIRESTORE_EMULATOR_HOST"] = emulator.host
        figures = measure(args.contacts, emulator)
    print_figures(figures)
    write_json(args.json, figures)


if __name__ == "__main__":
    main()
