"""The run's sense of time: the deadline after which no new work starts, and the regular
signs of life (progress for people, lease renewal for the runner)."""

from __future__ import annotations

from collections.abc import Callable

from sync.engine.report import ConnectionReport


class OutOfTimeError(Exception):
    """The time budget is spent: stop between batches, the next run resumes."""


class Pace:
    """Checks the deadline and keeps the run's signs of life going."""

    def __init__(
        self,
        report: ConnectionReport,
        *,
        clock: Callable[[], float],
        deadline: float | None,
        progress: Callable[[ConnectionReport], None] | None,
        keep_alive: Callable[[], None] | None,
    ) -> None:
        self._report = report
        self._clock = clock
        self._deadline = deadline
        self._progress = progress
        self._keep_alive = keep_alive

    def check(self) -> None:
        """Raise OutOfTimeError once the deadline has passed."""
        if self._deadline is not None and self._clock() >= self._deadline:
            raise OutOfTimeError

    def alive(self) -> None:
        """Renew the lease if it is due (the keeper decides); raises once it is lost."""
        if self._keep_alive:
            self._keep_alive()

    def tick(self) -> None:
        """Show progress and renew the lease."""
        if self._progress:
            self._progress(self._report)
        self.alive()
