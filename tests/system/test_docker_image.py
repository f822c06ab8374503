"""The Docker image (issue 15, point 1).

Fast checks of the Dockerfile and .dockerignore run in the default suite. The `docker` test
(make test-docker, .ci/run) builds the image with `make docker` (which installs and starts a
Docker engine and makes the debian:bookworm-slim base when missing), runs it as its non-root
user with a named volume on the host network, waits for its own HEALTHCHECK to say healthy,
creates keys with `docker exec ... triage keys create`, ingests, scores and claims through the
API, restarts the container and finds keys, items, scores and the claim intact, then removes
the container and the volume. It also checks what is not in the image: compilers, pip, torch,
apt lists, caches, bundles other than the two shipped.
"""

from __future__ import annotations

import json
import os
import re
import shlex

import httpx
import pytest

from tests.system.docker_support import (
    ROOT,
    built_image,
    created_key,
    docker,
    free_port,
    image_size_mb,
    inspect,
    wait_healthy,
)

DOCKERFILE = ROOT / "Dockerfile"
IMAGE_USER_ID = "10001"
MAX_IMAGE_MB = 500  # 428 MB measured (base 74, Debian's python3 47, venv 262, bundles 46)
TEXTS = {  # hand-written, not from any dataset
    "d1": "zq-docker I can't sleep again and everything feels heavy tonight.",
    "d2": "zq-docker Thanks all, the breathing exercise helped a bit today.",
    "d3": "zq-docker WIN a FREE phone now, click the link in my profile!!!",
}


def dockerfile_env() -> dict[str, str]:
    """KEY=value pairs of every ENV instruction of the final stage."""
    joined = DOCKERFILE.read_text().replace("\\\n", " ")
    final_stage = joined.split("\nFROM ")[-1]
    env: dict[str, str] = {}
    for line in final_stage.splitlines():
        if line.startswith("ENV "):
            for pair in shlex.split(line[4:]):
                key, _, value = pair.partition("=")
                env[key] = value
    return env


def test_dockerfile_builds_from_debian_and_wheels_and_runs_as_non_root():
    text = DOCKERFILE.read_text()
    assert re.findall(r"^FROM (\S+)", text, re.M) == ["debian:bookworm-slim"] * 2
    install = re.search(r"pip install ([^&]+)", text).group(1)
    assert "--no-index" in install and "--find-links /wheels" in install
    assert '"triage[service]"' in install  # the service extra only: no torch
    assert "COPY build/wheelhouse /wheels" in text
    final_stage = text.split("\nFROM ")[-1]
    assert "/wheels" not in final_stage and "python3-venv" not in final_stage
    user = re.search(r"^USER (\S+)", final_stage, re.M).group(1)
    assert user not in ("root", "0") and f"--uid {IMAGE_USER_ID}" in final_stage
    assert re.search(r"^VOLUME /data$", final_stage, re.M)
    env = dockerfile_env()
    assert env["TRIAGE_DATABASE_URL"] == "sqlite:////data/triage.db"
    assert env["TRIAGE_SECRET_KEY_FILE"].startswith("/data/")
    copied = re.findall(r"^COPY (?!--from)(\S+) ", final_stage, re.M)
    assert copied == ["configs", "models/triage-minilm", "models/triage-minilm-l3"]
    healthcheck = re.search(r"^HEALTHCHECK .*? CMD (.+)$", final_stage.replace("\\\n", " "), re.M)
    assert "/readyz" in healthcheck.group(1) and "TRIAGE_PORT" in healthcheck.group(1)


def test_the_build_context_is_an_allow_list():
    lines = [
        line
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert lines[0] == "*"
    allowed = {line[1:] for line in lines if line.startswith("!")}
    assert allowed == {
        "build/wheelhouse",
        "configs",
        "models/triage-minilm",
        "models/triage-minilm-l3",
    }


@pytest.fixture()
def container(request):
    """A container of the image on the host network, port `port`, volume `volume` at /data;
    removed with its volume afterwards."""
    image = built_image()
    suffix = f"{os.getpid()}-{free_port()}"
    name, volume, port = f"triage-test-{suffix}", f"triage-test-data-{suffix}", free_port()
    docker("volume", "create", volume)
    try:
        docker(
            "run", "-d", "--name", name, "--network", "host",
            "-e", "TRIAGE_HOST=127.0.0.1", "-e", f"TRIAGE_PORT={port}",
            "-v", f"{volume}:/data", image,
        )  # fmt: skip
        yield name, port, image
    finally:
        docker("rm", "-f", "-v", name, check=False)
        docker("volume", "rm", "-f", volume, check=False)


def _keys(name: str) -> dict[str, str]:
    made = {}
    for holder, role in (("platform", "platform"), ("alice", "moderator")):
        out = docker("exec", name, "triage", "keys", "create", "--name", holder, "--role", role)
        made[holder] = created_key(out.stdout)
    return made


STABLE = ("item_id", "scoring", "tier", "scores", "flags", "state", "claimed_by", "text")


def _queue(http: httpx.Client, key: str) -> dict[str, dict]:
    """The test's items in the queue, without what changes as they wait (priority, reasons)."""
    page = http.get(
        "/v1/queue",
        params={"limit": 50, "search": "zq-docker", "search_in": "text"},
        headers={"authorization": f"Bearer {key}"},
    )
    assert page.status_code == 200, page.text
    items = page.json()["items"]
    return {item["id"]: {field: item[field] for field in STABLE} for item in items}


@pytest.mark.docker
def test_the_image_serves_as_non_root_and_keeps_its_queue_across_a_restart(container):
    name, port, image = container
    first_healthy_s = wait_healthy(name)
    assert inspect(name, "{{.Config.User}}") == "triage"
    uid_line = docker("exec", name, "grep", "^Uid:", "/proc/1/status").stdout
    assert uid_line.split()[1:] == [IMAGE_USER_ID] * 4, uid_line  # real, effective, saved, fs
    keys = _keys(name)
    platform = {"authorization": f"Bearer {keys['platform']}"}
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        scored = http.post(
            "/v1/score", json={"items": [{"id": "s", "text": TEXTS["d1"]}]}, headers=platform
        )
        assert scored.status_code == 200, scored.text
        assert scored.json()["results"][0]["tier"]
        items = [{"id": key, "community": "docker", "text": text} for key, text in TEXTS.items()]
        ingested = http.post("/v1/items", json={"items": items}, headers=platform)
        assert ingested.status_code == 200, ingested.text
        results = {result["id"]: result for result in ingested.json()["results"]}
        assert all(r["created"] and r["scoring"] == "scored" for r in results.values())
        claimed = http.post(
            f"/v1/items/{results['d1']['item_id']}/events",
            json={"type": "claim"},
            headers={"authorization": f"Bearer {keys['alice']}"},
        )
        assert claimed.status_code == 201, claimed.text
        before = _queue(http, keys["alice"])
    assert set(before) == set(TEXTS) and before["d1"]["claimed_by"] == "alice"

    started = inspect(name, "{{.State.StartedAt}}")
    docker("restart", name, timeout=60)
    assert inspect(name, "{{.State.StartedAt}}") != started
    second_healthy_s = wait_healthy(name)

    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        after = _queue(http, keys["alice"])  # the keys survived too: they are in the volume
        again = http.post("/v1/items", json={"items": items}, headers=platform)
    assert after == before, "the queue changed across the restart"
    assert not any(result["created"] for result in again.json()["results"])
    files = docker("exec", name, "ls", "-ln", "/data").stdout
    assert "triage.db" in files
    owners = {line.split()[2] for line in files.splitlines()[1:]}
    assert owners == {IMAGE_USER_ID}, files

    logs = docker("logs", name)
    said = logs.stdout + logs.stderr
    assert '"route": "/v1/items"' in said
    assert not any(text in said for text in TEXTS.values()), "post text in the logs"
    assert not any(key in said for key in keys.values()), "a key in the logs"
    print(
        f"\nimage {image}: {image_size_mb(image):.0f} MB; healthy after {first_healthy_s:.0f} s, "
        f"and {second_healthy_s:.0f} s after the restart"
    )


PROBE = """
import importlib.util, json, os, shutil
print(json.dumps({
    "tools": [t for t in ("gcc", "cc", "c++", "make", "pip", "pip3") if shutil.which(t)],
    "modules": [m for m in ("torch", "transformers", "sklearn", "pip", "setuptools")
                if importlib.util.find_spec(m)],
    "apt_lists": os.listdir("/var/lib/apt/lists"),
    "apt_cache": os.listdir("/var/cache/apt"),
    "models": sorted(os.listdir("/app/models")),
    "data": os.listdir("/data"),
}))
"""


@pytest.mark.docker
def test_the_image_holds_the_service_and_nothing_to_build_with():
    image = built_image()
    size_mb = image_size_mb(image)
    assert size_mb < MAX_IMAGE_MB
    out = docker("run", "--rm", "--network", "none", image, "python", "-c", PROBE)
    found = json.loads(out.stdout)
    assert found == {
        "tools": [],
        "modules": [],
        "apt_lists": [],
        "apt_cache": [],
        "models": ["triage-minilm", "triage-minilm-l3"],
        "data": [],
    }
