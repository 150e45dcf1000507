"""The run's sense of time: the deadline after which no new work starts, and the regular
signs of life (progress for people, lease renewal for the runner)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from sync.engine.report import ConnectionReport
from sync.progress import COUNTS, Count, Phase, ProgressSink, Step


class OutOfTimeError(Exception):
    """The time budget is spent: stop between batches, the next run resumes."""


class Pace:
    """Checks the deadline and keeps the run's signs of life going. The engine sets where the
    run stands (`phase`, `contacts`, `seconds_left`); `show` tells the sink, with the counts
    of the report and the batches each Google user has written (`batches`)."""

    def __init__(
        self,
        report: ConnectionReport,
        *,
        clock: Callable[[], float],
        deadline: float | None,
        progress: ProgressSink | None,
        keep_alive: Callable[[], None] | None,
        batches: Callable[[], Mapping[str, int]],
    ) -> None:
        self._report = report
        self._clock = clock
        self._deadline = deadline
        self._progress = progress
        self._keep_alive = keep_alive
        self._batches = batches
        self.phase: Phase = "preparing"
        self.contacts = Count(0)
        self.seconds_left: float | None = None

    def check(self) -> None:
        """Raise OutOfTimeError once the deadline has passed."""
        if self._deadline is not None and self._clock() >= self._deadline:
            raise OutOfTimeError

    def alive(self) -> None:
        """Renew the lease if it is due (the keeper decides); raises once it is lost."""
        if self._keep_alive:
            self._keep_alive()

    def show(self) -> None:
        """Tell the sink where the run stands (from any of the run's threads)."""
        if self._progress:
            reports = self._report.destinations
            counts = {name: sum(getattr(r, name) for r in reports) for name in COUNTS}
            step = Step(
                self.phase, self._report.companies_read, self.contacts, self._batches(), counts, self.seconds_left
            )
            self._progress.step(step)

    def enter(self, phase: Phase, *, more: int | None = None, seconds_left: float | None = None) -> None:
        """The run moves on to `phase`; `more`: the contacts it is to read, when known."""
        done = self.contacts.done
        self.phase, self.seconds_left = phase, seconds_left
        self.contacts = Count(done, None if more is None else done + more)
        self.show()

    def handed(self, contacts: int) -> None:
        """Contacts were read and handed to the lanes: show progress and renew the lease."""
        self.contacts = Count(self.contacts.done + contacts, self.contacts.total)
        self.tick()

    def tick(self) -> None:
        """Show progress and renew the lease."""
        self.show()
        self.alive()
