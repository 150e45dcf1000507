"""A dry run: the same engine against a destination that records instead of writing and a
state store that is read but never written, so a plan is exactly what a run would do."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sync.engine.state_view import StateView
from sync.ports import BatchLimits, Checkpoint, Destination, Intent, PersonRef, WriteOutcome

PLANNED = "dry-run/"


class RecordingDestination:
    """Reads from the real destination; answers writes as if Google had made them."""

    def __init__(self, real: Destination) -> None:
        self._real = real
        self.limits: BatchLimits = real.limits

    @property
    def calls(self) -> int:
        return self._real.calls

    @property
    def writes(self) -> int:
        return 0

    def find_group(self, name: str) -> str | None:
        return self._real.find_group(name)

    def group_exists(self, resource_name: str) -> bool:
        return self._real.group_exists(resource_name)

    def create_group(self, name: str) -> str:
        return self._real.find_group(name) or PLANNED + name

    def add_members(self, group: str, resource_names: list[str]) -> list[str]:
        return []  # as if every person were still there

    def create(self, items: list[tuple[str, dict[str, Any]]], group: str) -> WriteOutcome:
        return WriteOutcome(done={tid: PersonRef(PLANNED + tid, "") for tid, _ in items})

    def update(self, items: list[tuple[str, PersonRef, dict[str, Any]]]) -> WriteOutcome:
        return WriteOutcome(done={tid: ref for tid, ref, _ in items})

    def delete(self, resource_names: list[str]) -> dict[str, str]:
        return {}  # nothing is deleted, nothing refused

    def get(self, resource_names: list[str]) -> dict[str, PersonRef]:
        return self._real.get(resource_names)

    def stamped(self, group: str) -> Iterator[tuple[str, PersonRef]]:
        return self._real.stamped(group)


class ReadOnlyState(StateView):
    """Answers every read from the real store; every write is dropped."""

    def record_intent(self, account: str, intent: Intent) -> None:
        """Dropped."""

    def commit(self, account: str, checkpoint: Checkpoint) -> None:
        """Dropped."""

    def commit_all(self, checkpoints: dict[str, Checkpoint]) -> None:
        """Dropped."""

    def save_report(self, account: str, report: dict[str, Any]) -> None:
        """Dropped."""
