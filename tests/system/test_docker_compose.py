"""Several replicas, one database (issue 15, point 2): docker/compose.yaml.

A fast check of the file runs in the default suite. The `docker` tests (make test-docker,
.ci/run) bring the deployment up with Debian's docker-compose on free loopback ports:
PostgreSQL, the one-shot `migrate`, three replicas of the image and Prometheus, then

- the migrations ran once, in `migrate`, and Prometheus scrapes every replica with the
  metrics key that `migrate` made;
- the same item claimed at once through two replicas by two moderators: exactly one wins,
  ten items over;
- clients ingest through every replica at once while one replica is SIGKILLed: every item
  answered 2xx is stored exactly once with the item_id it was given, a retry of a cut-off
  request duplicates nothing, Docker restarts the replica, the retry loop scores what the kill
  left pending, and every replica lists the same queue;

and tear it down with its volumes.
"""

from __future__ import annotations

import os
import random
import re
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx
import psycopg
import pytest
import yaml

from tests.system.docker_support import (
    ROOT,
    built_image,
    created_key,
    docker,
    free_port,
    inspect,
    run,
    wait_healthy,
)

COMPOSE = ROOT / "docker" / "compose.yaml"
REPLICAS = ("triage-1", "triage-2", "triage-3")
COMMUNITY = "compose"
CLIENTS_PER_REPLICA = 2
KILL_AFTER_S = 3.0  # into the load
LOAD_AFTER_KILL_S = 4.0
TEXTS = [  # hand-written, not from any dataset
    "I can't sleep again and everything feels heavy tonight.",
    "Thanks all, the breathing exercise helped a bit today.",
    "Does anyone else feel like they are a burden to their friends?",
    "Shut up, nobody asked for your opinion.",
]


def _services() -> dict[str, dict]:
    return yaml.safe_load(COMPOSE.read_text())["services"]


def _default(value: str) -> str:
    """The default of a `${NAME:-default}` reference, else the value itself."""
    found = re.fullmatch(r"\$\{\w+:-(.*)\}", str(value))
    return found.group(1) if found else str(value)


def test_the_compose_file_migrates_once_and_keeps_every_service_on_loopback():
    services = _services()
    assert set(services) == {"postgres", "migrate", "prometheus", *REPLICAS}
    assert all(service["network_mode"] == "host" for service in services.values())
    migrate = services["migrate"]
    assert migrate["restart"] == "no" and "triage db upgrade" in migrate["command"][-1]
    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    ports = set()
    for name in REPLICAS:
        replica, env = services[name], services[name]["environment"]
        assert replica["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}
        assert env["TRIAGE_MIGRATE_ON_START"] == "false" and env["TRIAGE_HOST"] == "127.0.0.1"
        assert env["TRIAGE_SECRET_KEY"].startswith("${TRIAGE_SECRET_KEY:?")  # one, required
        ports.add(_default(env["TRIAGE_PORT"]))
    prometheus = services["prometheus"]["environment"]
    assert len(ports) == len(REPLICAS)
    assert all(port in prometheus["TRIAGE_TARGETS"] for port in ports)
    assert _default(prometheus["PROMETHEUS_LISTEN"].split(":", 1)[1]) not in ports


@dataclass
class Deployment:
    project: str
    env: dict[str, str]
    ports: dict[str, int]  # replica -> port
    database_url: str  # psycopg's, from the host
    prometheus_port: int

    def compose(self, *args: str, timeout: float = 120, check: bool = True):
        command = ("docker-compose", "-p", self.project, "-f", str(COMPOSE), *args)
        return run(*command, timeout=timeout, check=check, env=self.env)

    def container(self, service: str) -> str:
        return self.compose("ps", "-q", service).stdout.strip()

    def base(self, replica: str) -> str:
        return f"http://127.0.0.1:{self.ports[replica]}"

    def key(self, name: str, role: str) -> str:
        replica = self.container(REPLICAS[0])
        out = docker("exec", replica, "triage", "keys", "create", "--name", name, "--role", role)
        return created_key(out.stdout)


@pytest.fixture(scope="module")
def deployment():
    image = built_image()
    ports = {replica: free_port() for replica in REPLICAS}
    pg_port, prometheus_port = free_port(), free_port()
    password = secrets.token_hex(16)
    env = {
        **os.environ,
        "TRIAGE_IMAGE": image,
        "TRIAGE_PG_PASSWORD": password,
        "TRIAGE_PG_PORT": str(pg_port),
        "TRIAGE_SECRET_KEY": secrets.token_urlsafe(32),
        "TRIAGE_PROMETHEUS_PORT": str(prometheus_port),
        "TRIAGE_SCRAPE_INTERVAL": "2s",
        "TRIAGE_SCORING_TIMEOUT_S": "5",
        "TRIAGE_RESCORE_INTERVAL_S": "2",
        **{f"TRIAGE_PORT_{n}": str(ports[replica]) for n, replica in enumerate(REPLICAS, 1)},
    }
    deployed = Deployment(
        project=f"triage-compose-test-{os.getpid()}",
        env=env,
        ports=ports,
        database_url=f"postgresql://triage:{password}@127.0.0.1:{pg_port}/triage",
        prometheus_port=prometheus_port,
    )
    try:
        started = time.monotonic()
        deployed.compose("up", "-d", "--build", timeout=900)
        for replica in REPLICAS:
            wait_healthy(deployed.container(replica))
        print(f"\ncompose up, every replica healthy: {time.monotonic() - started:.0f} s")
        yield deployed
    finally:
        deployed.compose("down", "-v", "--remove-orphans", "--timeout", "20", check=False)


@pytest.mark.docker
def test_migrations_run_once_and_prometheus_scrapes_every_replica(deployment):
    migrate = deployment.compose("ps", "-q", "migrate").stdout.strip()
    assert inspect(migrate, "{{.State.Status}} {{.State.ExitCode}}") == "exited 0"
    assert inspect(migrate, "{{.RestartCount}}") == "0"
    for replica in REPLICAS:
        env = inspect(deployment.container(replica), "{{json .Config.Env}}")
        assert '"TRIAGE_MIGRATE_ON_START=false"' in env
    with psycopg.connect(deployment.database_url) as conn:
        assert conn.execute("SELECT count(*) FROM alembic_version").fetchone() == (1,)
        roles = conn.execute("SELECT role FROM api_keys WHERE revoked_at IS NULL").fetchall()
    assert ("metrics",) in roles

    expected = {f"127.0.0.1:{port}" for port in deployment.ports.values()}
    url = f"http://127.0.0.1:{deployment.prometheus_port}/api/v1"
    deadline, up = time.monotonic() + 60, {}
    while time.monotonic() < deadline:
        try:
            targets = httpx.get(f"{url}/targets", timeout=5).json()["data"]["activeTargets"]
        except httpx.TransportError:
            targets = []
        up = {t["labels"]["instance"]: (t["health"], t["lastError"]) for t in targets}
        if set(up) == expected and all(health == "up" for health, _ in up.values()):
            break
        time.sleep(1)
    assert set(up) == expected and all(health == "up" for health, _ in up.values()), up
    loaded = httpx.get(f"{url}/query", params={"query": "triage_model_loaded"}, timeout=5).json()
    assert {r["metric"]["instance"]: r["value"][1] for r in loaded["data"]["result"]} == {
        instance: "1" for instance in expected
    }


def _ingest(http: httpx.Client, key: str, ids: list[str]) -> dict[str, int]:
    items = [{"id": i, "community": COMMUNITY, "text": TEXTS[n % 4]} for n, i in enumerate(ids)]
    response = http.post("/v1/items", json={"items": items}, headers=_bearer(key))
    assert response.status_code == 200, response.text
    return {result["id"]: result["item_id"] for result in response.json()["results"]}


def _bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


@pytest.mark.docker
def test_the_same_item_claimed_through_two_replicas_goes_to_exactly_one(deployment):
    platform = deployment.key("claims-platform", "platform")
    moderators = {
        "ana": deployment.key("ana", "moderator"),
        "ben": deployment.key("ben", "moderator"),
    }
    with httpx.Client(base_url=deployment.base(REPLICAS[0]), timeout=30) as http:
        item_ids = _ingest(http, platform, [f"claim-{n}" for n in range(10)])
    winners = Counter()
    for item_id in item_ids.values():
        barrier, answers = threading.Barrier(2), {}

        def claim(
            name: str, replica: str, item_id: int = item_id, barrier=barrier, answers=answers
        ):
            with httpx.Client(base_url=deployment.base(replica), timeout=30) as http:
                http.get("/healthz")  # connect first, so both claims leave together
                barrier.wait()
                answers[name] = http.post(
                    f"/v1/items/{item_id}/events",
                    json={"type": "claim"},
                    headers=_bearer(moderators[name]),
                )

        threads = [
            threading.Thread(target=claim, args=("ana", REPLICAS[0])),
            threading.Thread(target=claim, args=("ben", REPLICAS[2])),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        statuses = sorted(answer.status_code for answer in answers.values())
        assert statuses == [201, 409], {n: a.text for n, a in answers.items()}
        (winner,) = [name for name, answer in answers.items() if answer.status_code == 201]
        loser = next(answer for answer in answers.values() if answer.status_code == 409)
        assert loser.json()["error"]["status"] == 409
        winners[winner] += 1
        with psycopg.connect(deployment.database_url) as conn:
            claims = conn.execute(
                "SELECT actor FROM events WHERE item_id = %s AND type = 'claim'", (item_id,)
            ).fetchall()
            claimed_by = conn.execute(
                "SELECT claimed_by FROM items WHERE id = %s", (item_id,)
            ).fetchone()
        assert claims == [(winner,)] and claimed_by == (winner,)
    print(f"\nclaims won: {dict(winners)}")


@dataclass
class Ledger:
    """What the clients know: ids answered 2xx (with their item_id), ids whose request was
    cut off (with the whole request), and error answers."""

    acked: dict[str, int] = field(default_factory=dict)
    cut_off: dict[str, list[dict]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _client(base: str, key: str, ledger: Ledger, prefix: str, stop: threading.Event) -> None:
    """Post batches of 1-4 new items until `stop` or a cut-off (the replica was killed)."""
    rng = random.Random(prefix)
    with httpx.Client(base_url=base, headers=_bearer(key), timeout=30) as http:
        sequence = 0
        while not stop.is_set():
            batch = []
            for _ in range(rng.randint(1, 4)):
                sequence += 1
                batch.append(
                    {
                        "id": f"{prefix}-{sequence}",
                        "community": COMMUNITY,
                        "text": rng.choice(TEXTS),
                    }
                )
            try:
                response = http.post("/v1/items", json={"items": batch})
            except httpx.TransportError:
                with ledger.lock:
                    ledger.cut_off.update({item["id"]: batch for item in batch})
                return
            with ledger.lock:
                if response.is_success:
                    for result in response.json()["results"]:
                        ledger.acked[result["id"]] = result["item_id"]
                else:
                    ledger.errors.append(f"{prefix} {response.status_code}: {response.text[:200]}")


def _stored(database_url: str) -> tuple[dict[str, list[int]], Counter, Counter]:
    """(external id -> item ids, `ingested` events per item id, items per scoring state) of the
    load's items."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT external_id, id, scoring_state FROM items "
            "WHERE community = %s AND external_id LIKE 'load-%%'",
            (COMMUNITY,),
        ).fetchall()
        events = conn.execute(
            "SELECT e.item_id, count(*) FROM events e JOIN items i ON i.id = e.item_id "
            "WHERE e.type = 'ingested' AND i.community = %s GROUP BY e.item_id",
            (COMMUNITY,),
        ).fetchall()
    by_id: dict[str, list[int]] = {}
    for external_id, item_id, _ in rows:
        by_id.setdefault(external_id, []).append(item_id)
    return by_id, Counter(dict(events)), Counter(state for *_, state in rows)


def _kill(container: str) -> None:
    """SIGKILL the replica's process from outside, as a crash would (Docker then restarts it:
    restart: unless-stopped). `docker kill` would count as a stop by hand, without restart."""
    pid = int(inspect(container, "{{.State.Pid}}"))
    if os.geteuid() == 0:
        os.kill(pid, 9)
    else:
        run("sudo", "kill", "-9", str(pid))


def _queue_ids(base: str, key: str) -> list[str]:
    ids, cursor = [], None
    with httpx.Client(base_url=base, headers=_bearer(key), timeout=30) as http:
        while True:
            params = {"limit": 200, "community": COMMUNITY}
            page = http.get(
                "/v1/queue", params={**params, **({"cursor": cursor} if cursor else {})}
            )
            assert page.status_code == 200, page.text
            ids.extend(
                item["id"] for item in page.json()["items"] if item["id"].startswith("load-")
            )
            cursor = page.json()["next_cursor"]
            if cursor is None:
                return sorted(ids)


@pytest.mark.docker
def test_ingest_through_every_replica_with_one_killed_loses_nothing_acknowledged(deployment):
    platform = deployment.key("load-platform", "platform")
    moderator = deployment.key("load-moderator", "moderator")
    victim = deployment.container(REPLICAS[1])
    restarts_before = int(inspect(victim, "{{.RestartCount}}"))
    ledger, stop = Ledger(), threading.Event()
    threads = [
        threading.Thread(
            target=_client,
            args=(deployment.base(replica), platform, ledger, f"load-{replica}-c{n}", stop),
        )
        for replica in REPLICAS
        for n in range(CLIENTS_PER_REPLICA)
    ]
    for thread in threads:
        thread.start()
    time.sleep(KILL_AFTER_S)
    acked_at_kill = len(ledger.acked)
    _kill(victim)
    time.sleep(LOAD_AFTER_KILL_S)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
        assert not thread.is_alive(), "a client hung"

    assert not ledger.errors, ledger.errors[:5]
    survivors = {f"load-{replica}" for replica in (REPLICAS[0], REPLICAS[2])}
    cut_at_survivor = [i for i in ledger.cut_off if i.rsplit("-c", 1)[0] in survivors]
    assert not cut_at_survivor, f"a replica that was not killed cut off: {cut_at_survivor[:5]}"
    by_replica = Counter(i.rsplit("-c", 1)[0] for i in ledger.acked)
    assert all(by_replica[f"load-{replica}"] > 0 for replica in REPLICAS), by_replica

    # Docker restarts the killed replica (a crash, not a stop), and it comes back healthy
    deadline = time.monotonic() + 60
    while int(inspect(victim, "{{.RestartCount}}")) == restarts_before:
        assert time.monotonic() < deadline, "the killed replica was not restarted"
        time.sleep(0.5)
    wait_healthy(victim)

    stored, ingested, _ = _stored(deployment.database_url)
    assert not {i: ids for i, ids in stored.items() if len(ids) > 1}, "stored twice"
    lost = sorted(set(ledger.acked) - set(stored))
    assert not lost, f"{len(lost)} acknowledged items lost: {lost[:10]}"
    assert all(stored[i] == [item_id] for i, item_id in ledger.acked.items())
    assert not set(stored) - set(ledger.acked) - set(ledger.cut_off), "stored but never sent"
    assert all(ingested[ids[0]] == 1 for ids in stored.values()), "!= 1 ingested event"

    # a cut-off request, sent again (to the restarted replica): stored whole or not at all
    # before, and never twice after
    batches = {tuple(item["id"] for item in batch): batch for batch in ledger.cut_off.values()}
    with httpx.Client(base_url=deployment.base(REPLICAS[1]), timeout=30) as http:
        for ids, batch in batches.items():
            present = [i in stored for i in ids]
            assert all(present) or not any(present), f"half a request stored: {ids}"
            response = http.post("/v1/items", json={"items": batch}, headers=_bearer(platform))
            assert response.status_code == 200, response.text
            for result in response.json()["results"]:
                assert result["created"] is not (result["id"] in stored)
                ledger.acked[result["id"]] = result["item_id"]

    deadline = time.monotonic() + 90
    while True:  # the retry loop scores what the kill left pending (or a timeout unscored)
        stored, ingested, states = _stored(deployment.database_url)
        if not (states["pending"] or states["unscored"]) or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert set(states) == {"scored"}, states
    assert set(stored) == set(ledger.acked) and all(len(ids) == 1 for ids in stored.values())
    listed = {replica: _queue_ids(deployment.base(replica), moderator) for replica in REPLICAS}
    assert all(ids == sorted(ledger.acked) for ids in listed.values()), {
        replica: len(ids) for replica, ids in listed.items()
    }
    print(
        f"\ningested {len(ledger.acked)} items through {len(REPLICAS)} replicas "
        f"({dict(by_replica)}); {acked_at_kill} before the kill; {len(batches)} requests cut "
        f"off and retried"
    )
