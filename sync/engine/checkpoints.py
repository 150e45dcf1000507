"""The connection's own part of the state (the Teamleader side's bookmarks) and the bookmark of
every destination, served by this run or resting, committed in one write: a company change and
the contacts it queues on each destination are stored together, so a crash cannot lose them."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from sync.engine.bookmarks import ContactsBookmark, SourceBookmarks
from sync.engine.lane import Lane
from sync.engine.options import DestinationConfig
from sync.engine.stored_companies import StoredCompanies
from sync.engine.streams import COMPANY_FLUSH, ContactsPosition
from sync.ports import Checkpoint, Source, SyncState


class SourceCheckpoints:
    """Where the connection's streams stand, and the commits that move them."""

    def __init__(
        self,
        account_id: str,
        source: Source,
        state: SyncState,
        lanes: list[Lane],
        resting: Sequence[DestinationConfig],
    ) -> None:
        self.account_id = account_id
        self.source = source
        self.state = state
        self.lanes = lanes
        # Destinations not served by this run (to reconnect, held, busy, disabled): company
        # changes are queued on their bookmarks all the same, so that none is lost to them.
        self.resting = {
            c.state_key: ContactsPosition(ContactsBookmark.from_json(state.account_state(c.state_key).cursor))
            for c in resting
        }
        stored = state.account_state(account_id)
        # Stored before connections had destinations: the bookmarks were all in `cursor`.
        self.legacy = stored.source_cursor is None
        self.bookmarks = SourceBookmarks.from_json(stored.cursor if self.legacy else stored.source_cursor or {})
        source.longest_page = max(source.longest_page, self.bookmarks.longest_page)

    def positions(self) -> Iterator[ContactsPosition]:
        """Every destination's contacts position: a company change is queued on each."""
        yield from (lane.contacts for lane in self.lanes)
        yield from self.resting.values()

    def index_companies(self, stored: StoredCompanies) -> None:
        """State stored before the stores indexed who works where: every stored company is
        written again, once, so that `companies_of` finds it (a crash on the way: done again)."""
        if self.bookmarks.companies.indexed:
            return
        stored.load_all()
        records = stored.records()
        for start in range(0, len(records), COMPANY_FLUSH):
            self.commit(Checkpoint(companies=records[start : start + COMPANY_FLUSH]))
        self.bookmarks.companies.indexed = True
        self.commit(Checkpoint())

    def commit(self, checkpoint: Checkpoint) -> None:
        """Commit the connection's part with every destination's bookmark, in one write."""
        self.bookmarks.longest_page = self.source.longest_page
        checkpoint.source_cursor = self.bookmarks.to_json()
        parts = {self.account_id: checkpoint}
        for lane in self.lanes:
            _merge(parts, lane.config.state_key, lane.bookmark_json())
        for key, position in self.resting.items():
            _merge(parts, key, Checkpoint(cursor=position.bookmark.to_json()))
        self.state.commit_all(parts)


def _merge(parts: dict[str, Checkpoint], key: str, part: Checkpoint) -> None:
    """Add a key's part to a write; a destination stored under its connection's own key (the
    default one) shares the connection's part."""
    if key in parts:
        parts[key].absorb(part)
    else:
        parts[key] = part
