"""What the serving layer sees of a task queue: create a named task, once."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

# Cloud Tasks' task ids: letters, digits, hyphens and underscores, at most 500 characters.
TASK_ID = re.compile(r"^[A-Za-z0-9_-]{1,500}$")


class QueueError(RuntimeError):
    """The queue refused a task, or could not be reached after the retries."""


@dataclass(frozen=True)
class Task:
    """One run to dispatch: its name within the queue (the de-duplication key) and the JSON
    object body the sync function receives."""

    name: str
    body: dict[str, str]

    def __post_init__(self) -> None:
        if not TASK_ID.match(self.name):
            raise ValueError("a task name is 1 to 500 letters, digits, hyphens or underscores")


class TaskQueue(Protocol):
    """A queue that dispatches each task to the sync function, at least once."""

    def enqueue(self, task: Task) -> bool:
        """Create the task: True when created, False when its name was taken (a task of that
        name is waiting, or ran or was deleted within the queue's de-duplication window): it
        is enqueued either way. QueueError when it could not be created."""
        ...
