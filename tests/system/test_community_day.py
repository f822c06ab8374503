"""bench/community_day.py: the day's simulation through the real queue gives the by-hand answer."""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys
from pathlib import Path

import pytest

from tests.system.bench_support import load_bench
from triage.queue.store import ModelView
from triage.settings import Settings
from triage.training.data.prepare import load_split
from triage.training.data.rows import Annotation, Row

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "bench" / "community_day.py"


day = load_bench("community_day")
RULES = Settings().tier_rules
GREEN = ModelView("fake:1", {"self_harm": 0.001, "distress": 0.01}, [], "green")
RED = ModelView("fake:1", {"self_harm": 0.6, "distress": 0.5}, ["self_harm", "distress"], "red")
ONE_AN_HOUR_FROM_ONE = day.Staffing((day.Shift(1, 24),), per_hour=1)


def _post(key: str, tier: str, minute: float) -> day.StreamPost:
    return day.StreamPost(key, key, f"post {key}", None, tier, minute)


def _red_behind_five_greens() -> tuple[list, dict]:
    stream = [_post(f"g{n}", "green", n) for n in range(5)] + [_post("r", "red", 5)]
    views = {post.row_id: RED if post.tier == "red" else GREEN for post in stream}
    return stream, views


def _order(opened: dict[str, float]) -> list[str]:
    return sorted(opened, key=opened.get)


def test_triage_opens_the_red_post_first():
    stream, views = _red_behind_five_greens()
    opened = day.simulate(stream, views, "triage", ONE_AN_HOUR_FROM_ONE, RULES, days=1)
    assert _order(opened)[0] == "r"
    assert opened["r"] == 60  # the moderator's first post, at 01:00
    assert [opened[f"g{n}"] for n in range(5)] == [120, 180, 240, 300, 360]


def test_chronological_opens_the_red_post_sixth():
    stream, views = _red_behind_five_greens()
    opened = day.simulate(stream, views, "chronological", ONE_AN_HOUR_FROM_ONE, RULES, days=1)
    assert _order(opened) == ["g0", "g1", "g2", "g3", "g4", "r"]
    assert opened["r"] == 360


def test_figures_by_hand():
    stream, views = _red_behind_five_greens()
    opened = day.simulate(stream, views, "chronological", ONE_AN_HOUR_FROM_ONE, RULES, days=1)
    red = day.group_figures(stream, opened, {k: v.tier for k, v in views.items()}, RULES)["red"]
    assert (red.posts, red.median_minutes, red.max_minutes) == (1, 355, 355)
    assert (red.within_sla, red.never_opened, red.model_green) == (0.0, 0.0, 0)


def test_a_post_after_the_last_shift_is_never_opened_and_a_model_miss_is_counted():
    stream = [_post("c", "crisis", 30), _post("late", "red", 23 * 60 + 30)]
    views = {"c": GREEN, "late": RED}  # the model tiered the crisis post green
    staffing = day.Staffing((day.Shift(0, 23),), per_hour=1)
    opened = day.simulate(stream, views, "triage", staffing, RULES, days=1)
    assert opened == {"c": 30}  # the red post came after the shift, on the last day
    figures = day.group_figures(stream, opened, {"c": "green", "late": "red"}, RULES)
    assert figures["crisis"].model_green == 1 and figures["crisis"].within_sla == 1.0
    assert figures["red"].never_opened == 1.0 and figures["red"].median_minutes == math.inf
    assert figures["crisis+red"].posts == 2


def test_ageing_lets_a_waiting_amber_post_overtake_a_fresh_low_confidence_red_one():
    """The background job's re-ranking runs in simulated time (priority.py's own example)."""
    amber = ModelView("fake:1", {"self_harm": 0.06, "distress": 0.4}, ["distress"], "amber")
    weak_red = ModelView("fake:1", {"self_harm": 0.1, "distress": 0.2}, ["self_harm"], "red")
    stream = [_post("a", "amber", 0), _post("r", "red", 479)]
    staffing = day.Staffing((day.Shift(8, 24),), per_hour=12)  # first free at 08:00 = 480
    opened = day.simulate(stream, {"a": amber, "r": weak_red}, "triage", staffing, RULES, days=1)
    assert _order(opened) == ["a", "r"]


def test_shifts_recur_daily_and_may_cross_midnight():
    night = day.Shift.parse("22-6")
    assert night.next_on(0) == 0 and night.next_on(7 * 60) == 22 * 60
    assert night.next_on(24 * 60 + 5 * 60) == 24 * 60 + 5 * 60
    assert day.Shift.parse("8-24").next_on(24 * 60 + 60) == 24 * 60 + 8 * 60
    for bad in ("8", "8-8", "25-3", "a-b"):
        with pytest.raises(ValueError):
            day.Shift.parse(bad)


def _row(row_id: str, tier: str | None, self_harm: int | None, distress: int | None) -> Row:
    annotation = Annotation(tier=tier) if tier else None
    labels = {"self_harm": self_harm, "distress": distress}
    return Row(row_id, "text", "fixture", "g", "test", labels=labels, annotation=annotation)


def test_pools_take_the_annotated_tier_then_the_labels():
    rows = [
        _row("c", "crisis", 1, 1),
        _row("r", "red", None, None),
        _row("a", "amber", 0, 0),
        _row("d", None, 0, 1),  # distress, not annotated: amber
        _row("i", None, None, 1),  # distress, self_harm not known (IRF): left out
        _row("g", None, 0, 0),
        _row("s", None, 1, 0),  # self-harm, not annotated: tier unknown, left out
        _row("h", None, None, None),  # e.g. a hostile-only source: left out
        _row("ag", "green", 1, 1),  # the annotation wins
    ]
    pools = day.tier_pools(rows)
    assert {tier: [r.id for r in rows] for tier, rows in pools.items()} == {
        "crisis": ["c"],
        "red": ["r"],
        "amber": ["a", "d"],
        "green": ["g", "ag"],
    }


def test_the_stream_follows_the_base_rates_and_is_seeded():
    sizes = {"crisis": 30, "red": 30, "amber": 50, "green": 500}
    pools = {tier: [_row(f"{tier}{n}", tier, 0, 0) for n in range(k)] for tier, k in sizes.items()}
    rates = day.BaseRates(urgent=0.05, crisis_share=0.2, amber=0.2)
    stream = day.draw_stream(pools, rates, seed=3, per_day=4000, days=1)
    assert stream == day.draw_stream(pools, rates, seed=3, per_day=4000, days=1)
    assert 3700 < len(stream) < 4300
    assert all(0 <= post.minute < 24 * 60 for post in stream)
    assert len({post.key for post in stream}) == len(stream)
    share = {t: sum(p.tier == t for p in stream) / len(stream) for t in pools}
    assert share["crisis"] == pytest.approx(0.01, abs=0.005)
    assert share["red"] == pytest.approx(0.04, abs=0.01)
    assert share["amber"] == pytest.approx(0.2, abs=0.02)


def test_the_evening_curve_puts_more_posts_in_the_evening():
    stream = day.arrival_minutes(random.Random(1), 20000, 1, diurnal=True)
    evening = sum(20 * 60 <= m < 24 * 60 for m in stream)
    morning = sum(8 * 60 <= m < 12 * 60 for m in stream)
    assert evening > 2 * morning


def test_help_runs():
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    assert "--urgent-rate" in result.stdout and "held-out" in result.stdout


def test_the_bench_end_to_end_on_a_tiny_model(tiny_bundle, prepared_dir, tmp_path, capsys):
    """The fixture's test split (annotated crisis and red posts) through the real scorer; the
    second run reads every score from the cache."""
    argv = [
        *("--data", str(prepared_dir), "--bundle", str(tiny_bundle)),
        *("--cache", str(tmp_path), "--runs", "2", "--posts-per-day", "120"),
        *("--urgent-rate", "0.2", "--shifts", "0-24", "--capacity", "30", "--json"),
    ]
    day.main(argv)
    report = json.loads(capsys.readouterr().out)
    pools = day.tier_pools(load_split(prepared_dir, "test"))
    flat = [day.draw_stream(pools, day.BaseRates(0.2), seed, 120, 1) for seed in (0, 1)]
    assert [(run["seed"], run["posts"]) for run in report["runs"]] == [
        (0, len(flat[0])),
        (1, len(flat[1])),
    ]
    urgent = report["pooled"]["triage"]["crisis+red"]
    assert urgent["posts"] == report["drawn"]["crisis"] + report["drawn"]["red"] > 0
    (cache,) = tmp_path.glob("*.json")
    assert cache.name.startswith("tiny")
    scored = json.loads(cache.read_text())
    assert scored and all("tier" in view for view in scored.values())

    day.main([*argv[:-1]])  # Markdown this time, from the cache
    text = capsys.readouterr().out
    assert "| crisis+red | chronological |" in text
    assert json.loads(cache.read_text()) == scored
