"""Google's Cloud Firestore emulator (installed with the Google Cloud CLI) on a free port, for
the tests and the benches.

The emulator's script starts a Java child that outlives it, so it runs in its own process
group and the whole group is stopped."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

import httpx

STARTUP_SECONDS = 60


class EmulatorError(RuntimeError):
    """The emulator is not installed or did not start."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _command(port: int) -> list[str]:
    gcloud = shutil.which("gcloud")
    if gcloud is None:
        raise EmulatorError("gcloud is not installed: the Firestore emulator comes with the Google Cloud CLI")
    root = subprocess.check_output([gcloud, "info", "--format=value(installation.sdk_root)"], text=True).strip()
    script = Path(root) / "platform" / "cloud-firestore-emulator" / "cloud_firestore_emulator"
    return [str(script), "start", "--host=127.0.0.1", f"--port={port}"]


class FirestoreEmulator:
    """The emulator, started on entering and stopped (its whole process group) on leaving."""

    def __init__(self) -> None:
        port = _free_port()
        self.host = f"127.0.0.1:{port}"
        self._process = subprocess.Popen(
            _command(port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            try:
                httpx.get(f"http://{self.host}/", timeout=1)
                return
            except httpx.HTTPError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise EmulatorError("the Firestore emulator did not start") from None
                time.sleep(0.2)

    def clear(self, project: str) -> None:
        """Delete every document of a project's default database."""
        httpx.delete(f"http://{self.host}/emulator/v1/projects/{project}/databases/(default)/documents")

    def stop(self) -> None:
        if self._process.poll() is not None:
            return
        os.killpg(self._process.pid, signal.SIGTERM)
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait()

    def __enter__(self) -> FirestoreEmulator:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
