"""What the Docker image does, without a Docker engine: the wheel installed with the service
extra alone into a fresh virtualenv, laid out as the Dockerfile lays out /app and /data, served
by an unprivileged user with the Dockerfile's own ENV, checked with its own HEALTHCHECK.

The two tests that install are slow (the service's dependencies come from the package index,
about 20 s here); the Dockerfile's own checks are fast. The image itself is not built: the
development machines have no Docker engine.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"
NOBODY = 65534
TEXT = "zq-docker Indigo pelican bicycle"


def dockerfile_env() -> dict[str, str]:
    """KEY=value pairs of every ENV instruction."""
    joined = DOCKERFILE.read_text().replace("\\\n", " ")
    env: dict[str, str] = {}
    for line in joined.splitlines():
        if line.startswith("ENV "):
            for pair in shlex.split(line[4:]):
                key, _, value = pair.partition("=")
                env[key] = value
    return env


def healthcheck_command() -> str:
    joined = DOCKERFILE.read_text().replace("\\\n", " ")
    return re.search(r"^HEALTHCHECK .*? CMD (.+)$", joined, re.M).group(1).strip()


def test_dockerfile_installs_only_the_service_and_runs_as_non_root():
    text = DOCKERFILE.read_text()
    assert 'pip install ".[service]"' in text and "train" not in text.split("pip install")[1][:40]
    user = re.search(r"^USER (\S+)", text, re.M).group(1)
    assert user not in ("root", "0")
    assert re.search(r"^EXPOSE 8000$", text, re.M) and re.search(r"^VOLUME /data$", text, re.M)
    env = dockerfile_env()
    assert env["TRIAGE_DATABASE_URL"] == "sqlite:////data/triage.db"
    assert env["TRIAGE_SECRET_KEY_FILE"].startswith("/data/")
    for copied in ("configs", "models/triage-minilm", "models/triage-minilm-l3"):
        assert f"COPY {copied} " in text
    assert "/readyz" in healthcheck_command()


def _as_user(uid: int | None) -> list[str]:
    if uid is None:
        return []
    return ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups"]


def _interpreter(uid: int | None) -> str:
    """A Python 3.11 the unprivileged user can run (a pyenv under /root is not readable)."""
    for candidate in ("/usr/bin/python3.11", sys._base_executable, shutil.which("python3.11")):
        if not candidate:
            continue
        probe = [
            *_as_user(uid),
            candidate,
            "-c",
            "import sys; assert sys.version_info[:2] == (3, 11)",
        ]
        if subprocess.run(probe, capture_output=True).returncode == 0:
            return candidate
    pytest.fail("no Python 3.11 that an unprivileged user can run, for the image's user")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    """(venv bin, app dir, data dir, uid): the image's layout in a world-readable temp dir."""
    uid = NOBODY if os.geteuid() == 0 else None
    top = Path(tempfile.mkdtemp(prefix="triage-image-"))
    top.chmod(0o755)
    wheels = top / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            wheels,
            ROOT,
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = wheels.glob("triage-*.whl")
    venv = top / "venv"
    subprocess.run([_interpreter(uid), "-m", "venv", "--without-pip", venv], check=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            venv / "bin" / "python",
            "install",
            "-q",
            f"{wheel}[service]",
        ],
        check=True,
        capture_output=True,
    )
    app = top / "app"
    shutil.copytree(ROOT / "configs", app / "configs")
    shutil.copytree(ROOT / "models" / "triage-minilm", app / "models" / "triage-minilm")
    data = top / "data"
    data.mkdir()
    if uid is not None:
        os.chown(data, uid, uid)
    yield venv / "bin", app, data, uid
    shutil.rmtree(top, ignore_errors=True)


def _env(bin_dir: Path, app: Path, data: Path, port: int) -> dict[str, str]:
    # the image's PATH starts with the interpreter pip installed into (`python`, `triage`)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(data), "LANG": "C.UTF-8"}
    for key, value in dockerfile_env().items():
        env[key] = value.replace("/app/", f"{app}/").replace("/data/", f"{data}/")
    env["TRIAGE_HOST"], env["TRIAGE_PORT"] = "127.0.0.1", str(port)
    return env


@pytest.mark.slow
def test_only_the_service_is_installed(image):
    bin_dir, _, _, uid = image
    heavy = ["torch", "transformers", "sklearn", "datasets"]
    probe = f"import importlib.util as u; print([m for m in {heavy!r} if u.find_spec(m)])"
    result = subprocess.run(
        [*_as_user(uid), bin_dir / "python", "-c", probe], capture_output=True, text=True
    )
    assert result.stdout.strip() == "[]", result.stderr


@pytest.mark.slow
def test_the_installed_wheel_serves_as_the_image_would(image):
    bin_dir, app, data, uid = image
    port = _free_port()
    env = _env(bin_dir, app, data, port)
    run_as = _as_user(uid)
    server = subprocess.Popen(
        [*run_as, bin_dir / "triage", "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        check = healthcheck_command().replace("8000", str(port))
        deadline, healthy = time.monotonic() + 90, False
        while time.monotonic() < deadline and server.poll() is None:
            probe = subprocess.run(
                [*run_as, "sh", "-c", check], env=env, capture_output=True, text=True
            )
            if probe.returncode == 0:
                healthy = True
                break
            time.sleep(0.5)
        if not healthy:
            server.terminate()
            said = server.communicate()[0][-3000:]
            pytest.fail(f"HEALTHCHECK never passed: {probe.stderr[-2000:]}\nserver: {said}")
        status = Path(f"/proc/{server.pid}/status").read_text()
        assert re.search(r"^Uid:\s+(\d+)", status, re.M).group(1) != "0"
        made = subprocess.run(
            [*run_as, bin_dir / "triage", "keys", "create", "--name", "p", "--role", "platform"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        key = made.stdout.strip().splitlines()[-1]
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/score",
            data=json.dumps({"items": [{"id": "a", "text": TEXT}]}).encode(),
            headers={"authorization": f"Bearer {key}", "content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200 and json.load(response)["results"][0]["tier"]
        assert (data / "triage.db").exists() and (data / "triage.db").stat().st_uid != 0
    finally:
        server.terminate()
        out, err = server.communicate(timeout=20)
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert any(
        line["logger"] == "triage.access" and line["route"] == "/v1/score" for line in lines
    ), out[-2000:]
    assert TEXT not in out + err and key not in out + err
