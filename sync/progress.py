"""What a run tells about itself while it goes (the progress port). The engine says which phase
it is in and what it has done (`Step`); the API clients say when they wait, why and for how
long (`Wait`); a sink shows both: a live line on a terminal, a JSON log line in the cloud.
Only counts, phases, causes and seconds: never a person's name, address or number."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

Phase = Literal["preparing", "companies", "contacts", "deletions", "writing"]
WaitCause = Literal[
    "teamleader_limit", "teamleader_refused", "teamleader_unavailable", "google_throttled", "google_unavailable"
]

PHASES: dict[Phase, str] = {
    "preparing": "preparing the Google group",
    "companies": "reading companies",
    "contacts": "reading contacts",
    "deletions": "looking for deletions",
    "writing": "writing to Google",
}
# What a wait is for, in the words a person reads; {limit} is the calls a minute the sync keeps
# to, {left} the time until it goes on.
WAITS: dict[WaitCause, str] = {
    "teamleader_limit": "waiting for Teamleader's limit ({limit} calls a minute), resuming in {left}",
    "teamleader_refused": "Teamleader asked to slow down, retrying in {left}",
    "teamleader_unavailable": "Teamleader did not answer, retrying in {left}",
    "google_throttled": "Google asked to slow down, retrying in {left}",
    "google_unavailable": "Google did not answer, retrying in {left}",
}
# A step's counts over all Google users, in the order a person reads them.
COUNTS = ("created", "updated", "deleted", "unchanged", "skipped", "failed")


def duration(seconds: float) -> str:
    """Whole seconds, rounded up (a wait of 0.2 s is not over in 0 s): `12 s`, `2 min 5 s`."""
    whole = max(1, math.ceil(seconds))
    minutes, rest = divmod(whole, 60)
    if not minutes:
        return f"{rest} s"
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"


def time_left(seconds: float) -> str:
    """An estimate of the time a run still takes, as a person reads it."""
    return f"about {duration(seconds)} left"


@dataclass(frozen=True)
class Count:
    """How many were done, of how many when that is known (Teamleader's listings do not say)."""

    done: int
    total: int | None = None

    def __str__(self) -> str:
        return f"{self.done:,}" if self.total is None else f"{self.done:,} of {self.total:,}"


@dataclass(frozen=True)
class Step:
    """Where a run stands."""

    phase: Phase
    companies: int = 0
    contacts: Count = Count(0)
    # Batches written to Google, per Google user (by destination name, never the address).
    batches: Mapping[str, int] = field(default_factory=dict)
    counts: Mapping[str, int] = field(default_factory=dict)
    # The least time the Teamleader calls still to make take at the limit, when they are known.
    seconds_left: float | None = None

    def doing(self) -> str:
        """The phase, in words."""
        users = len(self.batches)
        return PHASES[self.phase] + (f" for {users} users" if self.phase == "writing" and users > 1 else "")

    def done(self) -> str:
        """What the run has done so far, in one line."""
        written = sum(self.batches.values())
        counts = " · ".join(f"{name} {self.counts.get(name, 0):,}" for name in COUNTS)
        return f"companies {self.companies:,} · contacts {self.contacts} · {written:,} batches written · {counts}"

    def facts(self) -> dict[str, object]:
        """The step as plain data, for a log line."""
        return {
            "phase": self.phase,
            "companies_read": self.companies,
            "contacts_read": self.contacts.done,
            "contacts_total": self.contacts.total,
            "batches_written": dict(self.batches),
            "counts": dict(self.counts),
            "seconds_left": self.seconds_left,
        }


@dataclass(frozen=True)
class Wait:
    """The run waits for `cause` before its next call, and goes on at full pace in `seconds`
    (later than the next call while Teamleader's last calls of a minute are spread until its
    reset); `limit` is the calls a minute the sync keeps to (Teamleader's waits)."""

    cause: WaitCause
    seconds: float
    limit: int = 0

    def sentence(self, left: float | None = None) -> str:
        """Why the run waits and when it goes on (`left`: seconds still to wait, if not all)."""
        return WAITS[self.cause].format(limit=self.limit, left=duration(self.seconds if left is None else left))


class ProgressSink(Protocol):
    """Where a run's progress goes. Called from the run's threads (one per Google user)."""

    def step(self, step: Step) -> None:
        """The run moved on."""
        ...

    def waiting(self, wait: Wait) -> None:
        """The run is about to wait."""
        ...


Announce = Callable[[Wait], None]


def unheard(wait: Wait) -> None:
    """Announce a wait to nobody (a client built outside a run)."""
