"""`triage rescore` (issue 15, point 3): bulk re-scoring on Ray Data, with a write-back.

The Ray tests run on a local Ray of 2 CPUs, started once for the module, and skip where the
`scale` extra (ray[data]) is not installed; the write-back, planning and import tests need no
Ray. Every run is compared with `triage score-file` on the same input: the same scores, tier,
priority... for every line, and the same error for every bad one.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import run_cli
from triage.domain.review import EventType, Outcome, ReviewEvent
from triage.queue import store as queue
from triage.scoring.score_file import FileScorer, load_scorer
from triage.settings import Settings
from triage.storage.database import Database
from triage.storage.tables import Event, Item

NOW = datetime.now(UTC).replace(microsecond=0)
RULES = Settings().tier_rules
OLD = queue.ModelView(
    "old-model:0.1", {"self_harm": 0.01, "distress": 0.01}, [], "green"
)  # what the queue holds before the new bundle ships
POSTS = [
    {"id": "p1", "text": "I want to end my life tonight. I wrote a note."},
    {"id": "p2", "text": "free prize!!! call now to claim your cash"},
    {"id": "p3", "text": "nobody cares what you think, loser", "parent_text": "I feel low"},
    {"id": "p4", "text": "see you at five, bring the cake"},
    {"id": "p5", "text": "I have been feeling low for weeks and nothing helps"},
    {"id": "p6", "text": "I cut myself again last night", "parent_text": "how are you?"},
    {"id": "p7", "text": "thanks everyone for the support today"},
]


def write_jsonl(path: Path, lines: list[object]) -> Path:
    path.write_text(
        "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n"
    )
    return path


def score_file(source: Path, out: Path, bundle: Path) -> list[dict]:
    run_cli("score-file", source, "--out", out, "--bundle", bundle)
    return [json.loads(line) for line in out.read_text().splitlines()]


def assert_same_as_score_file(rescored: list[dict], expected: list[dict]) -> None:
    """Every line has score-file's record, plus the model (and the digest, when scored)."""
    assert [r["line"] for r in rescored] == [r["line"] for r in expected]
    for got, want in zip(rescored, expected, strict=True):
        assert {key: got[key] for key in want} == want
        extra = {"model_version"} | (
            set() if "error" in want else {"text_digest", "tier_uncertain", "spam_withheld_by"}
        )
        assert set(got) - set(want) == extra


# --- Ray runs ---------------------------------------------------------------------------------
def test_a_run_stopped_with_ctrl_c_resumes_where_it_stopped(tiny_bundle, tmp_path):
    """The real command in its own process, interrupted as a person would (SIGINT) once a few
    parts are written: it stops its Ray, and the same command then scores only the rest.
    (Before the module's own Ray starts, so two are never up at once.)"""
    pytest.importorskip("ray", reason="the scale extra (ray[data]) is not installed")
    # Enough parts that the run cannot finish between the third part file and the signal, even
    # when Ray writes several parts at once on a busy machine (CI).
    total = 600
    posts = [{"id": f"s{n}", "text": f"post number {n}: I feel low today"} for n in range(total)]
    source, out = write_jsonl(tmp_path / "in.jsonl", posts), tmp_path / "out"
    command = [sys.executable, "-m", "triage.cli", "rescore", str(source), "--out", str(out)]
    command += ["--bundle", str(tiny_bundle), "--part-size", "1", "--workers", "1"]
    command += ["--format", "jsonl"]
    # A job started in the background by a non-interactive shell (`nohup .ci/run &`) inherits
    # SIGINT ignored, and Python then never raises KeyboardInterrupt: give the child the default.
    first = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 120
    while len(list(out.glob("part-*"))) < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    first.send_signal(signal.SIGINT)
    _, stderr = first.communicate(timeout=60)
    written = len(list(out.glob("part-*")))
    assert first.returncode != 0 and 3 <= written < total, stderr.decode()[-2000:]

    second = subprocess.run(command, capture_output=True, text=True, timeout=300)

    assert second.returncode == 0, second.stderr[-2000:]
    assert f"scored {total - written} parts" in second.stderr
    assert f"{written} of {total} parts were done before" in second.stderr
    from triage.rescore.parts import read_output

    expected = score_file(source, tmp_path / "score-file.jsonl", tiny_bundle)
    assert_same_as_score_file(list(read_output(out, "jsonl")), expected)


@pytest.fixture(scope="module")
def ray_local():
    ray = pytest.importorskip("ray", reason="the scale extra (ray[data]) is not installed")
    pytest.importorskip("pyarrow")
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        object_store_memory=128 * 1024**2,
        logging_level="WARNING",
    )
    yield ray
    ray.shutdown()


def rescore_job(tiny_bundle: Path, source: Path, out: Path, **options):
    from triage.rescore.engine import RescoreJob
    from triage.rescore.part_scorer import ScorerOptions

    scorer = ScorerOptions.of(Settings(bundle_dir=tiny_bundle))
    defaults = {"part_size": 3, "workers": 2, "progress": False}
    return RescoreJob(source, out, scorer, **{**defaults, **options})


def test_jsonl_lines_get_the_records_score_file_gives(ray_local, tiny_bundle, tmp_path):
    from triage.rescore.engine import run
    from triage.rescore.parts import read_output

    lines = [
        POSTS[0],
        "{not json",
        {"id": "p1", "text": "the same id again, in the same part"},
        "",  # blank lines are skipped, as by score-file
        {"id": "b", "text": "   "},
        *POSTS[1:],
        {"id": 7, "text": "an integer id", "parent_text": "I feel low"},
    ]
    source = write_jsonl(tmp_path / "in.jsonl", lines)
    summary = run(rescore_job(tiny_bundle, source, tmp_path / "out", output_format="jsonl"))

    assert (summary.parts, summary.scored_parts, summary.lines) == (4, 4, 11)
    assert summary.failed == 3 and summary.workers == 2
    rescored = list(read_output(tmp_path / "out", "jsonl"))
    expected = score_file(source, tmp_path / "score-file.jsonl", tiny_bundle)
    assert_same_as_score_file(rescored, expected)
    assert {r["model_version"] for r in rescored} == {"tiny-bundle:0.0.1-test"}
    assert sorted((tmp_path / "out").iterdir()) == [
        tmp_path / "out" / name
        for name in ("manifest.json", *(f"part-0000{n}.jsonl" for n in range(4)))
    ]


def test_parquet_in_and_out_give_the_same_records(ray_local, tiny_bundle, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from triage.rescore.engine import run
    from triage.rescore.parts import read_output

    rows = [*POSTS, {"id": "empty", "text": None}]
    table = pa.Table.from_pylist(
        [{"id": r["id"], "text": r["text"], "parent_text": r.get("parent_text")} for r in rows]
    )
    pq.write_table(table, tmp_path / "in.parquet", row_group_size=3)  # 3 row groups
    summary = run(rescore_job(tiny_bundle, tmp_path / "in.parquet", tmp_path / "out"))

    assert (summary.parts, summary.lines, summary.failed) == (3, 8, 1)
    parquet = pq.read_table(tmp_path / "out" / "part-00000.parquet")
    assert parquet.schema.field("scores").type.num_fields == 5  # one column per label
    rescored = list(read_output(tmp_path / "out", "parquet"))
    source = write_jsonl(tmp_path / "in.jsonl", rows)  # the same rows as lines
    expected = score_file(source, tmp_path / "score-file.jsonl", tiny_bundle)
    assert_same_as_score_file(rescored, expected)
    assert rescored[-1]["error"]["details"][0]["field"] == "text"


def test_an_interrupted_run_resumes_where_it_stopped(ray_local, tiny_bundle, tmp_path):
    from triage.rescore.engine import run
    from triage.rescore.parts import read_output

    more = [{**post, "id": f"q{post['id']}"} for post in POSTS[:3]]
    source = write_jsonl(tmp_path / "in.jsonl", [*POSTS, *more])  # 10 lines, 5 parts
    out = tmp_path / "out"
    first = run(rescore_job(tiny_bundle, source, out, part_size=2, max_parts=2))
    assert (first.parts, first.scored_parts, first.remaining) == (5, 2, 3)
    # as if the run had been killed while an actor was writing part 2
    (out / ".tmp-0123abcd-part-00002.parquet").write_bytes(b"PAR1 half a file")
    written = {path.name: path.stat().st_mtime_ns for path in out.glob("part-*")}

    second = run(rescore_job(tiny_bundle, source, out, part_size=2))

    assert (second.already_done, second.scored_parts, second.remaining) == (2, 3, 0)
    assert {name: (out / name).stat().st_mtime_ns for name in written} == written  # not redone
    assert not list(out.glob(".tmp-*"))
    rescored = list(read_output(out, "parquet"))
    expected = score_file(source, tmp_path / "score-file.jsonl", tiny_bundle)
    assert_same_as_score_file(rescored, expected)
    again = run(rescore_job(tiny_bundle, source, out, part_size=2))
    assert (again.already_done, again.scored_parts) == (5, 0)  # nothing left: Ray not used


def test_the_command_rescores_and_writes_back_to_sqlite(ray_local, tiny_bundle, tmp_path):
    url = f"sqlite:///{tmp_path / 'queue.db'}"
    db = Database(url)
    db.upgrade()
    ids = {post["id"]: put(db, post) for post in POSTS[:4]}
    source = write_jsonl(tmp_path / "in.jsonl", [*POSTS, {"id": "x"}])
    out = tmp_path / "out"
    args = ("rescore", source, "--out", out, "--bundle", tiny_bundle, "--workers", 2)
    args += ("--part-size", 4, "--write-back", "--community", "c", "--database", url)
    result = run_cli(*args)

    assert result.exit_code == 1, result.stderr  # the line without text
    assert "scored 2 parts (8 lines) with tiny-bundle:0.0.1-test on 2 workers" in result.stderr
    assert "1 of 8 lines failed" in result.stderr
    assert "write-back: 4 items re-scored and re-ranked" in result.stderr
    assert "3 of the 7 scored lines not in the queue" in result.stderr
    with db.read() as session:
        events = session.scalars(select(Event).where(Event.type == "rescored")).all()
        assert sorted(e.item_id for e in events) == sorted(ids.values())
    rerun = run_cli(*args)
    assert "scored 0 parts" in rerun.stderr and "2 of 2 parts were done before" in rerun.stderr
    assert "write-back: 0 items re-scored" in rerun.stderr
    assert "4 already had these scores" in rerun.stderr
    db.dispose()


def test_another_input_into_the_same_folder_is_refused(ray_local, tiny_bundle, tmp_path):
    source = write_jsonl(tmp_path / "in.jsonl", POSTS[:2])
    out = tmp_path / "out"
    args = ("rescore", source, "--out", out, "--bundle", tiny_bundle, "--workers", 1)
    assert run_cli(*args, "--format", "jsonl").exit_code == 0
    result = run_cli(*args, "--format", "parquet")

    assert result.exit_code == 1
    assert "holds the parts of another run (output_format 'jsonl' -> 'parquet')" in result.stderr


# --- write-back (no Ray: the run's parts are written in-process with the same code) ----------
def write_run(tiny_bundle: Path, source: Path, out: Path, part_size: int = 4) -> list[dict]:
    """What the Ray actors write, written in-process: the parts, in JSONL, and the manifest."""
    from triage.rescore.part_scorer import PartScorer, model_version_of
    from triage.rescore.parts import Manifest, open_output, plan_parts, read_output

    version = model_version_of(tiny_bundle)
    parts = plan_parts(source, part_size)
    open_output(out, Manifest.of(source, part_size, len(parts), version, "jsonl"))
    writer = PartScorer(load_scorer(Settings(bundle_dir=tiny_bundle)), out, "jsonl", version)
    for part in parts:
        writer.rescore(part)
    return list(read_output(out, "jsonl"))


def put(db: Database, post: dict, received: datetime = NOW) -> int:
    new = queue.NewItem("c", post["id"], post["text"], parent_text=post.get("parent_text"))
    with db.write() as session:
        ((item, _),) = queue.ingest(session, [new], received, RULES)
        queue.record_scores(session, item.id, OLD, RULES, received)
        return item.id


@pytest.fixture()
def db(database_url):
    database = Database(database_url)
    yield database
    database.dispose()


def stored(db: Database, item_id: int) -> Item:
    with db.read() as session:
        return session.get(Item, item_id)


def events_of(db: Database, item_id: int) -> list[Event]:
    with db.read() as session:
        return queue.history(session, item_id)


def test_write_back_rescores_and_reranks_open_items_only(db, tiny_bundle, tmp_path):
    from triage.rescore.writeback import write_back

    ids = {post["id"]: put(db, post) for post in POSTS}
    resolve = ReviewEvent(EventType.RESOLVE, "alice", Outcome.SUPPORTED)
    claim = ReviewEvent(EventType.CLAIM, "bob")
    with db.write() as session:
        queue.append_event(session, ids["p4"], resolve, NOW)
        queue.append_event(session, ids["p5"], claim, NOW)
        session.get(Item, ids["p7"]).text = "another text than the file's"
    source = write_jsonl(tmp_path / "in.jsonl", [*POSTS, {"id": "not-queued", "text": "hi"}])
    records = {r["id"]: r for r in write_run(tiny_bundle, source, tmp_path / "out")}

    done = write_back(db, tmp_path / "out", "c", RULES, None, batch_size=3, now=NOW, alerts=None)

    assert (done.records, done.rescored, done.resolved) == (8, 5, 1)
    assert (done.text_differs, done.not_in_queue, done.unchanged) == (1, 1, 0)
    for name in ("p1", "p2", "p3", "p5", "p6"):  # open, and claimed: not resolved
        item, record = stored(db, ids[name]), records[name]
        assert item.model_version == "tiny-bundle:0.0.1-test" and item.scores == record["scores"]
        assert (item.tier, item.flags, item.priority) == (
            record["tier"],
            record["flags"],
            record["priority"],  # no time has passed: the scorer's priority, unaged
        )
        assert item.tier_scores == record["tier_scores"]
        last = events_of(db, ids[name])[-1]
        assert (last.type, last.actor, last.actor_kind) == ("rescored", "triage", "system")
        assert "old-model:0.1" in last.note and "tiny-bundle:0.0.1-test" in last.note
        assert (last.model_version, last.tier, last.priority) == (
            "tiny-bundle:0.0.1-test",
            record["tier"],
            record["priority"],
        )
    assert stored(db, ids["p5"]).claimed_by == "bob"  # its review state is kept
    for name in ("p4", "p7"):  # resolved; text not the one scored
        item = stored(db, ids[name])
        assert (item.model_version, item.scores, item.tier) == (
            "old-model:0.1",
            OLD.scores,
            "green",
        )
        assert all(e.type != "rescored" for e in events_of(db, ids[name]))
    with db.read() as session:
        page = queue.list_queue(session, queue.QueueFilter(), limit=50)
    ranked = [item.external_id for item in page.items if item.external_id != "p7"]
    assert ranked == sorted(ranked, key=lambda name: (-records[name]["priority"], ids[name]))


def test_write_back_is_idempotent(db, tiny_bundle, tmp_path):
    from triage.rescore.writeback import write_back

    ids = [put(db, post) for post in POSTS[:3]]
    source = write_jsonl(tmp_path / "in.jsonl", POSTS[:3])
    write_run(tiny_bundle, source, tmp_path / "out")
    first = write_back(db, tmp_path / "out", "c", RULES, None, now=NOW, alerts=None)
    events = [len(events_of(db, item_id)) for item_id in ids]
    later = NOW + timedelta(minutes=5)

    second = write_back(db, tmp_path / "out", "c", RULES, None, now=later, alerts=None)

    assert (first.rescored, second.rescored, second.unchanged) == (3, 0, 3)
    assert [len(events_of(db, item_id)) for item_id in ids] == events


def test_an_item_the_service_scored_with_the_same_bundle_is_unchanged(db, tiny_bundle, tmp_path):
    """The service's scores and the rescore's agree exactly: nothing to write back."""
    from triage.queue.ingest import model_view
    from triage.rescore.writeback import write_back
    from triage.scoring.results import ScoreInput

    scorer = load_scorer(Settings(bundle_dir=tiny_bundle))
    ids = []
    for post in POSTS:
        new = queue.NewItem("c", post["id"], post["text"], parent_text=post.get("parent_text"))
        (result,) = scorer.score([ScoreInput("x", post["text"], post.get("parent_text"))])
        with db.write() as session:
            ((item, _),) = queue.ingest(session, [new], NOW, RULES)
            queue.record_scores(session, item.id, model_view(scorer, result), RULES, NOW)
            ids.append(item.id)
    source = write_jsonl(tmp_path / "in.jsonl", POSTS)
    write_run(tiny_bundle, source, tmp_path / "out")

    done = write_back(db, tmp_path / "out", "c", RULES, None, now=NOW, alerts=None)

    assert (done.rescored, done.unchanged) == (0, len(POSTS))


# --- write-back alerts: an item a new bundle raises to crisis (or red) alerts as at ingest ----
HOOK_SECRET = "s" * 40
NEW_TIERS = {"p1": "crisis", "p2": "red", "p3": "crisis", "p4": "crisis", "p5": "amber"}
NEW_TIERS |= {"p6": "crisis", "p7": "crisis"}


def with_tiers(out: Path, tiers: dict[str, str]) -> None:
    """The run's one part, with the tiers the new bundle is to give (the tiny bundle's own are
    whatever its few training steps made them); text digests and the rest stay as scored."""
    from triage.rescore.parts import read_output, write_part

    records = [{**r, "tier": tiers.get(r["id"], r["tier"])} for r in read_output(out, "jsonl")]
    write_part(out, 0, records, "jsonl")


def backlog_before_the_new_bundle(db: Database) -> dict[str, int]:
    """p1, p2, p5: green; p3 crisis and p4 red already (no alert recorded for either, so only
    the write-back's own rule keeps p3 quiet; p4 is raised to crisis); p6 resolved; p7
    unscored, the scorer failed."""
    ids = {post["id"]: put(db, post) for post in POSTS[:6]}
    with db.write() as session:
        unscored = queue.NewItem("c", POSTS[6]["id"], POSTS[6]["text"])
        ((item, _),) = queue.ingest(session, [unscored], NOW, RULES)
        ids[POSTS[6]["id"]] = item.id
        for name, tier in (("p3", "crisis"), ("p4", "red")):
            view = queue.ModelView("old-model:0.1", {"self_harm": 0.9}, ["self_harm"], tier)
            queue.record_scores(session, ids[name], view, RULES, NOW)
        resolve = ReviewEvent(EventType.RESOLVE, "alice", Outcome.SUPPORTED)
        queue.append_event(session, ids["p6"], resolve, NOW)
        queue.record_failure(session, ids["p7"], "the scorer failed: RuntimeError", RULES, NOW)
    return ids


def alerts_recorded(db: Database) -> set[tuple[int, str]]:
    from triage.storage.tables import WebhookDelivery

    with db.read() as session:
        return {(d.item_id, d.condition) for d in session.scalars(select(WebhookDelivery))}


def test_write_back_alerts_for_items_newly_raised_to_crisis_or_red(
    db, tiny_bundle, tmp_path, caplog
):
    import logging

    from triage.queue.alerts import Webhooks
    from triage.rescore.writeback import write_back
    from triage.storage import webhooks as store

    settings = Settings(
        webhook_urls=["http://127.0.0.1:9/hook"],
        webhook_secret=HOOK_SECRET,
        webhook_on=["crisis", "red"],
    )
    sent = []

    def transport(request):
        sent.append(request)
        return store.AttemptResult(200, None)

    webhooks = Webhooks(settings, db, transport=transport)
    webhooks.start()
    ids = backlog_before_the_new_bundle(db)
    source = write_jsonl(tmp_path / "in.jsonl", POSTS)
    write_run(tiny_bundle, source, tmp_path / "out", part_size=len(POSTS))
    with_tiers(tmp_path / "out", NEW_TIERS)

    with caplog.at_level(logging.DEBUG):
        done = write_back(db, tmp_path / "out", "c", RULES, None, now=NOW, alerts=webhooks)
        again = write_back(db, tmp_path / "out", "c", RULES, None, now=NOW, alerts=webhooks)
        assert webhooks.deliver_due() == 4

    assert (done.rescored, done.resolved, again.rescored) == (6, 1, 0)
    assert (done.raised_to_urgent, again.raised_to_urgent) == (4, 0)
    # raised from green, unscored or red: not p3 (crisis already), p5 (amber), p6 (resolved)
    raised = {(ids["p1"], "crisis"), (ids["p2"], "red"), (ids["p4"], "crisis")}
    raised |= {(ids["p7"], "crisis")}
    assert alerts_recorded(db) == raised  # once each, the rerun adding none
    assert webhooks.deliver_due() == 0
    by_item = {json.loads(r.body)["item"]["id"]: r for r in sent}
    for item_id, condition in raised:
        request = by_item[item_id]
        payload = json.loads(request.body)
        assert request.headers["X-Triage-Event"] == payload["event"] == condition
        # the payload ingest's alerts carry: the same code builds it, from the stored item
        expected = json.loads(json.dumps(webhooks.item_payload(stored(db, item_id))))
        assert payload["item"] == expected and "text" not in payload["item"]
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    bodies = b"".join(r.body for r in sent).decode()
    for post in POSTS:
        assert post["text"] not in logged and post["text"] not in bodies


@pytest.mark.parametrize("webhooks", [True, False], ids=["webhooks", "no-webhooks"])
def test_the_command_writes_back_with_the_services_alerts(
    tiny_bundle, tmp_path, monkeypatch, webhooks
):
    """`triage rescore --write-back` records its alerts with TRIAGE_WEBHOOK_* as the service
    reads them; the service's senders deliver them. Without webhook URLs it says that no alert
    was recorded. The run's parts are written already, so the command starts no Ray."""
    pytest.importorskip("ray", reason="the scale extra (ray[data]) is not installed")
    url = f"sqlite:///{tmp_path / 'queue.db'}"
    db = Database(url)
    db.upgrade()
    ids = backlog_before_the_new_bundle(db)
    source = write_jsonl(tmp_path / "in.jsonl", POSTS)
    out = tmp_path / "out"
    write_run(tiny_bundle, source, out, part_size=len(POSTS))
    with_tiers(out, NEW_TIERS)
    if webhooks:
        monkeypatch.setenv("TRIAGE_WEBHOOK_URLS", "http://127.0.0.1:9/hook")
        monkeypatch.setenv("TRIAGE_WEBHOOK_SECRET", HOOK_SECRET)
    else:
        monkeypatch.delenv("TRIAGE_WEBHOOK_URLS", raising=False)
    monkeypatch.delenv("TRIAGE_WEBHOOK_ON", raising=False)
    args = ("rescore", source, "--out", out, "--bundle", tiny_bundle, "--format", "jsonl")
    args += ("--part-size", len(POSTS), "--write-back", "--community", "c", "--database", url)

    result = run_cli(*args)

    assert result.exit_code == 0, result.stderr
    assert "scored 0 parts" in result.stderr and "write-back: 6 items re-scored" in result.stderr
    if webhooks:
        assert "4 items raised to crisis or red; alerts recorded for the tiers" in result.stderr
        # TRIAGE_WEBHOOK_ON's default has crisis, not red: p2 does not alert here
        assert alerts_recorded(db) == {(ids[p], "crisis") for p in ("p1", "p4", "p7")}
    else:
        assert "4 items raised to crisis or red; no webhook alert recorded" in result.stderr
        assert alerts_recorded(db) == set()
    db.dispose()


def test_a_rescored_event_is_a_system_event():
    from triage.domain.review import MODERATOR_EVENTS, SYSTEM_EVENTS

    assert EventType.RESCORED in SYSTEM_EVENTS and EventType.RESCORED not in MODERATOR_EVENTS
    with pytest.raises(ValueError, match="system event"):
        queue.append_event(None, 1, ReviewEvent(EventType.RESCORED, "alice"), NOW)  # type: ignore[arg-type]


# --- parts, manifest, imports ----------------------------------------------------------------
def test_jsonl_parts_count_non_blank_lines_and_keep_line_numbers(tmp_path):
    from triage.rescore.parts import plan_parts, read_part

    source = write_jsonl(tmp_path / "in.jsonl", [POSTS[0], "", POSTS[1], "  ", POSTS[2]])
    parts = plan_parts(source, 2)

    assert [(p.first_line, p.rows) for p in parts] == [(1, 2), (5, 1)]
    assert [[e.number for e in read_part(p)] for p in parts] == [[1, 3], [5]]


def test_parquet_parts_are_whole_row_groups(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    from triage.rescore.parts import plan_parts, read_part

    folder = tmp_path / "in"
    folder.mkdir()
    for n, chunk in enumerate((POSTS[:5], POSTS[5:])):
        rows = [{"id": p["id"], "text": p["text"]} for p in chunk]
        pq.write_table(pa.Table.from_pylist(rows), folder / f"{n}.parquet", row_group_size=2)
    parts = plan_parts(folder, 3)

    assert [(Path(p.path).name, p.first_line, p.rows) for p in parts] == [
        ("0.parquet", 1, 4),
        ("0.parquet", 5, 1),
        ("1.parquet", 6, 2),
    ]
    assert [e.item.id for p in parts for e in read_part(p)] == [p["id"] for p in POSTS]


def test_a_folder_of_another_run_is_refused(tmp_path):
    from triage.rescore.parts import Manifest, RescoreError, open_output

    source = write_jsonl(tmp_path / "in.jsonl", POSTS)
    open_output(tmp_path / "out", Manifest.of(source, 4, 2, "m:1", "jsonl"))
    open_output(tmp_path / "out", Manifest.of(source, 4, 2, "m:1", "jsonl"))  # the same: fine
    with pytest.raises(RescoreError, match="model_version 'm:1' -> 'm:2'"):
        open_output(tmp_path / "out", Manifest.of(source, 4, 2, "m:2", "jsonl"))


def test_without_ray_the_command_names_the_extra(tmp_path, monkeypatch, tiny_bundle):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails, as if not installed
    monkeypatch.setitem(sys.modules, "ray.data", None)
    source = write_jsonl(tmp_path / "in.jsonl", POSTS[:1])
    result = run_cli("rescore", source, "--out", tmp_path / "out", "--bundle", tiny_bundle)

    assert result.exit_code == 1
    assert "pip install 'triage[scale]'" in result.stderr


def test_the_service_and_the_cli_do_not_import_ray(tiny_bundle, tmp_path):
    code = (
        "import sys; from click.testing import CliRunner; from triage.cli.main import main;"
        "assert CliRunner().invoke(main, ['rescore', '--help']).exit_code == 0;"
        "import triage.scoring.score_file, triage.rescore.writeback, triage.rescore.parts;"
        "from triage.service.app import create_app; from triage.settings import Settings;"
        f"create_app(Settings(bundle_dir={str(tiny_bundle)!r},"
        f" database_url='sqlite:///{tmp_path / 'q.db'}'));"
        "print([m for m in sys.modules if m.split('.')[0] == 'ray'])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_file_scorer_records_are_what_score_file_writes(tiny_bundle, tmp_path):
    """The refactor rescore relies on: FileScorer.records() and write() give the same lines."""
    import io

    from triage.scoring.score_file import read_lines

    source = write_jsonl(tmp_path / "in.jsonl", [*POSTS, "{bad"])
    scorer = load_scorer(Settings(bundle_dir=tiny_bundle))
    out = io.StringIO()
    FileScorer(scorer, out).write(list(read_lines(source)))
    records = FileScorer(scorer).records(list(read_lines(source)))

    assert [json.loads(line) for line in out.getvalue().splitlines()] == records


def test_the_console_history_reads_a_rescored_event():
    from types import SimpleNamespace

    from triage.service.console.decision_context import event_words

    event = SimpleNamespace(
        type="rescored", actor="triage", created_at=NOW, tier="red", model_version="m:2"
    )
    assert event_words(event, NOW).startswith("Re-scored red by m:2 ")


def test_write_back_reads_tier_uncertain_and_falls_back_to_the_reason_in_older_runs():
    from triage.domain.priority import UNCERTAIN_REASON
    from triage.rescore.writeback import tier_uncertain

    assert tier_uncertain({"tier_uncertain": True, "reasons": []})
    assert not tier_uncertain({"tier_uncertain": False, "reasons": [UNCERTAIN_REASON]})
    assert tier_uncertain({"reasons": ["x", UNCERTAIN_REASON]})  # written before the field
    assert not tier_uncertain({"tier_uncertain": None, "reasons": ["x"]})  # no value


def test_write_back_keeps_the_crisis_resource_reason(db):
    """A rescored item that shares a crisis resource shows the reason the scorer gave, also
    from a run written before `spam_withheld_by` was recorded (read from its reasons)."""
    from triage.domain.priority import crisis_resource_reason
    from triage.rescore.writeback import model_view, spam_withheld_by

    reason = crisis_resource_reason("Samaritans")
    assert spam_withheld_by({"spam_withheld_by": "Samaritans", "reasons": []}) == "Samaritans"
    assert spam_withheld_by({"spam_withheld_by": None, "reasons": [reason]}) is None
    assert spam_withheld_by({"reasons": ["tier green", reason]}) == "Samaritans"
    assert spam_withheld_by({"reasons": ["tier green"]}) is None
    record = {
        "model_version": "new-model:0.2",
        "scores": {"self_harm": 0.01, "spam": 0.9},
        "flags": [],
        "tier": "green",
        "evidence": [],
        "language": "en",
        "language_unsupported": False,
        "tier_uncertain": False,
        "spam_withheld_by": "Samaritans",
        "reasons": [reason],
    }
    item_id = put(db, {"id": "r1", "text": "call Samaritans on 116 123"})
    with db.write() as session:
        assert queue.record_rescore(session, item_id, model_view(record), RULES, NOW)
        assert queue.record_rescore(session, item_id, model_view(record), RULES, NOW) is None
    assert stored(db, item_id).priority_reasons[-1] == reason
