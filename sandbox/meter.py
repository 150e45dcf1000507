"""A meter of the Firestore operations a client makes, as Firestore bills them: document reads,
writes and deletes, counted on the wire (a gRPC interceptor on the client's channel to the
emulator), so that nothing the state adapter or the client library does passes uncounted.

How each call is counted (Firestore's pricing page, "Reads, writes, and deletes"):
- GetDocument: one read. BatchGetDocuments: one read per document asked, found or missing
  (a missing one is counted too: the meter errs on the side of a higher bill).
- RunQuery: one read per document returned, and at least one per query.
- RunAggregationQuery (`count()`): one read per 1,000 index entries counted, at least one.
- ListDocuments: one read per document returned, at least one.
- Commit and BatchWrite: one write per `update`/`transform` write, one delete per `delete`.

Used by the tests (`Meter.install(client)` before the client's first call) and by
`bench/cost.py` (`python -m sandbox.firestore_ops OUT.json -- ARGS...` runs `python -m sync
ARGS` with every Firestore client metered, and writes the counts to OUT.json)."""

from __future__ import annotations

import json
import math
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, cast

import grpc
from google.cloud import firestore

# Index entries one read pays for in an aggregation query.
ENTRIES_PER_READ = 1000


@dataclass
class Counts:
    """Billed Firestore operations, and the secret store's (`metered_sync` only): accesses of a
    secret's value, and versions added."""

    reads: int = 0
    writes: int = 0
    deletes: int = 0
    secret_accesses: int = 0
    secret_versions: int = 0

    def __sub__(self, other: Counts) -> Counts:
        mine, theirs = asdict(self), asdict(other)
        return Counts(**{name: mine[name] - theirs[name] for name in mine})


class Meter(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor):  # type: ignore[misc]
    """Counts the billed operations of every client it is installed on."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = Counts()
        # Reads and writes by the collection they touch ("entries", "companies", ...): where
        # a bill comes from.
        self.by_collection: Counter[str] = Counter()

    @property
    def counts(self) -> Counts:
        """The operations so far (a copy: subtract two to get those in between)."""
        with self._lock:
            return Counts(**asdict(self._counts))

    def add(
        self, reads: int = 0, writes: int = 0, deletes: int = 0, accesses: int = 0, versions: int = 0, where: str = ""
    ) -> None:
        with self._lock:
            if where:
                self.by_collection[f"{where} reads"] += reads
                self.by_collection[f"{where} writes"] += writes + deletes
            self._counts.reads += reads
            self._counts.writes += writes
            self._counts.deletes += deletes
            self._counts.secret_accesses += accesses
            self._counts.secret_versions += versions

    def install(self, client: firestore.Client) -> firestore.Client:
        """Meter this client (to the emulator), which must not have made a call yet."""
        if client._emulator_host is None:
            raise ValueError("the meter counts on the emulator's channel: set FIRESTORE_EMULATOR_HOST")
        plain: Callable[[Any], grpc.Channel] = client._emulator_channel
        vars(client)["_emulator_channel"] = lambda transport: self.channel(plain(transport))
        return client

    def channel(self, plain: grpc.Channel) -> grpc.Channel:
        """A channel that counts what passes through `plain`."""
        metered: grpc.Channel = grpc.intercept_channel(plain, self)
        return metered

    # ---- the interceptor ----

    def intercept_unary_unary(
        self, continuation: Callable[..., Any], details: grpc.ClientCallDetails, request: Any
    ) -> Any:
        outcome = continuation(details, request)
        if outcome.exception() is not None:
            return outcome  # refused: nothing billed that matters here
        method = _method(details)
        if method == "GetDocument":
            self.add(reads=1, where=_collection(request.name))
        elif method == "ListDocuments":
            self.add(reads=max(1, len(outcome.result().documents)), where=request.collection_id)
        elif method in ("Commit", "BatchWrite"):
            for write in request.writes:
                operation = write._pb.WhichOneof("operation")
                name = write.delete if operation == "delete" else write.update.name or write.transform.document
                deleted = int(operation == "delete")
                self.add(writes=1 - deleted, deletes=deleted, where=_collection(name))
        return outcome

    def intercept_unary_stream(
        self, continuation: Callable[..., Any], details: grpc.ClientCallDetails, request: Any
    ) -> Any:
        method = _method(details)
        if method == "BatchGetDocuments":
            where = _collection(request.documents[0]) if request.documents else ""
        elif method == "RunAggregationQuery":
            where = request.structured_aggregation_query.structured_query.from_[0].collection_id
        elif method == "RunQuery":
            where = request.structured_query.from_[0].collection_id
        else:
            where = method
        return _Counted(continuation(details, request), method, where, self)


def _method(details: grpc.ClientCallDetails) -> str:
    return str(details.method).rsplit("/", 1)[-1]


def _collection(document: str) -> str:
    """The collection of a document's name (`.../COLLECTION/ID`)."""
    parts = document.rsplit("/", 2)
    return parts[-2] if len(parts) == 3 else document


class _Counted:
    """A streamed answer, counted as it is read; the rest of the call's interface passes
    through (the client library asks it for its code, metadata and callbacks)."""

    def __init__(self, call: Any, method: str, where: str, meter: Meter) -> None:
        self._call = call
        self._method = method
        self._where = where
        self._meter = meter
        # Reads billed so far for this query: none at its end still bills one.
        self._reads = 0

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        try:
            response = next(self._call)
        except StopIteration:
            self._end()
            raise
        reads = 0
        if self._method == "BatchGetDocuments":
            reads = 1 if (response._pb.HasField("found") or response._pb.missing) else 0
        elif self._method == "RunQuery":
            reads = 1 if response._pb.HasField("document") else 0
        elif self._method == "RunAggregationQuery":
            entries = sum(int(v.integer_value) for v in response.result.aggregate_fields.values())
            reads = math.ceil(entries / ENTRIES_PER_READ)
        # Counted as it comes: a reader that stops early (`limit(1)`) has been billed these.
        self._reads += reads
        self._meter.add(reads=reads, where=self._where)
        return response

    def _end(self) -> None:
        if self._method in ("RunQuery", "RunAggregationQuery") and self._reads == 0:
            # A query is billed at least one read, whatever it returns.
            self._reads = 1
            self._meter.add(reads=1, where=self._where)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._call, name)


def metered_sync(out: Path, args: list[str]) -> int:
    """`python -m sync ARGS` with every Firestore client metered; the counts written to `out`."""
    meter = meter_process()
    from sync import runtime
    from sync.serve.cli.main import main

    runtime.tune_garbage_collector()  # as `python -m sync` does
    try:
        main.main(args, prog_name="python -m sync")
        status = 0
    except SystemExit as stop:
        status = stop.code if isinstance(stop.code, int) else 1
    finally:
        out.write_text(json.dumps({**asdict(meter.counts), "by_collection": dict(meter.by_collection)}))
    return status


def meter_process() -> Meter:
    """A meter of every Firestore client this process makes from now on, and of every secret
    read and written, whichever store the settings choose."""
    meter = Meter()
    plain = cast(Callable[[Any, Any], grpc.Channel], firestore.Client._emulator_channel)

    def metered(client: Any, transport: Any) -> grpc.Channel:
        return meter.channel(plain(client, transport))

    firestore.Client._emulator_channel = metered  # type: ignore[method-assign]
    _meter_secrets(meter)
    return meter


def _meter_secrets(meter: Meter) -> None:
    """Count each read of a secret (a Secret Manager access) and each write (a new version),
    whichever store the settings choose."""
    from sync.secrets.localfile import LocalFileSecrets
    from sync.secrets.secretmanager import SecretManagerSecrets

    for store in (LocalFileSecrets, SecretManagerSecrets):
        plain_read, plain_write = store.read, store.write

        def read(secrets: Any, name: str, plain: Callable[[Any, str], str] = plain_read) -> str:
            meter.add(accesses=1)
            return plain(secrets, name)

        def write(secrets: Any, name: str, value: str, plain: Callable[[Any, str, str], None] = plain_write) -> None:
            plain(secrets, name, value)
            meter.add(versions=1)

        store.read = read  # type: ignore[method-assign,assignment]
        store.write = write  # type: ignore[method-assign,assignment]


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[2] != "--":
        sys.exit("usage: python -m sandbox.firestore_ops OUT.json -- SYNC-ARGS...")
    sys.exit(metered_sync(Path(sys.argv[1]), sys.argv[3:]))
