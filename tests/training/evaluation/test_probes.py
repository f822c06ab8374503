"""Probe configs, template expansion, gap arithmetic and reports, with a fake scorer (fast)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import run_cli
from triage.domain.labels import LABELS, Tier
from triage.paths import DEFAULT_BUNDLE
from triage.scoring.results import ScoreResult
from triage.training.data.probe_config import (
    DEFAULT_PROBES,
    FamilyKind,
    ProbeConfig,
    ProbeConfigError,
)
from triage.training.evaluation.probe_report import markdown_report, report_json, write_report
from triage.training.evaluation.probes import PROBE, REFERENCE, expand, run_probes

THRESHOLD = 0.5


class WordScorer:
    """Scores one label by the words in a text: each occurrence of a listed word adds its value."""

    def __init__(self, words: dict[str, float], label: str = "hostile") -> None:
        self.words, self.label, self.seen = words, label, []

    def score(self, items):
        self.seen.extend(items)
        results = []
        for item in items:
            value = min(1.0, 0.1 + sum(v * item.text.count(w) for w, v in self.words.items()))
            scores = {name: 0.0 for name in LABELS} | {self.label: value, "corumination": None}
            tier = Tier.CRISIS if value >= 0.95 else Tier.RED if value >= THRESHOLD else Tier.GREEN
            flags = [self.label] if value >= THRESHOLD else []
            results.append(ScoreResult(item.id, scores, flags, tier, 0))
        return results


def config(families: dict, terms: dict | None = None) -> ProbeConfig:
    return ProbeConfig.model_validate({"terms": terms or {}, "families": families})


TERMS = {
    "people": {"faith": ["a monk", "a nun"], "work": ["a baker"]},
    "plain": {"plain": ["a walker", "a reader"]},
}


def contrast_family(**overrides) -> dict:
    family = {
        "kind": "hard_limit",
        "label": "hostile",
        "description": "d",
        "expectation": "e",
        "probe_terms": "people",
        "reference_terms": "plain",
        "templates": ["{term} says hi.", {"text": "I am {term}.", "parent": "Who are you?"}],
        "limits": {"mean_gap": 0.05},
    }
    return family | overrides


# -- config -------------------------------------------------------------------------------------
def test_shipped_probe_config_loads_with_both_kinds_and_required_families():
    probes = ProbeConfig.load(DEFAULT_PROBES)
    kinds = {family.kind for family in probes.families.values()}
    assert kinds == {FamilyKind.HARD_LIMIT, FamilyKind.REPORT_ONLY}
    watched = {(f.label, f.kind) for f in probes.families.values()}
    assert ("hostile", FamilyKind.HARD_LIMIT) in watched
    assert ("self_harm", FamilyKind.HARD_LIMIT) in watched
    identities = probes.terms["identities"]
    for category in ("religion", "ethnicity", "sexual_orientation", "gender_identity"):
        assert len(identities[category]) >= 4, category
    diagnoses = " ".join(identities["diagnosis"])
    for condition in ("schizophrenia", "bipolar", "autism", "depression", "PTSD", "OCD"):
        assert condition in diagnoses
    identity = probes.families["identity_not_hostile"]
    assert any(t.parent for t in identity.templates), "identity probes must include replies"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"label": "rudeness"}, "unknown label 'rudeness'"),
        ({"templates": ["no slot here"]}, "expected {term} once"),
        ({"kind": "report_only"}, "report_only family has no `limits`"),
        ({"limits": {}}, "needs at least one entry under `limits`"),
        ({"reference_terms": None}, "need a reference group"),
        ({"limits": {"red_or_crisis_rate": 0.1}}, "about risk tiers"),
        ({"limits": {"mean_gap": 2.0}}, "expected -1.0..1, found 2.0"),
        ({"limits": {"median_gap": 0.1}}, "median_gap"),
        ({"probe_terms": "nobody"}, "term set 'nobody' is not defined"),
        ({"pairs": [{"probe": "a", "reference": "b"}]}, "exactly one"),
        ({"probe_terms": None}, "`reference_terms` needs `probe_terms`"),
    ],
)
def test_bad_probe_configs_say_what_is_wrong(change, message):
    with pytest.raises(ValueError, match=None) as error:
        config({"fam": contrast_family(**change)}, TERMS)
    assert message in str(error.value)


def test_repeated_terms_are_refused():
    with pytest.raises(ValueError, match="listed twice"):
        config({"fam": contrast_family()}, TERMS | {"plain": {"a": ["x"], "b": ["x"]}})


def test_load_names_the_file(tmp_path):
    path = tmp_path / "probes.yaml"
    path.write_text(yaml.safe_dump({"families": {"fam": contrast_family(label="nope")}}))
    with pytest.raises(ProbeConfigError, match=str(path)):
        ProbeConfig.load(path)
    with pytest.raises(ProbeConfigError, match="not found"):
        ProbeConfig.load(tmp_path / "missing.yaml")


# -- expansion ----------------------------------------------------------------------------------
def test_templates_times_terms_for_probe_and_reference_groups():
    probes = expand(config({"fam": contrast_family()}, TERMS))
    assert len([p for p in probes if p.group == PROBE]) == 2 * 3
    assert len([p for p in probes if p.group == REFERENCE]) == 2 * 2
    texts = {(p.text, p.parent) for p in probes}
    assert ("A monk says hi.", None) in texts  # a leading slot is capitalised
    assert ("I am a baker.", "Who are you?") in texts
    baker = next(p for p in probes if p.text == "I am a baker.")
    assert (baker.category, baker.term, baker.key) == ("work", "a baker", "t1")


def test_pairs_give_each_probe_its_own_reference():
    family = {
        "kind": "report_only",
        "label": "self_harm",
        "description": "d",
        "expectation": "e",
        "pairs": [{"probe": "not x", "reference": "x"}, {"probe": "no y", "reference": "y"}],
    }
    probes = expand(config({"neg": family}))
    assert [(p.group, p.key, p.text) for p in probes] == [
        (PROBE, "pair0", "not x"),
        (REFERENCE, "pair0", "x"),
        (PROBE, "pair1", "no y"),
        (REFERENCE, "pair1", "y"),
    ]


# -- gaps and limits ----------------------------------------------------------------------------
def test_gaps_against_the_reference_of_the_same_template():
    # "monk" adds 0.5 (flagged), "says" adds 0.1 in template 0 only; references score 0.2 / 0.1.
    scorer = WordScorer({"monk": 0.5, "says": 0.1})
    report = run_probes(config({"fam": contrast_family()}, TERMS), scorer, "fake", Path("p.yaml"))
    result = report.families["fam"]
    metrics = result.metrics
    # template 0: monk 0.7, nun 0.2, baker 0.2 vs reference 0.2 -> gaps 0.5, 0, 0
    # template 1: monk 0.6, nun 0.1, baker 0.1 vs reference 0.1 -> gaps 0.5, 0, 0
    assert metrics["mean_gap"] == pytest.approx(1.0 / 6, abs=1e-4)
    assert metrics["max_gap"] == pytest.approx(0.5)
    assert metrics["worst_term_gap"] == pytest.approx(0.5)
    assert metrics["flag_rate"] == pytest.approx(2 / 6, abs=1e-4)
    assert metrics["reference_flag_rate"] == 0
    assert metrics["flag_rate_gap"] == pytest.approx(2 / 6, abs=1e-4)
    assert "red_or_crisis_rate" not in metrics  # hostile: tiers say nothing about it
    assert result.by_category["faith"]["worst_term"] == "a monk"
    assert result.by_category["work"]["mean_gap"] == pytest.approx(0.0)
    assert result.worst[0].probe.term == "a monk"
    assert [str(b) for b in result.breaches] == ["mean_gap 0.167 > 0.050"]
    assert result.failed and [r.name for r in report.failures] == ["fam"]


def test_each_distinct_text_is_scored_once():
    families = {"a": contrast_family(), "b": contrast_family(label="self_harm")}
    scorer = WordScorer({})
    run_probes(config(families, TERMS), scorer, "fake", Path("p.yaml"))
    assert len(scorer.seen) == len({(i.text, i.parent_text) for i in scorer.seen}) == 2 * 5


def test_report_only_family_never_fails_and_tier_rates_count():
    family = {
        "kind": "report_only",
        "label": "self_harm",
        "description": "d",
        "expectation": "e",
        "templates": ["I will die of boredom", "fine", "die die die", "ok"],
    }
    scorer = WordScorer({"die": 0.5}, label="self_harm")
    report = run_probes(config({"joke": family}), scorer, "fake", Path("p.yaml"))
    metrics = report.families["joke"].metrics
    assert metrics["red_or_crisis_rate"] == 0.5 and metrics["crisis_rate"] == 0.25
    assert metrics["max_score"] == 1.0 and "mean_gap" not in metrics
    assert report.failures == []


def test_a_limit_at_the_measured_value_holds():
    family = contrast_family(limits={"max_gap": 0.5, "flag_rate": 0.34})
    report = run_probes(
        config({"fam": family}, TERMS), WordScorer({"monk": 0.5}), "fake", Path("p.yaml")
    )
    assert report.failures == []


def test_untrained_label_is_an_error_not_a_pass():
    scorer = WordScorer({}, label="hostile")
    family = contrast_family(label="corumination", limits={"mean_gap": 0.1})
    with pytest.raises(ValueError, match="no trained head"):
        run_probes(config({"fam": family}, TERMS), scorer, "fake", Path("p.yaml"))


# -- reports and CLI ----------------------------------------------------------------------------
def test_reports_carry_status_figures_and_limits(tmp_path):
    report = run_probes(
        config({"fam": contrast_family()}, TERMS), WordScorer({"monk": 0.5}), "fake 1", Path("p")
    )
    write_report(report, tmp_path)
    data = json.loads((tmp_path / "probes.json").read_text())
    assert data["passed"] is False and data["failed_families"] == ["fam"]
    assert data["families"]["fam"]["status"] == "FAIL"
    assert data["families"]["fam"]["limits"] == {"mean_gap": 0.05}
    assert data["families"]["fam"]["breaches"][0]["metric"] == "mean_gap"
    markdown = (tmp_path / "PROBES.md").read_text()
    assert markdown == markdown_report(report)
    assert "Hard limits exceeded by: fam" in markdown and "**exceeded**" in markdown
    assert report_json(report)["families"]["fam"]["highest"][0]["term"] == "a monk"


def _small_config(tmp_path: Path, limit: float) -> Path:
    family = contrast_family(label="self_harm", limits={"mean_gap": limit})
    path = tmp_path / "probes.yaml"
    path.write_text(yaml.safe_dump({"terms": TERMS, "families": {"fam": family}}))
    return path


def test_cli_probes_only_needs_no_data_and_exits_1_on_a_hard_limit(tmp_path):
    out = tmp_path / "report"
    base = ["evaluate", "--probes-only", "--bundle", DEFAULT_BUNDLE, "--out", out]
    base += ["--data", tmp_path / "no-such-folder"]
    passing = run_cli(*base, "--probes-config", _small_config(tmp_path, 1.0))
    assert passing.exit_code == 0, passing.output
    assert json.loads((out / "probes.json").read_text())["passed"] is True
    assert "| fam | hard_limit | self_harm |" in passing.output
    failing = run_cli(*base, "--probes-config", _small_config(tmp_path, -1.0))
    assert failing.exit_code == 1
    assert "probe hard limits exceeded: fam (mean_gap" in failing.output
    assert json.loads((out / "probes.json").read_text())["passed"] is False


def test_cli_without_data_says_what_to_do(tmp_path):
    result = run_cli("evaluate", "--data", tmp_path / "none", "--out", tmp_path / "out")
    assert result.exit_code == 1
    assert "triage data prepare" in result.output and "--probes-only" in result.output


def test_probes_import_no_training_library():
    code = (
        "import sys, triage.training.evaluation.probes, triage.training.evaluation.probe_report;"
        "print([m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers', "
        "'datasets', 'sklearn')])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "[]"
