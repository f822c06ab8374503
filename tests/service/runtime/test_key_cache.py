"""Verified API keys are remembered for Settings.key_cache_s seconds
(service/runtime/key_cache.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from tests.conftest import FakeClock, bearer
from triage.service.app import create_app
from triage.service.context import context_of
from triage.service.runtime.key_cache import VerifiedKeys
from triage.storage.database import Database
from triage.storage.keys import Principal, Role, list_keys, revoke_key

ALICE = Principal(1, "alice", Role.MODERATOR)
BOB = Principal(2, "bob", Role.MODERATOR)


def test_a_verified_key_is_remembered_until_it_expires():
    clock = FakeClock(0.0)
    cache = VerifiedKeys(ttl_s=10, clock=clock)
    assert cache.get("trg_a_secret") is None
    cache.put("trg_a_secret", ALICE)
    clock.now = 9.9
    assert cache.get("trg_a_secret") == ALICE
    assert cache.get("trg_a_other") is None
    clock.now = 10.0
    assert cache.get("trg_a_secret") is None


def test_the_cache_holds_digests_only_and_a_bounded_number():
    cache = VerifiedKeys(ttl_s=10, max_entries=2, clock=FakeClock())
    for n, principal in enumerate((ALICE, BOB, ALICE)):
        cache.put(f"trg_k{n}_secret", principal)
    assert cache.get("trg_k0_secret") is None  # the oldest went first
    assert cache.get("trg_k2_secret") == ALICE
    assert not any("secret" in name for name in cache._entries)


def test_ttl_zero_turns_the_cache_off():
    cache = VerifiedKeys(ttl_s=0)
    cache.put("trg_a_secret", ALICE)
    assert cache.get("trg_a_secret") is None


def _revoke(database_url: str, name: str) -> None:
    db = Database(database_url)
    with db.write() as session:
        key_id = next(k.id for k in list_keys(session) if k.name == name)
        revoke_key(session, key_id, datetime.now(UTC))
    db.dispose()


@pytest.mark.parametrize("ttl", [0.0, 300.0])
def test_revocation_applies_at_once_without_the_cache_and_after_ttl_with_it(
    settings, keys, ttl, monkeypatch
):
    from triage.service import deps

    lookups = []
    real = deps.verify_key
    monkeypatch.setattr(deps, "verify_key", lambda s, k: lookups.append(1) or real(s, k))
    app = create_app(settings.model_copy(update={"key_cache_s": ttl}))
    with TestClient(app, headers=bearer(keys["alice"])) as client:
        assert client.get("/v1/queue").status_code == 200
        assert client.get("/v1/queue").status_code == 200
        assert len(lookups) == (2 if ttl == 0 else 1)
        _revoke(settings.database_url, "alice")
        after = client.get("/v1/queue")
        if ttl == 0:
            assert after.status_code == 401
        else:
            assert after.status_code == 200  # the documented delay: up to key_cache_s
            context_of(app).verified_keys.clear()  # what the passing of key_cache_s does
            assert client.get("/v1/queue").status_code == 401
