"""The real server the browser tests drive: uvicorn in a subprocess on a free port of 127.0.0.1,
the shipped model, a temporary SQLite database and console secret. One place, so the browser
suites differ only in the settings and data they give it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import create_keys
from triage.paths import DEFAULT_BUNDLE

CHROMIUM = Path("/usr/bin/chromium")


@dataclass(frozen=True)
class ConsoleServer:
    base: str  # http://127.0.0.1:<port>
    keys: dict[str, str]  # role or moderator name -> API key (tests.conftest.create_keys)
    database_url: str
    folder: Path  # its database, console secret and log


def require_browser() -> None:
    """Skip (not fail) where Chromium or Playwright is missing: the suite is opt-in."""
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium is not installed at {CHROMIUM}; run `make browser-deps` (apt)")
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed (dev extra)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_ready(base: str, process: subprocess.Popen, log: Path, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{base}/readyz", timeout=2) as reply:
                if reply.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.3)
    pytest.fail(f"the server was not ready within {seconds} s:\n{log.read_text()[-3000:]}")


@contextmanager
def console_server(
    folder: Path,
    env: dict[str, str] | None = None,
    before_start: Callable[[str], None] | None = None,
) -> Iterator[ConsoleServer]:
    """A ready server on a new database in `folder`, with `env` added to its TRIAGE_ settings;
    `before_start(database_url)` may fill the database first. Stopped on exit."""
    require_browser()
    database_url = f"sqlite:///{folder / 'console.db'}"
    keys = create_keys(database_url)
    if before_start is not None:
        before_start(database_url)
    port = free_port()
    server_env = {
        **os.environ,
        "TRIAGE_DATABASE_URL": database_url,
        "TRIAGE_BUNDLE_DIR": str(DEFAULT_BUNDLE),
        "TRIAGE_SECRET_KEY_FILE": str(folder / "console-secret.key"),
        **(env or {}),
    }
    log = folder / "server.log"
    command = [
        sys.executable, "-m", "uvicorn", "--factory", "triage.service.app:create_app",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
    ]  # fmt: skip
    with log.open("w") as sink:
        process = subprocess.Popen(command, env=server_env, stdout=sink, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, process, log)
        yield ConsoleServer(base, keys, database_url, folder)
    finally:
        process.terminate()
        process.wait(timeout=15)
