"""`python -m sandbox`: start the three sandbox servers with seeded data and print their URLs."""

from __future__ import annotations

import argparse
import json
import signal
import threading
from pathlib import Path

from sandbox.datagen import generate
from sandbox.stack import GOOGLE_CLIENT, TEAMLEADER_CLIENT, SandboxStack, SeededAccount


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--contacts", type=int, default=2000, help="seeded contacts (default 2000)")
    parser.add_argument("--seed", type=int, default=7, help="data generator seed")
    parser.add_argument("--account", default="demo", help="the seeded account's id")
    parser.add_argument("--teamleader-port", type=int, default=0)
    parser.add_argument("--people-port", type=int, default=0)
    parser.add_argument("--secretmanager-port", type=int, default=0)
    parser.add_argument("--propagation-delay", type=float, default=0.0, help="seconds before Google lists show writes")
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
        people_options={"propagation_delay": args.propagation_delay},
    )
    seeded = stack.seed_account(args.account, generate(args.contacts, seed=args.seed))
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
    if args.write_env:
        _write_env(Path(args.write_env), stack, seeded)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass
    stack.stop()


def _write_env(directory: Path, stack: SandboxStack, seeded: SeededAccount) -> None:
    """Settings and secrets with which `python -m sync` and main.py talk to this sandbox."""
    directory.mkdir(parents=True, exist_ok=True)
    secrets = {
        "teamleader-oauth-client": json.dumps(
            dict(zip(("client_id", "client_secret"), TEAMLEADER_CLIENT, strict=True))
        ),
        "google-oauth-client": json.dumps(dict(zip(("client_id", "client_secret"), GOOGLE_CLIENT, strict=True))),
        f"{seeded.account_id}-teamleader-tokens": json.dumps({"refresh_token": seeded.teamleader_refresh_token}),
        f"{seeded.account_id}-google-tokens": json.dumps({"refresh_token": seeded.google_refresh_token}),
    }
    secrets_path = directory / "secrets.json"
    secrets_path.touch(mode=0o600)
    secrets_path.write_text(json.dumps(secrets, indent=2))
    settings = {
        "SYNC_TEAMLEADER_API_URL": stack.url("teamleader"),
        "SYNC_TEAMLEADER_TOKEN_URL": stack.url("teamleader") + "/oauth2/access_token",
        "SYNC_TEAMLEADER_AUTHORIZE_URL": stack.url("teamleader") + "/oauth2/authorize",
        "SYNC_GOOGLE_API_URL": stack.url("people"),
        "SYNC_GOOGLE_TOKEN_URI": stack.url("people") + "/token",
        "SYNC_GOOGLE_AUTH_URI": stack.url("people") + "/o/oauth2/auth",
        "SYNC_SECRETS_FILE": str(secrets_path.resolve()),
        "SYNC_SQLITE_PATH": str((directory / "state.sqlite3").resolve()),
    }
    (directory / "sync.env").write_text("".join(f"{k}={v}\n" for k, v in settings.items()))


if __name__ == "__main__":
    main()
