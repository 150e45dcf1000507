"""Teamleader's webhooks as the sandbox sends them: registrations per account, and a POST of
`{"type", "subject": {"type", "id"}, "account"}` to every registered address for each change,
from a thread of its own, with faults: deliveries lost, sent twice, delayed, or sent out of
order (the real service promises none of these away)."""

from __future__ import annotations

import queue
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class DeliveryFaults:
    """What goes wrong on the way, each by chance (seeded)."""

    lost: float = 0.0
    duplicated: float = 0.0
    # Seconds each delivery waits before it goes (real time: the receiver's clock).
    delay_seconds: float = 0.0
    # Deliveries gathered and sent in a shuffled order, this many at a time (0: in order).
    reorder_window: int = 0
    seed: int = 7


@dataclass
class Delivery:
    url: str
    payload: dict[str, Any]


@dataclass
class WebhookSender:
    """Registrations and the deliveries they cause."""

    faults: DeliveryFaults = field(default_factory=DeliveryFaults)
    # account id → url → event types
    registrations: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    sent: list[Delivery] = field(default_factory=list)
    lost: list[Delivery] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._queue: queue.Queue[Delivery] = queue.Queue()
        self._random = random.Random(self.faults.seed)
        self._lock = threading.Lock()
        self._http = httpx.Client(timeout=5)
        threading.Thread(target=self._send_forever, daemon=True).start()

    def register(self, account: str, url: str, types: list[str]) -> None:
        with self._lock:
            self.registrations.setdefault(account, {}).setdefault(url, set()).update(types)

    def unregister(self, account: str, url: str, types: list[str]) -> None:
        with self._lock:
            registered = self.registrations.get(account, {})
            remaining = registered.get(url, set()) - set(types)
            if remaining:
                registered[url] = remaining
            else:
                registered.pop(url, None)

    def listed(self, account: str) -> list[dict[str, Any]]:
        with self._lock:
            return [{"url": url, "types": sorted(types)} for url, types in self.registrations.get(account, {}).items()]

    def emit(self, account: str, event: str, subject_id: str) -> None:
        """A change happened: one delivery per address registered for its type."""
        subject_type = event.split(".", 1)[0]
        payload = {
            "type": event,
            "subject": {"type": subject_type, "id": subject_id},
            "account": {"type": "account", "id": account},
        }
        with self._lock:
            urls = [url for url, types in self.registrations.get(account, {}).items() if event in types]
        for url in urls:
            self._queue.put(Delivery(url, payload))

    def idle(self, timeout: float = 10.0) -> bool:
        """Wait until every delivery so far has been sent (or lost)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._queue.unfinished_tasks == 0:
                return True
            time.sleep(0.01)
        return False

    def _send_forever(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < max(1, self.faults.reorder_window):
                try:
                    batch.append(self._queue.get(timeout=0.05))
                except queue.Empty:
                    break
            if self.faults.reorder_window:
                self._random.shuffle(batch)
            for delivery in batch:
                self._deliver(delivery)
                self._queue.task_done()

    def _deliver(self, delivery: Delivery) -> None:
        if self._random.random() < self.faults.lost:
            self.lost.append(delivery)
            return
        if self.faults.delay_seconds:
            time.sleep(self.faults.delay_seconds)
        copies = 2 if self._random.random() < self.faults.duplicated else 1
        for _ in range(copies):
            self.sent.append(delivery)
            try:
                self._http.post(delivery.url, json=delivery.payload)
            except httpx.HTTPError:
                pass  # Teamleader does not say whether it retries: the sandbox does not
