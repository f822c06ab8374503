"""Helpers of the `docker` tests (tests/system/test_docker_image.py,
tests/system/test_docker_compose.py):
the engine and the image made once per test run with the same commands as `make docker`, and
small wrappers of the docker CLI. Everything runs on the host network, on loopback."""

from __future__ import annotations

import functools
import json
import socket
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "triage:latest"  # what `make docker` builds and docker/compose.yaml runs
BUILD_TIMEOUT_S = 1200  # a fresh machine: apt, debootstrap, the wheelhouse and the build


def run(
    *command: str, timeout: float = 120, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    if check and result.returncode != 0:
        pytest.fail(
            f"{' '.join(command[:4])} ... exited {result.returncode}:\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return result


def docker(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
    return run("docker", *args, timeout=timeout, check=check)


@functools.cache
def built_image() -> str:
    """`make docker`: installs and starts the engine and makes the base when missing, builds the
    wheelhouse and the image. Once per test run; later builds reuse Docker's layer cache."""
    run("make", "--no-print-directory", "-C", str(ROOT), "docker", f"IMAGE={IMAGE}",
        timeout=BUILD_TIMEOUT_S)  # fmt: skip
    return IMAGE


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def inspect(container: str, template: str) -> str:
    return docker("inspect", "--format", template, container).stdout.strip()


def health(container: str) -> str:
    return inspect(container, "{{if .State.Health}}{{.State.Health.Status}}{{end}}")


def wait_healthy(container: str, seconds: float = 120) -> float:
    """Seconds until the image's HEALTHCHECK reports healthy (fails on `unhealthy` or exit)."""
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        state = json.loads(inspect(container, "{{json .State}}"))
        status = (state.get("Health") or {}).get("Status")
        if status == "healthy":
            return time.monotonic() - start
        if status == "unhealthy" or state["Status"] in ("exited", "dead"):
            break
        time.sleep(1)
    logs = docker("logs", "--tail", "40", container, check=False)
    pytest.fail(
        f"{container} not healthy within {seconds} s: {health(container)!r}\n"
        f"{logs.stdout[-3000:]}{logs.stderr[-3000:]}"
    )


def image_size_mb(image: str) -> float:
    return int(docker("image", "inspect", "--format", "{{.Size}}", image).stdout) / 1e6


def created_key(output: str) -> str:
    """The key `triage keys create` prints on its last line."""
    return output.strip().splitlines()[-1].strip()
