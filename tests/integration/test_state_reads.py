"""What a run reads and writes of its Firestore state, counted on the wire as Firestore bills it
(`sandbox.meter`): a run reads the state it needs, not all of it. An unchanged run and a
webhook's targeted run read the same whatever the number of companies; a full run reads the
companies' shards and the id map's, the same whatever the number of companies and contacts, and
writes none that did not change; so does the page's card view. Counts, never times."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from google.cloud import firestore

from sandbox.datagen import Dataset, generate
from sandbox.meter import Counts, Meter
from sandbox.stack import SandboxStack
from sync.ports import Mode
from sync.serve.page import PageContext
from sync.serve.page.status import status_of
from sync.serve.runner import Runner
from sync.state.firestore import FirestoreState
from tests.conftest import EMULATOR_PROJECT
from tests.harness import Harness

CONTACTS = 300
# The id map's shards here: fewer than the contacts of any connection below, so that every
# shard holds entries and a count that grew with the contacts would show.
SHARDS = 8
# The companies' shards here: fewer than the companies of any connection below, so that a full
# run reading each company (40 of them) instead of each shard would show.
COMPANY_SHARDS = 8
# The goal for a run that finds nothing changed.
UNCHANGED_READS = 20


# The root collection of these tests' state (their leases are in ROOT-leases): their own.
ROOT = f"accounts-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def metered(firestore_emulator: str) -> Iterator[tuple[Meter, FirestoreState]]:
    """A Firestore state store whose every billed operation is counted."""
    meter = Meter()
    client = meter.install(firestore.Client(project=EMULATOR_PROJECT))
    yield meter, FirestoreState(client, root=ROOT, id_map_shards=SHARDS, company_shards=COMPANY_SHARDS)
    client.close()


def one_company_contact(data: Dataset) -> str:
    """An eligible contact who works for exactly one company: its webhook's run reads the same
    whatever the connection's other companies."""
    eligible = data.eligible_ids()
    return next(str(c["id"]) for c in data.contacts if str(c["id"]) in eligible and len(c.get("companies") or []) == 1)


class Connection:
    """One seeded connection served as `python -m sync run` serves it, its state metered."""

    def __init__(
        self,
        stack: SandboxStack,
        meter: Meter,
        state: FirestoreState,
        tmp: Path,
        account: str,
        companies: int,
        contacts: int = CONTACTS,
    ) -> None:
        self.data = generate(contacts, companies, seed=61)
        self.harness = Harness.create(stack, state, self.data, tmp, account)
        settings = self.harness.settings.model_copy(update={"create_visibility_delay": 0})
        self.runner = Runner(settings, state, self.harness.secrets, clock=stack.clock.now, sleep=stack.clock.advance)
        self.account, self.meter, self.state, self.stack = account, meter, state, stack

    def run(self, mode: Mode = "incremental", targeted: bool = False) -> Counts:
        """One run (after an hour, as the scheduler fires them): its state operations."""
        self.stack.clock.advance(3600)
        before = self.meter.counts
        by_collection = dict(self.meter.by_collection)
        assert self.runner.run(account=self.account, mode=mode, targeted=targeted).status == "ok"
        # Operations of this run by collection ("entries reads"), the root named "accounts".
        self.touched = {
            k.replace(ROOT, "accounts"): v - by_collection.get(k, 0) for k, v in self.meter.by_collection.items()
        }
        return self.meter.counts - before

    def webhook(self, contact_id: str) -> Counts:
        """A webhook names one contact (edited in Teamleader): the targeted run it starts."""
        self.stack.teamleader.edit_contact(self.account, contact_id, last_name="Via Webhook")
        self.state.add_hint(self.account, "contact", contact_id, cap=100)
        return self.run(targeted=True)


def test_unchanged_and_targeted_runs_read_the_same_whatever_the_companies(
    stack: SandboxStack, metered: tuple[Meter, FirestoreState], tmp_path: Path
) -> None:
    meter, state = metered
    few = Connection(stack, meter, state, tmp_path, "few", 10)
    many = Connection(stack, meter, state, tmp_path, "many", 100)
    counts: dict[str, dict[str, Counts]] = {}
    for connection in (few, many):
        connection.run()
        unchanged = connection.run()
        # Nothing but the run's report, the connection's record (its last run) and the leases.
        written = {k: v for k, v in connection.touched.items() if k.endswith("writes") and v}
        assert written == {"runs writes": 1, "accounts writes": 1, "accounts-leases writes": 4}, written
        # Each lease (the connection's, its Google user's) read once to take it, not to give it back.
        assert connection.touched["accounts-leases reads"] == 2
        assert not connection.touched.get("company_shards reads"), "no company read when none changed"
        targeted = connection.webhook(one_company_contact(connection.data))
        assert connection.touched.get("company_shards reads") == 1, "the shard of its contact's one company"
        assert connection.touched.get("idmap reads") == 1, "the one shard its contact's entry is in"
        assert not connection.touched.get("accounts writes"), "its record is as the run before left it"
        counts[connection.account] = {"unchanged": unchanged, "targeted": targeted}
    assert counts["few"]["unchanged"].reads == counts["many"]["unchanged"].reads <= UNCHANGED_READS
    assert counts["few"]["targeted"].reads == counts["many"]["targeted"].reads


def test_a_full_run_and_the_card_view_read_the_same_whatever_the_contacts(
    stack: SandboxStack, metered: tuple[Meter, FirestoreState], tmp_path: Path
) -> None:
    meter, state = metered
    counts: dict[str, tuple[Counts, Counts]] = {}
    for account, contacts in (("small", CONTACTS), ("large", 2 * CONTACTS)):
        connection = Connection(stack, meter, state, tmp_path, account, 40, contacts)
        connection.run()
        assert connection.touched["idmap reads"] <= SHARDS, "a first run reads the id map once, not per page"
        connection.run()
        full = connection.run(mode="full")
        assert connection.touched["company_shards reads"] == COMPANY_SHARDS, "each shard once, not each company"
        assert connection.touched["idmap reads"] == SHARDS
        assert not connection.touched.get("company_shards writes") and not connection.touched.get("idmap writes")
        harness = connection.harness
        page = PageContext(harness.settings, state, harness.secrets, start_run=lambda *_: None)
        record = state.account(account)
        assert record is not None
        before = meter.counts
        status = status_of(page, record, record.targets[0], "")
        assert status.in_google > 0 and status.skipped
        counts[account] = (full, meter.counts - before)
    assert counts["small"][0].reads == counts["large"][0].reads
    assert counts["small"][1].reads == counts["large"][1].reads <= SHARDS + UNCHANGED_READS
