"""`python -m sandbox`: start the three sandbox servers with seeded data and print their URLs;
`python -m sandbox demo [--realistic]`: the same, then sync a seeded account twice (what `make demo` and
`make demo-realistic` run); `python -m sandbox page`: the people's page and the consent pages, to click
through in a browser."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sandbox.datagen import generate
from sandbox.demo import FAST, REALISTIC, demo
from sandbox.people_page import serve_people_page
from sandbox.stack import GOOGLE_CLIENT, TEAMLEADER_CLIENT, SandboxStack


def main() -> int:
    if sys.argv[1:2] == ["demo"]:
        parser = argparse.ArgumentParser(prog="python -m sandbox demo", description=demo.__doc__)
        parser.add_argument("--contacts", type=int, default=3000, help="seeded contacts (default 3000)")
        parser.add_argument("--seed", type=int, default=7, help="data generator seed")
        parser.add_argument(
            "--realistic",
            action="store_true",
            help="Teamleader's 200 calls a minute and both APIs' latency: a first run as it really goes",
        )
        args = parser.parse_args(sys.argv[2:])
        return demo(args.contacts, args.seed, REALISTIC if args.realistic else FAST)
    if sys.argv[1:2] == ["page"]:
        parser = argparse.ArgumentParser(prog="python -m sandbox page", description=serve_people_page.__doc__)
        parser.add_argument("--contacts", type=int, default=200, help="contacts seeded in account acme (default 200)")
        parser.add_argument("--teamleader-port", type=int, default=0)
        parser.add_argument("--people-port", type=int, default=0)
        parser.add_argument("--port", type=int, default=8080, help="the people's page's port (default 8080)")
        args = parser.parse_args(sys.argv[2:])
        serve_people_page(args.contacts, {"teamleader": args.teamleader_port, "people": args.people_port}, args.port)
        return 0
    serve()
    return 0


def serve() -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--contacts", type=int, default=2000, help="seeded contacts (default 2000)")
    parser.add_argument("--companies", type=int, default=None, help="seeded companies (default: one per ten contacts)")
    parser.add_argument("--bulk-import", type=int, default=0, help="seeded contacts sharing one updated_at")
    parser.add_argument("--seed", type=int, default=7, help="data generator seed")
    parser.add_argument("--account", default="demo", help="the seeded account's id")
    parser.add_argument("--rate-limit", type=int, default=200, help="Teamleader calls per sliding minute (default 200)")
    parser.add_argument("--teamleader-latency-ms", type=float, default=0.0, help="added to every Teamleader request")
    parser.add_argument("--people-latency-ms", type=float, default=0.0, help="added to every People API request")
    parser.add_argument("--teamleader-port", type=int, default=0)
    parser.add_argument("--people-port", type=int, default=0)
    parser.add_argument("--secretmanager-port", type=int, default=0)
    parser.add_argument("--propagation-delay", type=float, default=0.0, help="seconds before Google lists show writes")
    parser.add_argument(
        "--write-quota-per-minute", type=int, default=600, help="People API writes a user may send a minute"
    )
    parser.add_argument(
        "--write-env",
        metavar="DIR",
        help="write DIR/sync.env (SYNC_* settings) and DIR/secrets.json (client ids, the account's tokens)",
    )
    args = parser.parse_args()

    stack = SandboxStack.start(
        ports={
            "teamleader": args.teamleader_port,
            "people": args.people_port,
            "secretmanager": args.secretmanager_port,
        },
        teamleader_options={"rate_limit": args.rate_limit},
        people_options={
            "propagation_delay": args.propagation_delay,
            "write_quota_per_minute": args.write_quota_per_minute,
        },
    )
    stack.servers["teamleader"].faults.latency_ms = args.teamleader_latency_ms
    stack.servers["people"].faults.latency_ms = args.people_latency_ms
    data = generate(args.contacts, args.companies, seed=args.seed, bulk_import=args.bulk_import)
    if args.write_env:
        directory = Path(args.write_env)
        seeded = stack.connect_account(args.account, data, directory)
        settings = stack.sync_settings(directory)
        (directory / "sync.env").write_text("".join(f"{k}={v}\n" for k, v in settings.items()))
    else:
        seeded = stack.seed_account(args.account, data)
    print(
        json.dumps(
            {
                "teamleader_url": stack.url("teamleader"),
                "people_url": stack.url("people"),
                "secretmanager_url": stack.url("secretmanager"),
                "teamleader_client": TEAMLEADER_CLIENT[0],
                "google_client": GOOGLE_CLIENT[0],
                "account": seeded.account_id,
                "google_user": seeded.google_user,
                "teamleader_refresh_token": seeded.teamleader_refresh_token,
                "google_refresh_token": seeded.google_refresh_token,
            },
            indent=2,
        ),
        flush=True,
    )
    stack.serve_until_stopped()


if __name__ == "__main__":
    sys.exit(main())
