"""Reading ahead: the next chunks of a listing are fetched in a thread of their own while the
destinations decide and write the current one, so that Teamleader's latency (or its rate
limit) and Google's writes overlap instead of adding up."""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Generator, Iterable
from itertools import islice
from typing import TypeVar

T = TypeVar("T")
# How often a blocked producer looks whether the consumer has stopped.
POLL_SECONDS = 0.1


class _End:
    """The listing has ended."""


def read_ahead(items: Iterable[T], size: int, depth: int = 2) -> Generator[list[T], None, None]:
    """`items` in chunks of `size`, in order, with up to `depth` chunks read ahead. An error
    while reading is raised where its chunk would have come; a consumer that stops early
    stops the reader (which finishes the read in flight) before this returns."""
    chunks: queue.Queue[list[T] | BaseException | _End] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def hand_over(item: list[T] | BaseException | _End) -> None:
        while not stop.is_set():
            try:
                chunks.put(item, timeout=POLL_SECONDS)
                return
            except queue.Full:
                continue

    def produce() -> None:
        try:
            iterator = iter(items)
            while not stop.is_set() and (chunk := list(islice(iterator, size))):
                hand_over(chunk)
            hand_over(_End())
        except BaseException as exc:  # handed to the consumer, which raises it
            hand_over(exc)

    # The reader logs with the run's context (account, run id), as the consumer does.
    reader = threading.Thread(target=contextvars.copy_context().run, args=(produce,), daemon=True)
    reader.start()
    try:
        while True:
            item = chunks.get()
            if isinstance(item, _End):
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        reader.join()
