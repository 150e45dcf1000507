"""A warm instance keeps the Teamleader tokens it read while their access token is valid
(`sync.teamleader.tokens`): a run saves the token secret's read (a billed access), and a kept
refresh token is never used: before refreshing, the client reads the stored tokens, which another
instance or the page may have rotated meanwhile (Teamleader refuses a refresh token used twice)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from sandbox.datagen import generate
from sandbox.stack import SandboxStack
from sync.secrets.localfile import LocalFileSecrets
from sync.serve.wiring import http_client, teamleader_client
from sync.state.port import StateStore
from tests.harness import Harness


class CountedSecrets(LocalFileSecrets):
    """The local secrets file, counting the reads of each name."""

    def __init__(self, path: str | Path) -> None:
        super().__init__(path)
        self.reads: Counter[str] = Counter()

    def read(self, name: str) -> str:
        self.reads[name] += 1
        return super().read(name)


def test_a_warm_instance_reuses_its_token_and_refreshes_only_from_the_stored_one(
    stack: SandboxStack, sqlite_state: StateStore, tmp_path: Path
) -> None:
    harness = Harness.create(stack, sqlite_state, generate(5, 0, seed=3), tmp_path)
    settings, name = harness.settings, harness.account.teamleader_secret
    store = CountedSecrets(settings.secrets_file)
    with http_client(settings) as http:
        first = teamleader_client(settings, store, name, http, clock=stack.clock.now)
        assert len(first.list_contacts()) == 5
        read = store.reads[name]
        again = teamleader_client(settings, store, name, http, clock=stack.clock.now)
        assert len(again.list_contacts()) == 5
        assert store.reads[name] == read, "the kept token, valid for the hour: no read of the secret"
        # Another instance (its own store), an hour on, rotates the tokens and stores them.
        later = lambda: stack.clock.now() + 3600  # noqa: E731
        other = teamleader_client(settings, LocalFileSecrets(settings.secrets_file), name, http, clock=later)
        assert len(other.list_contacts()) == 5
        kept = teamleader_client(settings, store, name, http, clock=stack.clock.now)
        # The kept access token runs out during the run: the refresh starts from the stored tokens.
        stack.clock.advance(3600)
        assert len(kept.list_contacts()) == 5
        assert store.reads[name] == read + 1
        assert len(teamleader_client(settings, harness.secrets, name, http, clock=stack.clock.now).list_contacts()) == 5
