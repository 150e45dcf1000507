"""A run's progress on a terminal: what the run does, what it has done, and while it waits,
why and for how long, counting down."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from rich.console import Console, RenderableType
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from sync.progress import Step, Wait, time_left


class ProgressLine(Progress):
    """Three lines that rich's refresh thread redraws while the run goes on (or waits): the
    phase with a clock, the counts, and the wait or the time left when it is known."""

    def __init__(self, label: str, console: Console, *, clock: Callable[[], float] = time.monotonic) -> None:
        # Set first: rich draws the display once while it is made.
        self._label = label
        self._clock = clock
        self._done = ""
        # Each read whole by the refresh thread: a wait and when it ends, when the run ends.
        self._waiting: tuple[Wait, float] | None = None
        self._ends: float | None = None
        super().__init__(
            TextColumn("[bold]{task.description}"),
            BarColumn(bar_width=None, pulse_style="cyan"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self._task = self.add_task(label, total=None)

    def step(self, step: Step) -> None:
        """Show where the run stands."""
        self._done = step.done()
        self._ends = None if step.seconds_left is None else self._clock() + step.seconds_left
        self.update(self._task, description=f"{self._label}: {step.doing()}")

    def waiting(self, wait: Wait) -> None:
        """Show why the run waits, counting down until it goes on."""
        self._waiting = (wait, self._clock() + wait.seconds)

    def notice(self) -> str:
        """Why the run waits and for how long; else the time it still takes, when known."""
        now = self._clock()
        if self._waiting is not None and (waited := self._waiting)[1] > now:
            return waited[0].sentence(waited[1] - now)
        if (ends := self._ends) is not None and ends > now:
            return time_left(ends - now)
        return ""

    def get_renderables(self) -> Iterable[RenderableType]:
        yield self.make_tasks_table(self.tasks)
        yield Text(self._done)
        yield Text(self.notice(), style="yellow")
