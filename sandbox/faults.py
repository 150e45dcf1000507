"""What a sandbox server can be told to do wrong (faults, a held request) and the log of what
it saw: the parts of the server that tests set and read."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field, fields
from typing import Any


@dataclass
class Faults:
    """Faults applied by every sandbox server; change them while it runs."""

    latency_ms: float = 0.0
    # Latency that costs no real time: the sandbox's clock moves forward by it instead (for
    # benchmarks that run hours of rate-limited calls in minutes).
    virtual_latency: bool = False
    # Share of requests answered 5xx / 429 before they reach the app (nothing applied).
    error_rate: float = 0.0
    throttle_rate: float = 0.0
    # The next N requests are answered 429 before they reach the app.
    throttle_next: int = 0
    # Writes applied by the app whose connection is then dropped without an answer.
    drop_after_write_next: int = 0
    drop_after_write_rate: float = 0.0
    # An outage of one endpoint: the next `outage_next` requests whose path starts with
    # `outage_path` are answered `outage_status` (503, or 429 for a throttled endpoint) before
    # they reach the app; the others go on working.
    outage_path: str = ""
    outage_next: int = 0
    outage_status: int = 503

    def update(self, values: dict[str, Any]) -> None:
        """Set the named faults; unknown names are an error, so typos are not silent."""
        known = {f.name for f in fields(self)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown faults: {sorted(unknown)}")
        for name, value in values.items():
            setattr(self, name, type(getattr(self, name))(value))


@dataclass
class Hold:
    """The `nth` request to `path` from now on is held at the server until released, then its
    connection is dropped: the moment to kill a client in the middle of one call.

    `apply` first lets the app apply it (a write whose answer never arrives); otherwise the
    request is dropped unapplied (a client killed before the server acted)."""

    path: str
    nth: int
    apply: bool = False
    seen: int = 0
    applied: bool = False
    arrived: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)

    def release(self) -> None:
        self.released.set()


@dataclass
class LoggedCall:
    """One request as the inspection log keeps it."""

    method: str
    path: str
    status: int
    account: str | None
    at: float


class RequestLog:
    """Every request a server saw, for tests that count calls per endpoint."""

    def __init__(self) -> None:
        self._calls: list[LoggedCall] = []
        self._lock = threading.Lock()

    def add(self, call: LoggedCall) -> None:
        with self._lock:
            self._calls.append(call)

    def calls(self, path_prefix: str = "", method: str | None = None) -> list[LoggedCall]:
        """The logged calls whose path starts with the prefix (and method, if given)."""
        with self._lock:
            return [c for c in self._calls if c.path.startswith(path_prefix) and (method is None or c.method == method)]

    def counts(self) -> Counter[str]:
        """Calls per `METHOD path`."""
        with self._lock:
            return Counter(f"{c.method} {c.path}" for c in self._calls)

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()
