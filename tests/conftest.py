"""Fixtures shared by every test: the sandbox servers, started in-process on free ports."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.stack import SandboxStack


@pytest.fixture
def stack() -> Iterator[SandboxStack]:
    """All three sandbox APIs, fresh for each test (they start in milliseconds)."""
    running = SandboxStack.start()
    yield running
    running.stop()
