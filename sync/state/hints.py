"""What webhooks said changed: ids to read again, noted per connection until a run takes them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

HintKind = Literal["contact", "company"]


@dataclass(frozen=True)
class Hints:
    """What webhooks said changed since the hints were last taken: ids to read again through
    the API (a webhook is a hint, never data). `overflow`: more came than the cap allows, so
    an ordinary incremental run reads everything changed instead."""

    contacts: frozenset[str] = frozenset()
    companies: frozenset[str] = frozenset()
    overflow: bool = False

    def __len__(self) -> int:
        return len(self.contacts) + len(self.companies)
