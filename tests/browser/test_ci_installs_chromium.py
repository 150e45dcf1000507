"""The browser tests fail in CI without Chromium, so every CI path that runs them installs it."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).parent.parent.parent


def test_both_ci_scripts_install_debians_chromium_before_the_tests() -> None:
    for name in ("run", "cloudbuild-test"):
        script = (ROOT / ".ci" / name).read_text()
        install = script.find("apt-get install -y -qq")
        assert install >= 0, f".ci/{name} installs nothing with apt"
        line = script[install : script.index("\n", install)]
        assert "chromium chromium-driver" in line, f".ci/{name} does not install chromium"
        assert install < script.index("make test"), f".ci/{name} installs chromium after the tests"
    requirements = (ROOT / "requirements-dev.txt").read_text().splitlines()
    assert any(line.startswith("playwright==") for line in requirements), "playwright is not pinned"
