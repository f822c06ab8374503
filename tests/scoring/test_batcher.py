"""The micro-batcher: merges concurrent scoring calls, splits results back to their callers,
keeps errors with the request that caused them, and never changes a score."""

from __future__ import annotations

import threading
import time
from concurrent.futures import CancelledError, ThreadPoolExecutor

import pytest

from tests.conftest import bearer
from triage.scoring.micro_batcher import MicroBatcher
from triage.service.context import context_of


class Recorder:
    """A list function that remembers the size of every call and can be slowed down."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.calls: list[list[str]] = []
        self.delay_s = delay_s
        self.lock = threading.Lock()

    def __call__(self, items: list[str]) -> list[str]:
        with self.lock:
            self.calls.append(list(items))
        time.sleep(self.delay_s)
        if any(item.startswith("boom") for item in items):
            raise ValueError("boom in the batch")
        return [item.upper() for item in items]


def submit_together(batcher: MicroBatcher, fn, requests: list[list[str]]) -> list:
    """Submit every request from its own thread at (nearly) the same moment."""
    barrier = threading.Barrier(len(requests))

    def one(items: list[str]):
        barrier.wait()
        return batcher.submit(fn, items)

    with ThreadPoolExecutor(len(requests)) as pool:
        return list(pool.map(one, requests))


def test_concurrent_calls_are_merged_and_each_gets_its_own_results_in_order():
    fn = Recorder()
    batcher = MicroBatcher(window_s=0.05, max_items=1000)
    requests = [[f"r{n}-i{k}" for k in range(n % 3 + 1)] for n in range(12)]
    futures = submit_together(batcher, fn, requests)
    for items, future in zip(requests, futures, strict=True):
        assert future.result(timeout=5) == [item.upper() for item in items]
    assert len(fn.calls) < len(requests)  # merged
    assert sorted(i for call in fn.calls for i in call) == sorted(i for r in requests for i in r)
    batcher.shutdown()


def test_an_error_reaches_only_the_request_that_caused_it():
    fn = Recorder()
    batcher = MicroBatcher(window_s=0.05, max_items=1000)
    requests = [["a1", "a2"], ["boom"], ["c1"], ["d1", "d2", "d3"]]
    futures = submit_together(batcher, fn, requests)
    assert futures[0].result(timeout=5) == ["A1", "A2"]
    with pytest.raises(ValueError, match="boom"):
        futures[1].result(timeout=5)
    assert futures[2].result(timeout=5) == ["C1"]
    assert futures[3].result(timeout=5) == ["D1", "D2", "D3"]
    batcher.shutdown()


def test_a_wrong_number_of_results_is_an_error_not_a_shifted_answer():
    batcher = MicroBatcher(window_s=0.0, max_items=10)
    future = batcher.submit(lambda items: items[:-1], ["a", "b"])
    with pytest.raises(ValueError, match="1 results for 2 items"):
        future.result(timeout=5)
    batcher.shutdown()


def test_max_items_caps_a_batch():
    fn = Recorder(delay_s=0.05)
    batcher = MicroBatcher(window_s=0.5, max_items=4)
    futures = [batcher.submit(fn, [f"x{n}"]) for n in range(10)]
    assert [f.result(timeout=10) for f in futures] == [[f"X{n}"] for n in range(10)]
    assert max(len(call) for call in fn.calls) <= 4
    batcher.shutdown()


def test_a_lone_call_waits_at_most_the_window():
    fn = Recorder()
    batcher = MicroBatcher(window_s=0.02, max_items=64)
    started = time.monotonic()
    assert batcher.submit(fn, ["solo"]).result(timeout=5) == ["SOLO"]
    assert time.monotonic() - started < 0.5
    batcher.shutdown()


def test_calls_of_different_functions_are_not_merged():
    first, second = Recorder(delay_s=0.01), Recorder()
    batcher = MicroBatcher(window_s=0.05, max_items=100)
    futures = [batcher.submit(first if n % 2 else second, [str(n)]) for n in range(6)]
    assert [f.result(timeout=5) for f in futures] == [[str(n)] for n in range(6)]
    assert {i for call in first.calls for i in call} == {"1", "3", "5"}
    assert {i for call in second.calls for i in call} == {"0", "2", "4"}
    batcher.shutdown()


def test_shutdown_cancels_what_is_queued_and_refuses_new_work():
    gate, started = threading.Event(), threading.Event()
    batcher = MicroBatcher(window_s=0.0, max_items=1)
    running = batcher.submit(lambda items: (started.set(), gate.wait(5), items)[2], ["first"])
    assert started.wait(5)  # the worker is now inside the first call (a sleep was flaky under load)
    queued = batcher.submit(lambda items: items, ["second"])
    batcher.shutdown(wait=False, cancel_futures=True)
    gate.set()
    assert running.result(timeout=5) == ["first"]
    with pytest.raises(CancelledError):
        queued.result(timeout=5)
    with pytest.raises(RuntimeError, match="shut down"):
        batcher.submit(lambda items: items, ["late"])


def test_submit_needs_one_list():
    batcher = MicroBatcher(window_s=0.0, max_items=1)
    with pytest.raises(TypeError, match="one list"):
        batcher.submit(lambda a, b: a, [1], [2])
    batcher.shutdown()


@pytest.mark.parametrize("window, max_items", [(-1.0, 4), (0.0, 0)])
def test_bad_settings_are_refused(window, max_items):
    with pytest.raises(ValueError, match="must be"):
        MicroBatcher(window_s=window, max_items=max_items)


# --- in the service ---------------------------------------------------------------------------
@pytest.fixture()
def batching_client(settings, keys):
    from fastapi.testclient import TestClient

    from triage.service.app import create_app

    batching = settings.model_copy(
        update={"micro_batching": True, "batch_window_ms": 20.0, "scoring_timeout_s": 2.0}
    )
    # an unhandled error is a 500 answer here, as a caller sees it, not an exception
    app = create_app(batching)
    with TestClient(app, headers=bearer(keys["platform"]), raise_server_exceptions=False) as client:
        yield client


TEXTS = [
    "I wrote a goodbye note and I have the pills",
    "WIN a FREE prize, call now",
    "you are a pathetic idiot, shut up",
    "thanks for sharing, that helps",
    "I feel so hopeless and tired of everything",
    "see you at five then",
]


def test_merged_requests_get_exactly_the_scores_of_scoring_alone(batching_client):
    from triage.scoring.results import ScoreInput

    client = batching_client
    scorer = context_of(client.app).model.scorer
    alone = {
        str(n): scorer.score([ScoreInput(str(n), text)])[0].scores for n, text in enumerate(TEXTS)
    }
    bodies = [{"items": [{"id": str(n), "text": text}]} for n, text in enumerate(TEXTS)] * 3
    before = context_of(client.app).executor.batches
    barrier = threading.Barrier(len(bodies))

    def post(body):
        barrier.wait()
        return client.post("/v1/score", json=body)

    with ThreadPoolExecutor(len(bodies)) as pool:
        responses = list(pool.map(post, bodies))
    for body, response in zip(bodies, responses, strict=True):
        assert response.status_code == 200, response.text
        (result,) = response.json()["results"]
        assert result["id"] == body["items"][0]["id"]
        assert result["scores"] == alone[result["id"]]  # exact: each item runs alone
    assert context_of(client.app).executor.batches - before < len(bodies)


def test_batched_ingest_still_queues_unscored_on_failure_and_timeout(batching_client):
    client = batching_client
    scorer = context_of(client.app).model.scorer
    real = scorer.score

    def explode(items):
        raise RuntimeError("onnx blew up")

    def slow(items):
        time.sleep(3)
        return real(items)

    def ingest(item_id):
        body = {"items": [{"id": item_id, "text": "some words"}]}
        response = client.post("/v1/items", json=body)
        assert response.status_code == 200, response.text
        return response.json()["results"][0]

    scorer.score = explode
    assert ingest("fails")["scoring"] == "unscored"
    scorer.score = slow
    started = time.monotonic()
    assert ingest("slow")["scoring"] == "unscored"
    assert time.monotonic() - started < 2.9  # answered at the 2 s timeout
    scorer.score = real
    time.sleep(1.2)  # let the slow call finish before the next batch
    assert ingest("fine")["scoring"] == "scored"


def test_score_error_goes_to_the_request_that_caused_it(batching_client):
    client = batching_client
    scorer = context_of(client.app).model.scorer
    real = scorer.score

    def picky(items):
        if any("poison" in item.text for item in items):
            raise RuntimeError("cannot score this one")
        return real(items)

    scorer.score = picky
    bodies = [{"items": [{"id": "ok", "text": "a calm post"}]}] * 4
    bodies.insert(2, {"items": [{"id": "bad", "text": "poison"}]})
    barrier = threading.Barrier(len(bodies))

    def post(body):
        barrier.wait()
        return client.post("/v1/score", json=body)

    with ThreadPoolExecutor(len(bodies)) as pool:
        statuses = [r.status_code for r in pool.map(post, bodies)]
    assert statuses == [200, 200, 500, 200, 200]


# --- lanes: items of one call run at once, each still alone -------------------------------------
def test_lanes_keep_order_and_give_exactly_the_one_lane_scores(tiny_bundle):
    from triage.scoring.bundle import load_bundle
    from triage.scoring.results import ScoreInput
    from triage.scoring.scorer import OnnxScorer
    from triage.settings import Settings

    bundle, rules = load_bundle(tiny_bundle), Settings().tier_rules
    items = [ScoreInput(str(n), text) for n, text in enumerate(TEXTS * 3)]
    one_lane = OnnxScorer(bundle, rules, threads=1, evidence=True).score(items)
    two_lanes = OnnxScorer(bundle, rules, threads=1, evidence=True, lanes=2).score(items)
    assert [r.id for r in two_lanes] == [str(n) for n in range(len(items))]
    assert [r.scores for r in two_lanes] == [r.scores for r in one_lane]
    assert [r.evidence for r in two_lanes] == [r.evidence for r in one_lane]


def test_lanes_must_be_positive(tiny_bundle):
    from triage.scoring.bundle import load_bundle
    from triage.scoring.scorer import OnnxScorer
    from triage.settings import Settings

    with pytest.raises(ValueError, match="lanes must be >= 1"):
        OnnxScorer(load_bundle(tiny_bundle), Settings().tier_rules, lanes=0)
