"""The browser test leaves the committed screenshots alone unless asked to refresh them."""

from __future__ import annotations

import subprocess

from tests.system import test_browser


def test_screenshots_go_to_an_ignored_folder_by_default(monkeypatch):
    monkeypatch.delenv("TRIAGE_UPDATE_SCREENSHOTS", raising=False)
    folder = test_browser.screenshot_dir()
    assert folder != test_browser.README_SCREENSHOTS
    probe = folder.relative_to(test_browser.ROOT) / "queue.png"
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", str(probe)], cwd=test_browser.ROOT, check=False
    )
    assert ignored.returncode == 0, f"{probe} is not git-ignored"


def test_screenshots_refresh_the_readme_ones_when_asked(monkeypatch):
    monkeypatch.setenv("TRIAGE_UPDATE_SCREENSHOTS", "1")
    assert test_browser.screenshot_dir() == test_browser.ROOT / "docs" / "screenshots"
