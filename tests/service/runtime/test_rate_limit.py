"""Rate limits: a token bucket per API key (429 + Retry-After in the one error shape) and per
client address for console sign-in attempts."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from tests.conftest import FakeClock, bearer
from tests.service.api.test_service import assert_error_shape
from tests.service.console.test_console import HTML, csrf_of
from triage.service.runtime.ratelimit import MAX_BUCKETS, RateLimiter
from triage.settings import DEFAULT_RATE_LIMITS, RateLimit, Settings


def test_bucket_allows_a_burst_then_refills_at_the_rate():
    clock = FakeClock()
    limiter = RateLimiter(clock)
    assert [limiter.check("k", per_minute=6, burst=3) for _ in range(3)] == [0, 0, 0]
    assert limiter.check("k", 6, 3) == 10  # one token every 10 s
    clock.now += 4
    assert limiter.check("k", 6, 3) == 6  # refused requests take nothing
    clock.now += 6
    assert limiter.check("k", 6, 3) == 0
    assert limiter.check("other", 6, 3) == 0  # buckets are per caller
    clock.now += 3600
    assert [limiter.check("k", 6, 3) for _ in range(4)] == [0, 0, 0, 10]  # never above burst


def test_retry_after_is_whole_seconds_and_at_least_one():
    clock = FakeClock()
    limiter = RateLimiter(clock)
    limiter.check("k", per_minute=6000, burst=1)
    assert limiter.check("k", 6000, 1) == 1  # 10 ms to wait is still "retry in 1 s"


def test_idle_callers_are_forgotten_when_there_are_many():
    clock = FakeClock()
    limiter = RateLimiter(clock)
    for caller in range(MAX_BUCKETS):
        limiter.check(caller, 60, 1)
    clock.now += 2  # everyone has refilled
    limiter.check("busy", 60, 1)
    assert len(limiter) == 1


def test_settings_keep_defaults_for_roles_not_given():
    settings = Settings(rate_limits={"platform": {"per_minute": 5, "burst": 2}})
    assert settings.rate_limits["platform"] == RateLimit(per_minute=5, burst=2)
    assert settings.rate_limits["moderator"] == DEFAULT_RATE_LIMITS["moderator"]
    with pytest.raises(ValueError, match="burst"):
        Settings(rate_limits={"admin": {"per_minute": 5, "burst": 0}})


@pytest.fixture()
def limited(settings, keys):
    """A client whose moderator keys may make 2 requests, then 1 a minute."""
    from fastapi.testclient import TestClient

    from triage.service.app import create_app

    tight = settings.model_copy(
        update={
            "rate_limits": {**settings.rate_limits, "moderator": RateLimit(per_minute=1, burst=2)},
            "sign_in_rate": RateLimit(per_minute=1, burst=2),
            "secret_key": SecretStr("s" * 40),
        }
    )
    with TestClient(create_app(tight)) as client:
        yield client


def test_a_key_past_its_limit_gets_429_with_retry_after(limited, keys):
    alice, bob = bearer(keys["alice"]), bearer(keys["bob"])
    assert [limited.get("/v1/queue", headers=alice).status_code for _ in range(2)] == [200, 200]
    refused = limited.get("/v1/queue", headers=alice)
    error = assert_error_shape(refused, 429, "Authorization")
    assert error["code"] == "rate_limited"
    assert 55 <= int(refused.headers["retry-after"]) <= 60
    assert "1 requests a minute, 2 at once" in error["details"][0]["expected"]
    assert refused.headers["x-request-id"]
    assert limited.get("/v1/queue", headers=bob).status_code == 200  # per key, not global
    # another role's limit is its own: the platform key still scores
    ok = limited.post(
        "/v1/score", json={"items": [{"id": "a", "text": "hi"}]}, headers=bearer(keys["platform"])
    )
    assert ok.status_code == 200
    metrics = limited.get("/metrics", headers=bearer(keys["admin"])).text
    assert 'triage_rate_limited_total{limit="api_key"} 1.0' in metrics


def test_limits_can_be_turned_off(settings, keys):
    from fastapi.testclient import TestClient

    from triage.service.app import create_app

    off = settings.model_copy(
        update={
            "rate_limit_enabled": False,
            "rate_limits": {**settings.rate_limits, "moderator": RateLimit(per_minute=1, burst=1)},
        }
    )
    with TestClient(create_app(off), headers=bearer(keys["alice"])) as client:
        assert {client.get("/v1/queue").status_code for _ in range(4)} == {200}


def test_sign_in_attempts_are_limited_per_address(limited, keys):
    token = csrf_of(limited.get("/sign-in", headers=HTML).text)
    wrong = {"api_key": "trg_00000000_wrong", "csrf_token": token}
    assert limited.post("/sign-in", data=wrong, headers=HTML).status_code == 401
    assert limited.post("/sign-in", data=wrong, headers=HTML).status_code == 401
    # the third attempt is refused before the key is even looked at, right key or not
    right = {"api_key": keys["alice"], "csrf_token": token}
    page = limited.post("/sign-in", data=right, headers=HTML, follow_redirects=False)
    assert page.status_code == 429 and "oo many sign-in attempts" in page.text
    assert int(page.headers["retry-after"]) >= 1
    as_json = limited.post("/sign-in", data=right)
    assert assert_error_shape(as_json, 429, "api_key")["code"] == "rate_limited"
    # the API is not affected: it is limited per key
    assert limited.get("/v1/queue", headers=bearer(keys["alice"])).status_code == 200
