"""Reading ahead: order, errors where they happened, and a reader that stops with its consumer."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from itertools import count

import pytest

from sync.engine.readahead import read_ahead


def test_chunks_come_in_order_whole() -> None:
    assert list(read_ahead(range(10), 4)) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert list(read_ahead([], 4)) == []


def test_an_error_is_raised_after_the_chunks_read_before_it() -> None:
    def failing() -> Iterator[int]:
        yield from range(5)
        raise RuntimeError("Teamleader is down")

    chunks = read_ahead(failing(), 2)
    assert next(chunks) == [0, 1] and next(chunks) == [2, 3]
    with pytest.raises(RuntimeError, match="down"):
        next(chunks)


def test_a_consumer_that_stops_stops_the_reader() -> None:
    read: list[int] = []

    def endless() -> Iterator[int]:
        for n in count():
            read.append(n)
            yield n

    chunks = read_ahead(endless(), 10, depth=2)
    assert next(chunks) == list(range(10))
    closing = threading.Thread(target=chunks.close, daemon=True)
    closing.start()
    closing.join(5)
    assert not closing.is_alive(), "the reader did not stop"
    # The chunk taken, at most two waiting, and the one being read when told to stop.
    assert len(read) <= 10 * 4 + 1
