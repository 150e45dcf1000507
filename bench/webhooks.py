"""From an edit in Teamleader to the change in Google, through webhooks: the sandbox delivers
each change over HTTP to the receiver (served here, as the deployed one would run, triggering
targeted runs in this process), with realistic latency on both APIs and in real time. Prints
p50 and p95 of the delay over N edits, the calls per webhook-driven change, and, with a share
of the deliveries lost, how many changes the webhooks brought and that the next hourly run
brings the rest. Usage:

    .venv/bin/python bench/webhooks.py [--edits 200] [--every-ms 500] [--lost 0.2]
        [--teamleader-latency-ms 120] [--people-latency-ms 300] [--json bench/results/webhooks.json]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import flask
from werkzeug.serving import make_server

from bench.measure import add_latency_options, write_json
from sandbox.datagen import generate
from sandbox.stack import SandboxStack
from sync.config import settings_from
from sync.mapping import CLIENT_DATA_KEY
from sync.secrets.localfile import LocalFileSecrets
from sync.serve import triggers
from sync.serve.receiver import Receiver
from sync.serve.runner import Runner
from sync.state.connections import AccountRecord
from sync.state.sqlite import SqliteState
from sync.teamleader.webhook_setup import EVENT_TYPES, new_token

ACCOUNT = "bench"
USER = "bench@sandbox.example"


def family_names(stack: SandboxStack) -> dict[str, str | None]:
    """What Google shows now as each contact's last name (the sandbox's store, read directly)."""
    shown: dict[str, str | None] = {}
    for person in stack.people.members(USER, "Teamleader"):
        for item in person.fields.get("clientData", []):
            if item["key"] == CLIENT_DATA_KEY:
                shown[item["value"]] = (person.fields.get("names") or [{}])[0].get("familyName")
    return shown


class Watcher:
    """Notes when each edit shows in Google, looking every 50 ms while the edits go on."""

    def __init__(self, stack: SandboxStack) -> None:
        self.stack = stack
        self.pending: dict[str, tuple[str, float]] = {}
        self.delays: list[float] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def edited(self, teamleader_id: str, name: str) -> None:
        with self.lock:
            self.pending[teamleader_id] = (name, time.monotonic())

    def _watch(self) -> None:
        while not self.stop.is_set():
            shown = family_names(self.stack)
            now = time.monotonic()
            with self.lock:
                for teamleader_id, (name, at) in list(self.pending.items()):
                    if shown.get(teamleader_id) == name:
                        self.delays.append(now - at)
                        del self.pending[teamleader_id]
            time.sleep(0.05)


def measure(
    edits: int, every_ms: float, lost: float, teamleader_latency_ms: float, people_latency_ms: float
) -> dict[str, Any]:
    stack = SandboxStack.start(teamleader_options={"rate_limit": 200})
    workdir = Path(tempfile.mkdtemp(prefix="sync-bench-webhooks-"))
    server = None
    try:
        data = generate(2000, 200, seed=7)
        stack.connect_account(ACCOUNT, data, workdir, google_user=USER)
        settings = settings_from(stack.sync_settings(workdir)).model_copy(update={"create_visibility_delay": 0})
        state = SqliteState(settings.sqlite_path)
        token, digest = new_token()
        state.put_account(AccountRecord(ACCOUNT, webhook_token_sha256=digest))
        runner = Runner(
            settings, state, LocalFileSecrets(settings.secrets_file), clock=stack.clock.now, sleep=time.sleep
        )
        runner.run(account=ACCOUNT)  # the first run, before anything is measured
        receiver = Receiver(state, cap=settings.webhook_hint_cap, trigger=triggers.in_process(runner))
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # its access log shows the secret
        app = flask.Flask("receiver")
        app.add_url_rule("/<path:rest>", "hook", lambda rest: receiver(flask.request), methods=["POST"])
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        stack.teamleader.webhooks.register(
            ACCOUNT, f"http://127.0.0.1:{server.server_port}/{ACCOUNT}/{token}", sorted(EVENT_TYPES)
        )
        stack.servers["teamleader"].faults.latency_ms = teamleader_latency_ms
        stack.servers["people"].faults.latency_ms = people_latency_ms
        stack.teamleader.webhooks.faults.lost = lost
        calls_before = (len(stack.servers["teamleader"].log.calls("/")), len(stack.servers["people"].log.calls("/v1/")))

        eligible = sorted(data.eligible_ids())
        edited: dict[str, str] = {}
        watcher = Watcher(stack)
        for n in range(edits):
            teamleader_id = eligible[n % len(eligible)]
            name = f"Bewerkt {n}"
            stack.teamleader.edit_contact(ACCOUNT, teamleader_id, last_name=name)
            edited[teamleader_id] = name
            watcher.edited(teamleader_id, name)
            time.sleep(every_ms / 1000)
        # Every change delivered has arrived, or a minute has passed.
        assert stack.teamleader.webhooks.idle(60)
        delivered = len({d.payload["subject"]["id"] for d in stack.teamleader.webhooks.sent})
        deadline = time.monotonic() + 60
        while len(watcher.delays) < delivered and time.monotonic() < deadline:
            time.sleep(0.1)
        watcher.stop.set()
        watcher.thread.join()
        delays = watcher.delays
        teamleader_calls = len(stack.servers["teamleader"].log.calls("/")) - calls_before[0]
        google_calls = len(stack.servers["people"].log.calls("/v1/")) - calls_before[1]
        by_webhooks = len(delays)
        # The hourly run, the safety net: every change arrives, lost deliveries' too.
        stack.clock.advance(3600)
        runner.run(scheduled=True)
        shown = family_names(stack)
        arrived = sum(1 for tid, name in edited.items() if shown.get(tid) == name)
        ordered = sorted(delays)
        return {
            "edits": len(edited),
            "every_ms": every_ms,
            "lost_share": lost,
            "deliveries_lost": len(stack.teamleader.webhooks.lost),
            "latency_ms": {"teamleader": teamleader_latency_ms, "people": people_latency_ms},
            "arrived_by_webhooks": by_webhooks,
            "p50_s": statistics.median(ordered) if ordered else None,
            "p95_s": ordered[max(0, round(0.95 * len(ordered)) - 1)] if ordered else None,
            "max_s": ordered[-1] if ordered else None,
            "teamleader_calls_per_change": teamleader_calls / max(by_webhooks, 1),
            "google_calls_per_change": google_calls / max(by_webhooks, 1),
            "arrived_after_the_hourly_run": arrived,
        }
    finally:
        if server is not None:
            server.shutdown()
        stack.stop()


def print_figures(figures: dict[str, Any]) -> None:
    latency = figures["latency_ms"]
    print(
        f"{figures['edits']} edits, one every {figures['every_ms']:.0f} ms, "
        f"{figures['lost_share']:.0%} of deliveries lost ({figures['deliveries_lost']}); "
        f"latency TL {latency['teamleader']:.0f} ms / Google {latency['people']:.0f} ms"
    )
    if figures["p50_s"] is not None:
        print(
            f"edit → Google through webhooks: p50 {figures['p50_s']:.1f} s, p95 {figures['p95_s']:.1f} s, "
            f"max {figures['max_s']:.1f} s ({figures['arrived_by_webhooks']} changes)"
        )
    print(
        f"calls per webhook-driven change: Teamleader {figures['teamleader_calls_per_change']:.2f}, "
        f"Google {figures['google_calls_per_change']:.2f}"
    )
    print(
        f"after the next hourly run: {figures['arrived_after_the_hourly_run']} of {figures['edits']} changes in Google"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--edits", type=int, default=200)
    parser.add_argument("--every-ms", type=float, default=500.0)
    parser.add_argument("--lost", type=float, default=0.2)
    add_latency_options(parser, teamleader_ms=120.0, people_ms=300.0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    figures = measure(args.edits, args.every_ms, args.lost, args.teamleader_latency_ms, args.people_latency_ms)
    print_figures(figures)
    write_json(args.json, figures)


if __name__ == "__main__":
    main()
