"""A run's progress in the JSON log at INFO: for a run nobody watches (the Cloud Function, the
command line writing to a file or a pipe)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from sync.progress import Step, Wait, time_left

log = logging.getLogger("sync.progress")
# At most a line this often: a first run of 25,000 contacts (15 minutes) logs some 200 lines,
# not one per call.
INTERVAL = 5.0


class LogProgress:
    """Logs where the run stands at most every `interval` seconds; a wait at least that long
    is logged when it begins, with its cause, unless the line before was a wait: a run that
    spends minutes waiting for Teamleader's limit says so while it waits, in at most two
    lines an interval."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, interval: float = INTERVAL) -> None:
        self._clock = clock
        self._interval = interval
        # Steps and waits come from every thread of a run (one per Google user).
        self._lock = threading.Lock()
        self._last: float | None = None
        self._last_waited = False
        self._step: Step | None = None

    def step(self, step: Step) -> None:
        """Log where the run stands, if the last line is old enough."""
        with self._lock:
            self._step = step
        self._log(None)

    def waiting(self, wait: Wait) -> None:
        """Log a wait with where the run stands."""
        self._log(wait)

    def _log(self, wait: Wait | None) -> None:
        with self._lock:
            now = self._clock()
            due = self._last is None or now - self._last >= self._interval
            news = wait is not None and wait.seconds >= self._interval and not self._last_waited
            if not (due or news):
                return
            self._last, self._last_waited, step = now, wait is not None, self._step
        said: list[str] = []
        facts: dict[str, object] = {}
        if step is not None:
            said += [step.doing(), step.done()]
            facts.update(step.facts())
            if step.seconds_left is not None:
                said.append(time_left(step.seconds_left))
        if wait is not None:
            said.append(wait.sentence())
            facts["waiting"] = {"cause": wait.cause, "seconds": round(wait.seconds, 1)}
        log.info("; ".join(said), extra={"progress": facts})
