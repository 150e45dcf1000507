"""A real browser for the tests in this folder: Debian's headless Chromium driven by Playwright,
and a screenshot of every page a test reaches.

Playwright's own browser download cannot run here, so it launches the Chromium that `.ci/run`
installs with apt. Without it a run on a developer's machine skips these tests with a message
saying how to install it; in CI (CI=true) it fails, since a skipped browser test there would be a
green run that tested nothing."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# Without the networking flags Chromium reaches for Google's hosts at every start, and this
# machine's closed network refuses them; root needs --no-sandbox.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(os.environ.get("BROWSER_SCREENSHOTS", Path(__file__).parent / "screenshots"))
# How long a page may take to show what a test waits for, on a busy two-core machine.
PAGE_WAIT_MS = 20_000
# The folders this run saved screenshots in, named at the end of the run.
_FOLDERS: set[Path] = set()


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason}: CI must run the browser tests (.ci/run installs chromium with apt)")
    pytest.skip(f"{reason}: apt-get install -y chromium chromium-driver, then pip install -r requirements-dev.txt")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium for a module's tests (started once: a launch costs about a second)."""
    if not Path(CHROMIUM).exists():
        _unavailable(f"no Chromium at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright is not installed")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Screenshots:
    """A test's folder of screenshots, one per page reached, numbered in the order seen.

    `reached` waits for the page's heading, then shoots it; at the end of the test every
    navigation of the page must have been shot before the next one began."""

    def __init__(self, page: Any, folder: Path) -> None:
        self.page = page
        self.folder = folder
        self.navigations: list[str] = []
        self.shot_after: set[int] = set()
        page.on("framenavigated", self._navigated)

    def _navigated(self, frame: Any) -> None:
        if frame == self.page.main_frame:
            self.navigations.append(frame.url)

    def reached(self, heading: str) -> None:
        """Wait until the page's heading says `heading`, then save a screenshot of it."""
        from playwright.sync_api import expect

        expect(self.page.get_by_role("heading", level=1)).to_have_text(heading, timeout=PAGE_WAIT_MS)
        name = re.sub(r"[^a-z0-9]+", "-", heading.casefold()).strip("-")[:60]
        self.page.screenshot(path=self.folder / f"{len(self.shot_after) + 1:02d}-{name}.png", full_page=True)
        self.shot_after.add(len(self.navigations))
        _FOLDERS.add(self.folder)

    def unshot(self) -> list[str]:
        """The pages navigated to and never shot."""
        return [url for number, url in enumerate(self.navigations, 1) if number not in self.shot_after]


@pytest.fixture
def shots(browser: Any, request: pytest.FixtureRequest) -> Iterator[Screenshots]:
    """A fresh browser page (its own cookies) with its test's screenshot folder, emptied first:
    tests/browser/screenshots/<test name>/ unless BROWSER_SCREENSHOTS names another root."""
    folder = SCREENSHOTS / re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    context = browser.new_context()
    recorder = Screenshots(context.new_page(), folder)
    yield recorder
    context.close()
    assert not recorder.unshot(), f"pages reached without a screenshot: {recorder.unshot()}"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say where this run's screenshots are."""
    for folder in sorted(_FOLDERS):
        terminalreporter.write_line(f"browser screenshots: {folder}")
