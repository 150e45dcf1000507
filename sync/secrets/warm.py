"""What a warm instance keeps of the secrets it read: each read of a secret is a billed Secret
Manager access ($0.03 per 10,000), and an instance that served a run minutes ago would otherwise
read the same OAuth clients and tokens again at the next one. Kept in process memory, per secret
store (weakly: a store let go takes its values with it) and by secret name, shared by the
threads of the process.

Nothing kept is trusted blindly: whoever uses a kept value re-reads the secret when the value is
refused (a token endpoint's `invalid_grant` or `invalid_client`), or when something says it
changed since (see `sync.teamleader.tokens`, `sync.google.kept`)."""

from __future__ import annotations

import json
import threading
import weakref
from typing import Generic, TypeVar

from sync.errors import ConfigError
from sync.secrets.port import SecretStore

T = TypeVar("T")


class Kept(Generic[T]):
    """Values read from, or written to, the secrets of a store, by secret name."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: weakref.WeakKeyDictionary[SecretStore, dict[str, T]] = weakref.WeakKeyDictionary()

    def get(self, store: SecretStore, name: str) -> T | None:
        """The value last kept for secret `name` of `store`; None when there is none."""
        with self._lock:
            return self._kept.get(store, {}).get(name)

    def put(self, store: SecretStore, name: str, value: T) -> None:
        """Keep `value`, just read from (or stored in) secret `name` of `store`."""
        with self._lock:
            self._kept.setdefault(store, {})[name] = value


# The OAuth clients' ids and secrets (Teamleader's, Google's installed and web apps).
CLIENTS: Kept[tuple[str, str]] = Kept()


def read_client(store: SecretStore, name: str) -> tuple[str, str]:
    """An OAuth client's id and secret as secret `name` holds them now; kept for the next run."""
    try:
        data = json.loads(store.read(name))
    except KeyError as exc:
        raise ConfigError(f"secret {name} is missing: run `python -m sync connect` first") from exc
    client = (str(data["client_id"]), str(data["client_secret"]))
    CLIENTS.put(store, name, client)
    return client


def client(store: SecretStore, name: str) -> tuple[tuple[str, str], bool]:
    """An OAuth client's id and secret, and whether they were kept from an earlier read (then
    an operator may have rotated the secret since: `read_client` again when it is refused)."""
    kept = CLIENTS.get(store, name)
    return (kept, True) if kept is not None else (read_client(store, name), False)
