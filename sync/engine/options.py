"""What a run is told: the destinations it serves and how it behaves."""

from __future__ import annotations

from dataclasses import dataclass, field

from sync.ports import Hints, Mode


@dataclass(frozen=True)
class DestinationConfig:
    """What the engine needs to know of one destination (a Google user of a connection)."""

    name: str
    # Where its id map, intents, group and contacts bookmark are stored.
    state_key: str
    group_name: str = "Teamleader"
    required_tags: frozenset[str] = frozenset()
    default_region: str | None = None


@dataclass(frozen=True)
class EngineOptions:
    """How a run behaves; defaults are the product's."""

    mode: Mode = "incremental"  # or "full": also mirror deletions and repair Google-side losses
    dry_run: bool = False
    deadline: float | None = None  # epoch seconds; no new batch starts after it
    # How long Google's lists may lag a create: an unanswered create not listed after this
    # long did not happen and is sent again; before that it stays uncertain.
    create_visibility_delay: float = 1800.0
    # The share of the account's persons in Google one run may delete before it stops and
    # waits for a person (a scope that suddenly matches nothing); None: no limit.
    max_deletion_share: float | None = 0.5
    # Destinations written at the same time: each is its own Google user with its own quota.
    parallel_destinations: int = 20
    # What webhooks said changed: read again by id, whatever the listings show.
    hints: Hints = field(default_factory=Hints)
    # Only the hints: no listing (a webhook's change reaches Google in seconds; the ordinary
    # runs remain the safety net).
    targeted: bool = False
