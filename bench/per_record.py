"""The per-record way, side by side with the sync, on the same sandbox data: what automation
tools do (list the contacts, read each contact to find its companies, look each company up
once, create each eligible person with its own call into the group), against a first run of
the sync. Prints the calls to each API and the wall time of both, and their ratios. Usage:

    .venv/bin/python bench/per_record.py [--contacts 1000] [--teamleader-latency-ms 120]
        [--people-latency-ms 300] [--json bench/results/per_record.json]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.measure import ACCOUNT, SandboxProcess, add_latency_options, latency_options, write_json
from sandbox.stack import GOOGLE_CLIENT, TEAMLEADER_CLIENT


class Counted:
    """An httpx client that counts its calls and waits out a 429 as such tools do."""

    def __init__(self, base_url: str, token: str) -> None:
        self._http = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=60)
        self.calls = 0

    def post(self, path: str, body: dict[str, Any]) -> Any:
        while True:
            self.calls += 1
            answer = self._http.post(path, json=body)
            if answer.status_code != 429:
                answer.raise_for_status()
                return answer.json()
            time.sleep(float(answer.headers.get("Retry-After") or 1))


def per_record(sandbox: SandboxProcess) -> dict[str, Any]:
    """One first sync the per-record way; its calls and wall time."""
    info = sandbox.info
    started = time.perf_counter()
    teamleader_token = _access_token(
        info["teamleader_url"] + "/oauth2/access_token", TEAMLEADER_CLIENT, info["teamleader_refresh_token"]
    )
    google_token = _access_token(info["people_url"] + "/token", GOOGLE_CLIENT, info["google_refresh_token"])
    teamleader = Counted(info["teamleader_url"], teamleader_token)
    google = Counted(info["people_url"], google_token)
    group = google.post("/v1/contactGroups", {"contactGroup": {"name": "Teamleader"}})["resourceName"]
    companies: dict[str, str] = {}
    number = 1
    while page := teamleader.post("/contacts.list", {"page": {"size": 100, "number": number}})["data"]:
        number += 1
        for listed in page:
            contact = teamleader.post("/contacts.info", {"id": listed["id"]})["data"]
            if not _eligible(contact):
                continue
            for link in contact.get("companies") or []:
                company_id = link["company"]["id"]
                if company_id not in companies:
                    found = teamleader.post("/companies.info", {"id": company_id})["data"]
                    companies[company_id] = found["name"]
            google.post("/v1/people:createContact", {**_person(contact, companies), "memberships": [_in(group)]})
    return {"teamleader_calls": teamleader.calls, "google_calls": google.calls, "wall_s": time.perf_counter() - started}


def _access_token(token_url: str, client: tuple[str, str], refresh_token: str) -> str:
    grant = {"grant_type": "refresh_token", "client_id": client[0], "client_secret": client[1]}
    token: str = httpx.post(token_url, data={**grant, "refresh_token": refresh_token}).json()["access_token"]
    return token


def _eligible(contact: dict[str, Any]) -> bool:
    reachable = contact.get("emails") or contact.get("telephones")
    named = (contact.get("first_name") or "").strip() and (contact.get("last_name") or "").strip()
    return bool(contact.get("status") == "active" and named and reachable)


def _person(contact: dict[str, Any], companies: dict[str, str]) -> dict[str, Any]:
    return {
        "names": [{"givenName": contact["first_name"], "familyName": contact["last_name"]}],
        "emailAddresses": [{"value": e["email"]} for e in contact.get("emails") or []],
        "phoneNumbers": [{"value": t["number"]} for t in contact.get("telephones") or []],
        "organizations": [{"name": companies[link["company"]["id"]]} for link in contact.get("companies") or []],
    }


def _in(group: str) -> dict[str, Any]:
    return {"contactGroupMembership": {"contactGroupResourceName": group}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=1000)
    add_latency_options(parser, teamleader_ms=0.0, people_ms=0.0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    options = {"rate_limit": 1_000_000, **latency_options(args)}
    companies = args.contacts // 10
    with SandboxProcess(args.contacts, companies, options=options) as sandbox:
        baseline = per_record(sandbox)
    with SandboxProcess(args.contacts, companies, options=options) as sandbox:
        measured = sandbox.sync(["run", "--account", ACCOUNT])
    sync = {
        "teamleader_calls": measured.report["teamleader_calls"],
        "google_calls": measured.report["google_calls"],
        "wall_s": measured.wall_s,
    }
    print(
        f"{args.contacts:,} contacts, {companies:,} companies; latency Teamleader "
        f"{args.teamleader_latency_ms:.0f} ms, Google {args.people_latency_ms:.0f} ms; rate limit lifted"
    )
    print(f"{'':<12} {'Teamleader':>10} {'Google':>8} {'wall s':>8}")
    for label, row in (("per record", baseline), ("the sync", sync)):
        print(f"{label:<12} {row['teamleader_calls']:>10,} {row['google_calls']:>8,} {row['wall_s']:>8.1f}")
    ratios = {name: baseline[name] / sync[name] for name in ("teamleader_calls", "google_calls", "wall_s")}
    print(
        f"{'ratio':<12} {ratios['teamleader_calls']:>9.1f}× {ratios['google_calls']:>7.1f}× {ratios['wall_s']:>7.1f}×"
    )
    write_json(args.json, {"contacts": args.contacts, "per_record": baseline, "sync": sync, "ratios": ratios})


if __name__ == "__main__":
    main()
