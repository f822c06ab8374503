"""`triage rescore` throughput on Ray with 1 and 2 workers, and what 10 million posts cost.

    .venv/bin/python bench/rescore.py [--bundle models/triage-minilm] [--n 3000] [--workers 1,2]

Writes N posts to a JSONL file: a seeded sample of the test split written by `triage data
prepare` (data/prepared/test.jsonl: real posts and replies, of every length), or generated
texts where it is absent. Then runs the command's own path (triage.rescore.engine.run, into a
fresh folder each time) once per worker count: a local Ray started for the run with one CPU per
worker, one actor per worker, each with its own ONNX scorer on one thread, evidence on, Parquet
out. Per run it prints the wall time (starting Ray and loading the model included), lines/s end
to end, and the actors' own rate while they work (lines per busy actor-second).

Then it times `--write-back` of the last run into a fresh queue database (SQLite in the
temporary folder, or --database URL, e.g. an empty PostgreSQL database) that holds the same
posts with other scores: every item takes the new scores (a `rescored` event each), then a
rerun finds nothing to change.

The projection for 10 million posts uses the busy rate of one actor when every core of this
machine works (the run with as many workers as cores): core-hours, hours on N cores, and the
cost at --core-hour-price (an assumption to replace with your own price), plus Ray's start and
the model load once per run. It assumes the work spreads evenly, as the parts do here: each is
read, scored and written by one actor, and only a small summary per part reaches the driver.
"""

from __future__ import annotations

import sys

# bench/queue_views.py would shadow the standard library's queue (Ray and concurrent.futures use it)
sys.path = [p for p in sys.path if not p.endswith("bench")]

import argparse
import json
import os
import platform
import random
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from triage.domain.text import clean_text
from triage.paths import DEFAULT_BUNDLE, DEFAULT_PREPARED, PROJECT_ROOT
from triage.queue import store as queue
from triage.rescore.engine import RescoreJob, RunSummary, run
from triage.rescore.part_scorer import ScorerOptions, model_version_of
from triage.rescore.parts import read_output
from triage.rescore.writeback import thread_threshold, write_back
from triage.scoring.bundle import load_bundle
from triage.settings import Settings
from triage.storage.database import Database

POSTS = 10_000_000
CORES = (2, 16, 64, 256)
GENERATED = (
    "I have been feeling low for weeks and nothing helps",
    "free prize!!! call now to claim your cash",
    "nobody cares what you think, loser",
    "thanks everyone for the support today, it means a lot",
    "I wrote a note and I don't think I will be here tomorrow",
)


def write_posts(path: Path, source: Path, n: int, seed: int = 0) -> str:
    """N posts as score-file lines; which posts they are, in words."""
    if source.exists():
        rows = [json.loads(line) for line in source.read_text().splitlines() if line.strip()]
        sample = random.Random(seed).sample(rows, min(n, len(rows)))
        posts = [
            {"id": r["id"], "text": r["text"], "parent_text": r.get("parent_text")} for r in sample
        ]
        described = (
            f"{len(posts)} posts sampled from {source.relative_to(PROJECT_ROOT)} (seed {seed})"
        )
    else:
        rng = random.Random(seed)
        posts = [
            {
                "id": f"g{k}",
                "text": " ".join(rng.choice(GENERATED) for _ in range(rng.randint(1, 4))),
            }
            for k in range(n)
        ]
        described = f"{n} generated posts ({source} is absent)"
    path.write_text("".join(json.dumps(post) + "\n" for post in posts))
    return described


def report(workers: int, summary: RunSummary) -> None:
    busy = summary.lines_per_busy_second
    fixed = summary.seconds - summary.busy_seconds / summary.workers
    print(
        f"{workers} worker(s): {summary.lines} lines in {summary.seconds:5.1f} s = "
        f"{summary.lines_per_second:6.1f} lines/s end to end; while working "
        f"{busy:6.1f} lines/s per actor, {busy * summary.workers:6.1f} for all; fixed "
        f"{fixed:4.1f} s (Ray start {summary.ray_start_seconds:3.1f} s, the actors loading "
        f"the model, the last part); {summary.scored_parts} parts",
        flush=True,
    )


def time_write_back(source: Path, out: Path, url: str, bundle: Path, settings: Settings) -> None:
    db = Database(url)
    db.upgrade()
    posts = [json.loads(line) for line in source.read_text().splitlines()]
    old = queue.ModelView("old-model:0", {"self_harm": 0.0}, [], "green")
    now = datetime.now(UTC)
    for start in range(0, len(posts), 500):
        with db.write() as session:
            for post in posts[start : start + 500]:
                parent = clean_text(post["parent_text"])[0] if post.get("parent_text") else None
                new = queue.NewItem(
                    "bench", post["id"], clean_text(post["text"])[0], parent_text=parent
                )
                ((item, _),) = queue.ingest(session, [new], now, settings.tier_rules)
                queue.record_scores(session, item.id, old, settings.tier_rules, now)
    threshold = thread_threshold(load_bundle(bundle))
    for attempt in ("write-back", "rerun"):
        started = time.perf_counter()
        done = write_back(db, out, "bench", settings.tier_rules, threshold, alerts=None)
        seconds = time.perf_counter() - started
        print(
            f"{attempt} into {db.engine.dialect.name}: {done.records} lines in {seconds:5.1f} s = "
            f"{done.records / seconds:6.1f} items/s; {done.rescored} re-scored, "
            f"{done.unchanged} unchanged",
            flush=True,
        )
    db.dispose()


def project(per_core: float, fixed_seconds: float, price: float) -> None:
    core_hours = POSTS / per_core / 3600
    print(
        f"\n10,000,000 posts at {per_core:.1f} lines/s per core: {core_hours:,.0f} core-hours, "
        f"${core_hours * price:,.0f} at ${price}/core-hour"
    )
    print("| cores | hours | cost |")
    print("|---|---|---|")
    for cores in CORES:
        hours = core_hours / cores + fixed_seconds / 3600
        print(f"| {cores} | {hours:,.1f} | ${core_hours * price:,.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--bundle", type=Path, default=DEFAULT_BUNDLE)
    parser.add_argument("--data", type=Path, default=DEFAULT_PREPARED / "test.jsonl")
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--part-size", type=int, default=100)
    parser.add_argument("--workers", default="1,2", help="worker counts, comma-separated")
    parser.add_argument("--core-hour-price", type=float, default=0.05, help="USD (assumed)")
    parser.add_argument("--database", default=None, help="an empty queue database to write to")
    args = parser.parse_args()

    settings = Settings(bundle_dir=args.bundle)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; bundle {model_version_of(args.bundle)}, evidence "
        f"{'on' if settings.evidence else 'off'}"
    )
    scorer = ScorerOptions.of(settings)
    summaries: dict[int, RunSummary] = {}
    with tempfile.TemporaryDirectory(prefix="bench-rescore-") as folder:
        source = Path(folder) / "posts.jsonl"
        print(write_posts(source, args.data, args.n), flush=True)
        for workers in (int(w) for w in args.workers.split(",")):
            out = Path(folder) / f"out-{workers}"
            job = RescoreJob(
                source, out, scorer, part_size=args.part_size, workers=workers, progress=False
            )
            load = os.getloadavg()[0]
            summaries[workers] = run(job)
            report(workers, summaries[workers])
            print(f"  load average (1 min) before {load:.2f}, after {os.getloadavg()[0]:.2f}")
        outputs = [list(read_output(Path(folder) / f"out-{w}", "parquet")) for w in summaries]
        same = all(output == outputs[0] for output in outputs)
        print(f"every run wrote the same {len(outputs[0])} records: {'yes' if same else 'NO'}")
        url = args.database or f"sqlite:///{folder}/queue.db"
        last = Path(folder) / f"out-{max(summaries)}"
        time_write_back(source, last, url, args.bundle, settings)
    most = max(summaries)
    if len(summaries) > 1:
        least = min(summaries)
        speedup = summaries[most].lines_per_second / summaries[least].lines_per_second
        print(f"{most} workers against {least}: {speedup:.2f}x end to end")
    busiest = summaries[most]
    fixed = busiest.seconds - busiest.busy_seconds / busiest.workers
    project(busiest.lines_per_busy_second, max(fixed, 0.0), args.core_hour_price)


if __name__ == "__main__":
    main()
