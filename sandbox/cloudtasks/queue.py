"""One queue's rules as Cloud Tasks documents them, on a clock given at each call (so the
HTTP stand-in and the dispatch benchmark share them): a task's name is refused while a task of
that name waits, and for an hour after it ran or was dropped; dispatches keep to a token bucket
(`max_dispatches_per_second`, `max_burst_size`) and to `max_concurrent_dispatches`; a failed
attempt (any answer but 2xx) is tried again after a back-off that doubles `max_doublings`
times from `min_backoff`, then grows linearly, up to `max_backoff`, until `max_attempts`."""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class QueueConfig:
    """A queue's rate limits and retry config (Cloud Tasks' defaults unless set)."""

    max_dispatches_per_second: float = 500.0
    max_burst_size: int = 100
    max_concurrent_dispatches: int = 1000
    # -1: unlimited.
    max_attempts: int = 100
    min_backoff: float = 0.1
    max_backoff: float = 3600.0
    max_doublings: int = 16
    # Queues made through Cloud Tasks: an hour (9 days for queue.yaml queues).
    dedup_seconds: float = 3600.0

    def backoff(self, failures: int) -> float:
        """Seconds before the attempt after `failures` failed ones."""
        doublings = min(failures - 1, self.max_doublings)
        linear = max(0, failures - 1 - self.max_doublings)
        step = self.min_backoff * 2**self.max_doublings
        return float(min(self.max_backoff, self.min_backoff * 2**doublings + linear * step))


@dataclass
class QueuedTask:
    """A task the queue holds: what to send, when, and how often it was tried."""

    name: str
    payload: Any
    due: float
    attempts: int = 0
    running: int = 0
    statuses: list[int] = field(default_factory=list)


class TaskQueueCore:
    """The queue's state; not thread-safe (the HTTP stand-in holds a lock around it)."""

    def __init__(self, config: QueueConfig, now: float) -> None:
        self.config = config
        self.tasks: dict[str, QueuedTask] = {}
        # Names of tasks that ran or were dropped, with when they may be used again.
        self.tombstones: dict[str, float] = {}
        self._waiting: list[tuple[float, int, str]] = []
        self._order = itertools.count()
        self._tokens = float(config.max_burst_size)
        self._filled = now
        self.running = 0
        self.created = 0
        self.refused = 0
        self.dispatches = 0

    def create(self, name: str, payload: Any, now: float, delay: float = 0.0) -> bool:
        """Add the task; False (ALREADY_EXISTS) when its name is taken."""
        if name in self.tasks or self.tombstones.get(name, 0.0) > now:
            self.refused += 1
            return False
        self.tombstones.pop(name, None)
        task = QueuedTask(name, payload, now + delay)
        self.tasks[name] = task
        heapq.heappush(self._waiting, (task.due, next(self._order), name))
        self.created += 1
        return True

    def take(self, now: float) -> list[QueuedTask]:
        """The tasks to dispatch now: due, within the concurrency limit and the token bucket."""
        rate, burst = self.config.max_dispatches_per_second, self.config.max_burst_size
        self._tokens = min(float(burst), self._tokens + (now - self._filled) * rate)
        self._filled = now
        taken = []
        while self._waiting and self._waiting[0][0] <= now:
            if self.running >= self.config.max_concurrent_dispatches or self._tokens < 1:
                break
            _, _, name = heapq.heappop(self._waiting)
            task = self.tasks.get(name)
            if task is None:
                continue  # dropped while it waited
            task.attempts += 1
            task.running += 1
            self.running += 1
            self._tokens -= 1
            self.dispatches += 1
            taken.append(task)
        return taken

    def next_due(self, now: float) -> float | None:
        """When `take` may next answer something: the first waiting task's time, or when the
        bucket has a token again; None when nothing waits."""
        if not self._waiting:
            return None
        refill = (1 - self._tokens) / self.config.max_dispatches_per_second if self._tokens < 1 else 0.0
        return max(self._waiting[0][0], now + refill)

    def finish(self, task: QueuedTask, status: int, now: float) -> None:
        """An attempt's answer: 2xx ends the task; anything else schedules the next attempt
        after the back-off, or drops the task after its last."""
        task.running -= 1
        self.running -= 1
        task.statuses.append(status)
        if task.name not in self.tasks:
            return  # a second delivery of a task already ended
        if 200 <= status < 300 or 0 <= self.config.max_attempts <= task.attempts:
            del self.tasks[task.name]
            self.tombstones[task.name] = now + self.config.dedup_seconds
            return
        task.due = now + self.config.backoff(task.attempts)
        heapq.heappush(self._waiting, (task.due, next(self._order), task.name))

    def drop(self, name: str, now: float) -> None:
        """Forget a waiting task as if it ran: its name stays taken for the window."""
        if self.tasks.pop(name, None) is not None:
            self.tombstones[name] = now + self.config.dedup_seconds

    def waiting(self) -> int:
        """Tasks created and not yet ended (waiting or running)."""
        return len(self.tasks)
