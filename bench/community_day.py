"""A community's day through the real queue: minutes until each crisis and red post is first
opened by a moderator, with triage's ranking and with a chronological queue.

    .venv/bin/python bench/community_day.py [--bundle models/triage-minilm] [--data data/prepared]
        [--seed 0] [--runs 5] [--days 1] [--posts-per-day 1500] [--urgent-rate 0.01]
        [--moderators 1] [--shifts 8-24] [--capacity 12] [--diurnal flat|evening] [--json]

The posts are real held-out posts: the test split written by `triage data prepare` (never
train or dev), drawn by their annotated tier (docs/annotation/self_harm_tiers.md):
- crisis, red: test posts annotated crisis or red;
- amber: test posts annotated amber, and unannotated ones with distress 1 and self_harm 0;
- green: test posts annotated green, and unannotated ones with self_harm 0 and distress 0 (any
  source; replies keep their parent_text).
An unannotated post counts only when its self_harm label is known to be 0: IRF's distress posts
(no self_harm label) come from r/depression and r/SuicideWatch, so some would be red. Unannotated
self-harm posts are left out too (their tier is not known), and so are posts with neither label
(hostile, spam and corumination sources).

Each run draws a stream: Poisson arrivals over each day (flat, or `--diurnal evening`: a cosine
peaking at 22:00, half again the mean rate, half the mean at 10:00), each arrival's tier drawn
at the base rates, then a post of that tier (each pool is shuffled and used in turn, so a post
repeats only once its pool is used up). Every drawn post is scored once with the bundle's real
OnnxScorer (its thresholds, configs/tiers.yaml; evidence off: it does not change the rank),
cached in data/cache/community_day/ by model (and scoring code) and row id, so a rerun
scores nothing.

The stream then goes through the real queue code on a fresh SQLite database, in simulated time:
each post is ingested and its scores recorded (queue.ingest, queue.record_scores) at its arrival
minute; priorities age as the background job re-ranks them (ranking.refresh_priorities every
--rerank-interval-s of simulated time); a moderator on shift who is free takes the top of the
queue (queue.list_queue, or the oldest waiting item for the chronological queue), claims it
(a post is "opened" then) and resolves it 60/--capacity minutes later. Both queues see the same
stream and the same moderators. The figures: median, p90 and max minutes from arrival to first
open, the share opened within the tier's SLA (configs/tiers.yaml: crisis 15, red 60 minutes)
and the share never opened by the end of the last day, pooled over the runs; and the model's
misses (crisis and red posts it tiered green: the ranking cannot help those).

Assumptions, not measurements (change them with the options): 1,500 posts a day, 1% of them
crisis or red (the issue's figure), 20% of those crisis (about the ratio among the annotated
posts: 24 crisis to 99 red in test, not a base rate anyone measured), 15% amber; one moderator
from 08:00 to 24:00 opening 12 posts an hour (5 minutes a post). Nothing here is tuned on the
test split: thresholds and tier cuts are the bundle's, fitted on dev.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this folder comes first on the import path, where bench/queue_views.py would
# shadow the standard library's `queue` (which concurrent.futures imports).
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

import argparse  # noqa: E402
import hashlib
import heapq
import json
import logging
import math
import os
import platform
import random
import statistics
import tempfile
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy import select, true
from sqlalchemy.orm import Session

from triage.domain.review import EventType, Outcome, ReviewEvent
from triage.domain.tier_rules import TierRules
from triage.paths import DEFAULT_BUNDLE, DEFAULT_CACHE, DEFAULT_PREPARED, PROJECT_ROOT
from triage.queue import ranking
from triage.queue import store as queue
from triage.settings import Settings
from triage.storage.database import Database
from triage.storage.tables import Item
from triage.training.data.rows import Row

log = logging.getLogger("community_day")

Policy = Literal["triage", "chronological"]
POLICIES: tuple[Policy, ...] = ("triage", "chronological")
URGENT_TIERS = ("crisis", "red")
GROUPS = {"crisis": ("crisis",), "red": ("red",), "crisis+red": URGENT_TIERS}
MINUTES_PER_DAY = 24 * 60
START = datetime(2026, 12, 6, tzinfo=UTC)  # midnight of the first simulated day
COMMUNITY = "community-day"
COMMUNITY_DAY_CACHE = DEFAULT_CACHE / "community_day"
DIURNAL_PEAK_HOUR = 22.0
DIURNAL_AMPLITUDE = 0.5
SCORE_CHUNK = 256
# The code between the model's outputs and a post's tier and stored view: a change to any of it
# makes a new cache file, so cached views never outlive the rules that made them.
SCORING_CODE = tuple(
    PROJECT_ROOT / "triage" / name
    for name in (
        "scoring/scorer.py",
        "scoring/session.py",
        "scoring/probabilities.py",
        "scoring/decision.py",
        "scoring/evidence.py",
        "scoring/results.py",
        "domain/tiers.py",
        "domain/tier_rules.py",
        "domain/priority.py",
        "domain/calibration.py",
        "scoring/bundle.py",
        "domain/labels.py",
        "scoring/language.py",
        "scoring/encoding.py",
        "domain/text.py",
        "queue/ingest.py",
    )
)


# --- moderators ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Shift:
    """Hours of the day one moderator works, every day; an end before the start crosses
    midnight ("22-6")."""

    start_hour: float
    end_hour: float

    @classmethod
    def parse(cls, text: str) -> Shift:
        start, _, end = text.partition("-")
        try:
            shift = cls(float(start), float(end))
        except ValueError:
            raise ValueError(f"a shift looks like 8-24, found {text!r}") from None
        if not (0 <= shift.start_hour < 24 and 0 < shift.end_hour <= 24) or (
            shift.start_hour == shift.end_hour
        ):
            raise ValueError(f"a shift's hours are 0-24 and differ, found {text!r}")
        return shift

    def window(self, day: int) -> tuple[float, float]:
        """[start, end) minute of the shift that starts on `day`."""
        start = day * MINUTES_PER_DAY + self.start_hour * 60
        end = day * MINUTES_PER_DAY + self.end_hour * 60
        return start, end if end > start else end + MINUTES_PER_DAY

    def next_on(self, minute: float) -> float:
        """The first minute at or after `minute` at which this moderator is on shift."""
        day = math.floor(minute / MINUTES_PER_DAY)
        for candidate in (day - 1, day, day + 1):
            start, end = self.window(candidate)
            if end > minute:
                return max(start, minute)
        raise AssertionError("a shift recurs every day")  # pragma: no cover


@dataclass(frozen=True)
class Staffing:
    shifts: tuple[Shift, ...]  # one per moderator
    per_hour: float  # posts a moderator opens (and resolves) an hour

    @property
    def minutes_per_post(self) -> float:
        return 60.0 / self.per_hour


# --- the stream ------------------------------------------------------------------------------
@dataclass(frozen=True)
class StreamPost:
    key: str  # unique in the stream (the queue's external id): a row may be drawn twice
    row_id: str
    text: str
    parent_text: str | None
    tier: str  # the annotated (true) tier
    minute: float  # arrival, minutes since START


@dataclass(frozen=True)
class BaseRates:
    urgent: float = 0.01  # crisis + red
    crisis_share: float = 0.2  # of the urgent posts
    amber: float = 0.15

    def tier_for(self, draw: float) -> str:
        if draw < self.urgent * self.crisis_share:
            return "crisis"
        if draw < self.urgent:
            return "red"
        return "amber" if draw < self.urgent + self.amber else "green"


def true_tier(row: Row) -> str | None:
    """The tier a test post stands for in the stream, or None when it is not known."""
    annotated = row.annotation.tier if row.annotation else None
    if annotated:
        return annotated
    if row.labels.get("self_harm") != 0:
        return None  # self-harm content, or not known: red or crisis may hide here
    return {1: "amber", 0: "green"}.get(row.labels.get("distress"))


def tier_pools(rows: Iterable[Row]) -> dict[str, list[Row]]:
    pools: dict[str, list[Row]] = {tier: [] for tier in ("crisis", "red", "amber", "green")}
    for row in rows:
        tier = true_tier(row)
        if tier is not None:
            pools[tier].append(row)
    return pools


def arrival_minutes(rng: random.Random, per_day: float, days: int, diurnal: bool) -> list[float]:
    """A Poisson process over `days` days, thinned to the diurnal curve when asked."""
    peak = 1 + DIURNAL_AMPLITUDE if diurnal else 1.0
    rate = per_day * peak / MINUTES_PER_DAY
    minutes, minute = [], rng.expovariate(rate)
    while minute < days * MINUTES_PER_DAY:
        if not diurnal or rng.random() * peak <= diurnal_factor(minute):
            minutes.append(minute)
        minute += rng.expovariate(rate)
    return minutes


def diurnal_factor(minute: float) -> float:
    """Relative arrival rate at a minute of the day; 1 on average over the day."""
    hour = (minute / 60) % 24
    return 1 + DIURNAL_AMPLITUDE * math.cos(2 * math.pi * (hour - DIURNAL_PEAK_HOUR) / 24)


class Deck:
    """Each pool shuffled and dealt in turn; reshuffled when it runs out."""

    def __init__(self, pools: Mapping[str, Sequence[Row]], rng: random.Random) -> None:
        self.pools, self.rng = pools, rng
        self.dealt: dict[str, list[Row]] = {tier: [] for tier in pools}

    def deal(self, tier: str) -> Row:
        if not self.pools[tier]:
            raise ValueError(f"no {tier} posts in the test split to draw from")
        if not self.dealt[tier]:
            self.dealt[tier] = list(self.pools[tier])
            self.rng.shuffle(self.dealt[tier])
        return self.dealt[tier].pop()


def draw_stream(
    pools: Mapping[str, Sequence[Row]],
    rates: BaseRates,
    seed: int,
    per_day: float,
    days: int,
    diurnal: bool = False,
) -> list[StreamPost]:
    rng = random.Random(seed)
    deck = Deck(pools, rng)
    stream = []
    for n, minute in enumerate(arrival_minutes(rng, per_day, days, diurnal)):
        tier = rates.tier_for(rng.random())
        row = deck.deal(tier)
        stream.append(StreamPost(f"{n}:{row.id}", row.id, row.text, row.parent_text, tier, minute))
    return stream


# --- the simulation --------------------------------------------------------------------------
def at(minute: float) -> datetime:
    return START + timedelta(minutes=minute)


class SimulatedQueue:
    """The real queue code on one database, driven at simulated times."""

    def __init__(
        self, db: Database, policy: Policy, rules: TierRules, rerank_interval_s: float
    ) -> None:
        self.db, self.policy, self.rules = db, policy, rules
        self.rerank_minutes = rerank_interval_s / 60
        self.reranked_at = -math.inf
        self.post_of_item: dict[int, str] = {}

    def arrive(self, post: StreamPost, view: queue.ModelView) -> None:
        now = at(post.minute)
        new = queue.NewItem(COMMUNITY, post.key, post.text, parent_text=post.parent_text)
        with self.db.write() as session:
            ((item, _created),) = queue.ingest(session, [new], now, self.rules)
            queue.record_scores(session, item.id, view, self.rules, now)
            self.post_of_item[item.id] = post.key

    def open_next(self, moderator: str, minute: float, minutes_per_post: float) -> str | None:
        """Claim the item this queue puts first and resolve it after the service time;
        returns its post's key, or None when nothing is waiting."""
        self._rerank(minute)
        with self.db.write() as session:
            item_id = self._first(session)
            if item_id is None:
                return None
            claim = ReviewEvent(EventType.CLAIM, moderator)
            queue.append_event(session, item_id, claim, at(minute))
            # resolved now, dated at the end of the service time: while claimed it is out of
            # the queue either way, and nobody else reads it before then
            resolve = ReviewEvent(EventType.RESOLVE, moderator, outcome=Outcome.NO_ACTION)
            queue.append_event(session, item_id, resolve, at(minute + minutes_per_post))
        return self.post_of_item[item_id]

    def _first(self, session: Session) -> int | None:
        if self.policy == "triage":
            page = queue.list_queue(session, queue.QueueFilter(), limit=1)
            return page.items[0].id if page.items else None
        oldest = select(Item.id).where(Item.waiting == true())
        return session.scalar(oldest.order_by(Item.received_at, Item.id).limit(1))

    def _rerank(self, minute: float) -> None:
        """What the background job (service/runtime/background.py) has done by `minute`: its last
        round re-ranked every item whose ageing had moved on, as of that round."""
        if self.policy != "triage":
            return  # the chronological queue does not read priorities
        last_round = math.floor(minute / self.rerank_minutes) * self.rerank_minutes
        if last_round <= self.reranked_at:
            return
        self.reranked_at = last_round
        while True:
            with self.db.write() as session:
                count = ranking.refresh_priorities(session, self.rules, at(last_round))
            if count < 500:
                return


def simulate(
    stream: Sequence[StreamPost],
    views: Mapping[str, queue.ModelView],
    policy: Policy,
    staffing: Staffing,
    rules: TierRules,
    days: int,
    rerank_interval_s: float = 15.0,
) -> dict[str, float]:
    """Run the stream through a fresh queue; the minute each post was first opened, by key
    (a post missing was not opened by the end of the last day)."""
    with tempfile.TemporaryDirectory(prefix="community-day-") as folder:
        db = Database(f"sqlite:///{Path(folder) / 'queue.db'}")
        try:
            db.upgrade()
            sim = SimulatedQueue(db, policy, rules, rerank_interval_s)
            return _run(sim, stream, views, staffing, days * MINUTES_PER_DAY)
        finally:
            db.dispose()


def _run(
    sim: SimulatedQueue,
    stream: Sequence[StreamPost],
    views: Mapping[str, queue.ModelView],
    staffing: Staffing,
    end: float,
) -> dict[str, float]:
    arrivals = sorted(stream, key=lambda post: post.minute)
    ready = [(shift.next_on(0.0), n) for n, shift in enumerate(staffing.shifts)]
    heapq.heapify(ready)
    opened: dict[str, float] = {}
    next_arrival = 0
    while ready:
        minute, moderator = ready[0]
        if next_arrival < len(arrivals) and arrivals[next_arrival].minute <= minute:
            post = arrivals[next_arrival]
            sim.arrive(post, views[post.row_id])
            next_arrival += 1
            continue
        heapq.heappop(ready)
        if minute >= end:
            continue
        key = sim.open_next(f"moderator-{moderator}", minute, staffing.minutes_per_post)
        if key is not None:
            opened[key] = minute
            free_at = minute + staffing.minutes_per_post
        elif next_arrival < len(arrivals):
            free_at = arrivals[next_arrival].minute  # idle until the next post arrives
        else:
            continue  # nothing left to arrive: this moderator is done
        heapq.heappush(ready, (staffing.shifts[moderator].next_on(free_at), moderator))
    return opened


# --- figures ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Figures:
    posts: int
    median_minutes: float | None  # None when there are no posts; inf: not opened
    p90_minutes: float | None
    max_minutes: float | None
    within_sla: float | None
    never_opened: float | None
    model_green: int  # posts of the group the model tiered green


def waits(stream: Sequence[StreamPost], opened: Mapping[str, float]) -> dict[str, float]:
    """Minutes from arrival to first open, by key; inf for a post never opened."""
    return {post.key: opened.get(post.key, math.inf) - post.minute for post in stream}


def figures(
    posts: Sequence[StreamPost],
    waited: Mapping[str, float],
    model_tier: Mapping[str, str],
    rules: TierRules,
) -> Figures:
    minutes = sorted(waited[post.key] for post in posts)
    missed = sum(model_tier[post.row_id] == "green" for post in posts)
    if not minutes:
        return Figures(0, None, None, None, None, None, missed)
    in_time = sum(waited[post.key] <= (rules.sla_for(post.tier) or math.inf) for post in posts)
    return Figures(
        posts=len(minutes),
        median_minutes=statistics.median_low(minutes),
        p90_minutes=minutes[math.ceil(0.9 * len(minutes)) - 1],
        max_minutes=minutes[-1],
        within_sla=in_time / len(minutes),
        never_opened=sum(m == math.inf for m in minutes) / len(minutes),
        model_green=missed,
    )


def group_figures(
    stream: Sequence[StreamPost],
    opened: Mapping[str, float],
    model_tier: Mapping[str, str],
    rules: TierRules,
) -> dict[str, Figures]:
    waited = waits(stream, opened)
    return {
        group: figures([p for p in stream if p.tier in tiers], waited, model_tier, rules)
        for group, tiers in GROUPS.items()
    }


# --- scoring, cached -------------------------------------------------------------------------
def cache_file(bundle_dir: Path, cache_dir: Path) -> Path:
    """One file per model (name, version) and per version of what turns its outputs into a
    tier: the model file, configs/tiers.yaml and the scoring code (SCORING_CODE)."""
    from triage.scoring.bundle import load_bundle, sha256

    bundle = load_bundle(bundle_dir)
    digest = hashlib.sha256(sha256(bundle.model_path).encode())
    for path in (Settings().config_dir / "tiers.yaml", *SCORING_CODE):
        digest.update(path.read_bytes())
    return cache_dir / f"{bundle.name}-{bundle.version}-{digest.hexdigest()[:12]}.json"


def score_rows(
    rows: Sequence[Row], bundle_dir: Path, rules: TierRules, cache_dir: Path
) -> dict[str, queue.ModelView]:
    """The model's view of each row, scored once per model and kept in the cache file."""
    path = cache_file(bundle_dir, cache_dir)
    cached: dict[str, dict] = json.loads(path.read_text()) if path.exists() else {}
    missing = list({row.id: row for row in rows if row.id not in cached}.values())
    if missing:
        cached.update(_score(missing, bundle_dir, rules))
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(cached))
        temporary.replace(path)
    log.info(
        "%d posts: %d from the cache, %d scored", len(rows), len(rows) - len(missing), len(missing)
    )
    return {row.id: queue.ModelView(**cached[row.id]) for row in rows}


def _score(rows: Sequence[Row], bundle_dir: Path, rules: TierRules) -> dict[str, dict]:
    from triage.queue.ingest import model_view
    from triage.scoring.bundle import load_bundle
    from triage.scoring.results import ScoreInput
    from triage.scoring.scorer import OnnxScorer

    scorer = OnnxScorer(load_bundle(bundle_dir), rules, threads=os.cpu_count() or 1, evidence=False)
    views = {}
    for start in range(0, len(rows), SCORE_CHUNK):
        chunk = rows[start : start + SCORE_CHUNK]
        inputs = [ScoreInput(row.id, row.text, row.parent_text) for row in chunk]
        for row, result in zip(chunk, scorer.score(inputs), strict=True):
            views[row.id] = asdict(model_view(scorer, result))
        log.info("scored %d of %d posts", min(start + SCORE_CHUNK, len(rows)), len(rows))
    return views


# --- the bench -------------------------------------------------------------------------------
def run_bench(args: argparse.Namespace) -> dict:
    from triage.training.data.prepare import load_split

    rules = Settings().tier_rules
    pools = tier_pools(load_split(args.data, "test"))
    rates = BaseRates(args.urgent_rate, args.crisis_share, args.amber_rate)
    staffing = Staffing(tuple(args.shifts) * args.moderators, args.capacity)
    seeds = list(range(args.seed, args.seed + args.runs))
    diurnal = args.diurnal == "evening"
    streams = {
        seed: draw_stream(pools, rates, seed, args.posts_per_day, args.days, diurnal)
        for seed in seeds
    }
    by_id = {row.id: row for row in _all(pools)}
    rows = [by_id[row_id] for row_id in {p.row_id for s in streams.values() for p in s}]
    views = score_rows(rows, args.bundle, rules, args.cache)
    model_tier = {row_id: view.tier for row_id, view in views.items()}
    runs = {}
    for seed, stream in streams.items():
        runs[seed] = {}
        for policy in POLICIES:
            opened = simulate(
                stream, views, policy, staffing, rules, args.days, args.rerank_interval_s
            )
            runs[seed][policy] = (opened, group_figures(stream, opened, model_tier, rules))
        log.info("run %d done: %d posts", seed, len(stream))
    return _report(args, pools, streams, runs, model_tier, rules)


def _all(pools: Mapping[str, Sequence[Row]]) -> Iterable[Row]:
    for rows in pools.values():
        yield from rows


def _pooled(
    streams: Mapping[int, Sequence[StreamPost]],
    runs: Mapping[int, dict],
    policy: str,
    model_tier: Mapping[str, str],
    rules: TierRules,
) -> dict[str, Figures]:
    """All runs as one sample: keys made unique across runs."""
    posts, opened = [], {}
    for seed, stream in streams.items():
        run_opened = runs[seed][policy][0]
        for post in stream:
            key = f"{seed}/{post.key}"
            posts.append(StreamPost(key, post.row_id, "", None, post.tier, post.minute))
            if post.key in run_opened:
                opened[key] = run_opened[post.key]
    return group_figures(posts, opened, model_tier, rules)


def _report(
    args: argparse.Namespace,
    pools: Mapping[str, Sequence[Row]],
    streams: Mapping[int, Sequence[StreamPost]],
    runs: Mapping[int, dict],
    model_tier: Mapping[str, str],
    rules: TierRules,
) -> dict:
    drawn = Counter(post.tier for stream in streams.values() for post in stream)
    opens = {p: sum(len(runs[s][p][0]) for s in streams) for p in POLICIES}
    return {
        "bundle": args.bundle.name,
        "model_version": _model_version(args.bundle),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "settings": _settings(args),
        "pool_sizes": {tier: len(rows) for tier, rows in pools.items()},
        "drawn": {tier: drawn[tier] for tier in pools},
        "model_tiers": _model_tiers(streams, model_tier),
        "opened": opens,
        "pooled": {
            policy: {
                group: _jsonable(asdict(f))
                for group, f in _pooled(streams, runs, policy, model_tier, rules).items()
            }
            for policy in POLICIES
        },
        "runs": [
            {
                "seed": seed,
                "posts": len(streams[seed]),
                **{
                    p: {g: _jsonable(asdict(f)) for g, f in runs[seed][p][1].items()}
                    for p in POLICIES
                },
            }
            for seed in streams
        ],
    }


def _model_tiers(
    streams: Mapping[int, Sequence[StreamPost]], model_tier: Mapping[str, str]
) -> dict[str, dict[str, int]]:
    """How the model tiered the drawn posts of each (true) tier, over all runs."""
    mix = Counter((p.tier, model_tier[p.row_id]) for stream in streams.values() for p in stream)
    tiers = ("crisis", "red", "amber", "green")
    return {true: {tier: mix[true, tier] for tier in tiers} for true in tiers}


def _model_version(bundle_dir: Path) -> str:
    info = json.loads((bundle_dir / "bundle.json").read_text())
    return f"{info['name']}:{info['version']}"


def _settings(args: argparse.Namespace) -> dict:
    return {
        "runs": args.runs,
        "first_seed": args.seed,
        "days": args.days,
        "posts_per_day": args.posts_per_day,
        "urgent_rate": args.urgent_rate,
        "crisis_share": args.crisis_share,
        "amber_rate": args.amber_rate,
        "diurnal": args.diurnal,
        "moderators": [f"{s.start_hour:g}-{s.end_hour:g}" for s in args.shifts] * args.moderators,
        "capacity_per_hour": args.capacity,
        "rerank_interval_s": args.rerank_interval_s,
    }


def _jsonable(values: dict) -> dict:
    return {k: "never" if v == math.inf else v for k, v in values.items()}


def markdown(report: dict) -> str:
    settings = report["settings"]
    drawn = report["drawn"]
    lines = [
        f"model {report['model_version']}; {settings['runs']} runs x {settings['days']} day(s), "
        f"{settings['posts_per_day']:g} posts a day ({settings['diurnal']}), "
        f"crisis+red {settings['urgent_rate']:.1%} (crisis {settings['crisis_share']:.0%} of "
        f"them), amber {settings['amber_rate']:.0%}; moderators "
        f"{', '.join(settings['moderators'])} at {settings['capacity_per_hour']:g} posts/h",
        f"drawn: {', '.join(f'{tier} {n}' for tier, n in drawn.items())}; opened: "
        f"{', '.join(f'{p} {n}' for p, n in report['opened'].items())}",
        "model tiers (crisis/red/amber/green) of the drawn posts: "
        + "; ".join(
            f"{true} {'/'.join(str(n) for n in tiers.values())}"
            for true, tiers in report["model_tiers"].items()
        ),
        "",
        "| posts | queue | n | median min | p90 min | max min | within SLA | never opened "
        "| model: green |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for group in GROUPS:
        for policy in POLICIES:
            f = report["pooled"][policy][group]
            lines.append(
                f"| {group} | {policy} | {f['posts']} | {_minutes(f['median_minutes'])} | "
                f"{_minutes(f['p90_minutes'])} | {_minutes(f['max_minutes'])} | "
                f"{_share(f['within_sla'])} | {_share(f['never_opened'])} | {f['model_green']} |"
            )
    lines += [
        "",
        "| run (seed) | crisis+red | triage median | chronological median |",
        "|---|---:|---:|---:|",
    ]
    for run in report["runs"]:
        urgent = {p: run[p]["crisis+red"] for p in POLICIES}
        lines.append(
            f"| {run['seed']} | {urgent['triage']['posts']} | "
            f"{_minutes(urgent['triage']['median_minutes'])} | "
            f"{_minutes(urgent['chronological']['median_minutes'])} |"
        )
    return "\n".join(lines)


def _minutes(value: float | str | None) -> str:
    if value is None or isinstance(value, str):
        return value or "-"
    return f"{value:.0f}"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _shifts(text: str) -> list[Shift]:
    try:
        return [Shift.parse(part) for part in text.split(",") if part.strip()]
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_PREPARED,
        help="prepared data (its test split only is read)",
    )
    parser.add_argument("--bundle", type=Path, default=DEFAULT_BUNDLE)
    parser.add_argument(
        "--cache",
        type=Path,
        default=COMMUNITY_DAY_CACHE,
        help="where scores are kept, one file per model",
    )
    parser.add_argument("--seed", type=int, default=0, help="the first run's seed")
    parser.add_argument("--runs", type=int, default=5, help="runs, seeds seed..seed+runs-1")
    parser.add_argument("--days", type=int, default=1)
    parser.add_argument("--posts-per-day", type=float, default=1500)
    parser.add_argument(
        "--urgent-rate",
        type=float,
        default=0.01,
        help="share of crisis and red posts in the stream",
    )
    parser.add_argument(
        "--crisis-share", type=float, default=0.2, help="share of crisis among the urgent posts"
    )
    parser.add_argument("--amber-rate", type=float, default=0.15)
    parser.add_argument("--diurnal", choices=["flat", "evening"], default="flat")
    parser.add_argument(
        "--moderators", type=int, default=1, help="moderators working each of --shifts"
    )
    parser.add_argument(
        "--shifts",
        type=_shifts,
        default=[Shift(8, 24)],
        help="comma-separated hours, one per moderator: 8-24 or 8-16,16-24,22-6",
    )
    parser.add_argument(
        "--capacity",
        type=float,
        default=12.0,
        help="posts a moderator opens an hour (each takes 60/capacity minutes)",
    )
    parser.add_argument(
        "--rerank-interval-s",
        type=float,
        default=Settings.model_fields["rerank_interval_s"].default,
    )
    parser.add_argument("--json", action="store_true", help="print JSON, not Markdown")
    args = parser.parse_args(argv)
    _check(parser, args)
    return args


def _check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    rates = (args.urgent_rate, args.crisis_share, args.amber_rate)
    if not all(0 <= r <= 1 for r in rates) or args.urgent_rate + args.amber_rate > 1:
        parser.error("rates are shares between 0 and 1; urgent + amber at most 1")
    if min(args.runs, args.days, args.moderators) < 1:
        parser.error("--runs, --days and --moderators are at least 1")
    if min(args.posts_per_day, args.capacity, args.rerank_interval_s) <= 0:
        parser.error("--posts-per-day, --capacity and --rerank-interval-s are positive")


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    report = run_bench(args)
    print(json.dumps(report, indent=2) if args.json else markdown(report))


if __name__ == "__main__":
    main()
