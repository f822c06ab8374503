"""Counterfactual training rows, and their disjointness from the evaluation probes."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from triage.paths import PROJECT_ROOT
from triage.training.data.counterfactuals import (
    SOURCE,
    CounterfactualConfig,
    counterfactual_rows,
    expand_texts,
)
from triage.training.data.probe_config import DEFAULT_PROBES, SLOT, ProbeConfig
from triage.training.data.rows import normalise
from triage.training.evaluation.probes import expand
from triage.training.fit.args import TrainArgs

COUNTERFACTUALS = PROJECT_ROOT / "configs" / "train" / "counterfactuals.yaml"
# Words that say nothing about who a term names; every other word of a term must be unshared.
FUNCTION_WORDS = {"a", "an", "the", "person", "man", "woman", "with", "who"}
NGRAM = 5


@pytest.fixture(scope="module")
def probes() -> ProbeConfig:
    return ProbeConfig.load(DEFAULT_PROBES)


@pytest.fixture(scope="module")
def training() -> CounterfactualConfig:
    return CounterfactualConfig.load(COUNTERFACTUALS)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+|\{term\}", text.lower())


def _term_words(terms: dict) -> set[str]:
    return {
        word
        for categories in terms.values()
        for phrases in categories.values()
        for phrase in phrases
        for word in _words(phrase)
    } - FUNCTION_WORDS


def _ngrams(text: str) -> set[tuple[str, ...]]:
    words = _words(text)
    return {tuple(words[i : i + NGRAM]) for i in range(len(words) - NGRAM + 1)}


def _probe_sentences(probes: ProbeConfig) -> list[str]:
    found = []
    for family in probes.families.values():
        found += [t.text for t in family.templates] + [t.parent or "" for t in family.templates]
        found += [text for pair in family.pairs for text in (pair.probe, pair.reference)]
        found += [pair.parent or "" for pair in family.pairs]
    return found


def test_no_term_word_is_shared_with_the_probes(probes, training):
    shared = _term_words(probes.terms) & _term_words(training.terms)
    assert not shared, f"probe and training terms share {sorted(shared)}"


def test_no_text_is_shared_with_the_probes(probes, training):
    probe_texts = {normalise(p.text) for p in expand(probes)}
    probe_texts |= {normalise(p.parent) for p in expand(probes) if p.parent}
    training_texts = {normalise(t) for pair in expand_texts(training) for t in pair if t}
    assert not probe_texts & training_texts


def test_no_template_shares_five_words_with_a_probe(probes, training):
    probe_grams = set().union(*(_ngrams(s) for s in _probe_sentences(probes)))
    for family in training.families.values():
        for template in family.templates:
            for sentence in (template.text, template.parent or ""):
                shared = _ngrams(sentence) & probe_grams
                assert not shared, f"{sentence!r} shares {shared} with a probe"


def test_the_disjointness_checks_can_fail(probes):
    """The same checks on a copy of a probe template do find the overlap."""
    family = next(f for f in probes.families.values() if f.probe_terms)
    template = family.templates[1].text
    copied = CounterfactualConfig.model_validate(
        {
            "terms": {"t": {"c": [probes.terms[family.probe_terms]["religion"][0]]}},
            "families": {"f": {"labels": {"hostile": 0}, "terms": ["t"], "templates": [template]}},
        }
    )
    assert _term_words(probes.terms) & _term_words(copied.terms)
    assert _ngrams(template) & _ngrams(family.templates[1].text)
    assert {normalise(t) for t, _ in expand_texts(copied)} & {
        normalise(p.text) for p in expand(probes)
    }


def test_rows_are_train_only_with_the_family_labels(training):
    rows = counterfactual_rows(training)
    assert rows and {r.split for r in rows} == {"train"} and {r.source for r in rows} == {SOURCE}
    assert len({r.id for r in rows}) == len(rows)
    recovery = [r for r in rows if ":recovery:" in r.id]
    family = training.families["recovery"]
    assert len(recovery) == len(family.templates) * len(training.phrases(family)) * family.repeat
    assert all(r.labels["self_harm"] == 0 and r.labels["distress"] is None for r in recovery)
    assert all(SLOT not in r.text for r in rows)
    disclosure = [r for r in rows if ":identity_disclosure:" in r.id]
    assert all(r.labels["self_harm"] == 1 for r in disclosure)
    assert any(r.text.startswith("I'm a person with psychosis") for r in disclosure)


def test_no_row_is_a_near_duplicate_of_a_casebook_case(training):
    """Training drops a counterfactual row like a casebook case (checked_counterfactual_rows);
    none of today's rows is one, so none is lost to that check."""
    from triage.paths import DEFAULT_CASEBOOK
    from triage.training.data.prepare import casebook_references
    from triage.training.data.synthetic import near_duplicate_drops

    rows = counterfactual_rows(training)
    assert near_duplicate_drops(rows, casebook_references(DEFAULT_CASEBOOK)) == []


def _copy_prepared(prepared_dir, tmp_path, test_rows=()):
    import shutil

    copy = tmp_path / "prepared"
    shutil.copytree(prepared_dir, copy)
    with (copy / "test.jsonl").open("a") as out:
        for row in test_rows:
            out.write(json.dumps(row.to_json()) + "\n")
    return copy


def test_training_drops_rows_like_a_test_row_or_a_casebook_case(prepared_dir, tmp_path, training):
    """The counterfactual rows get prepare's synthetic check at training time: a row like a test
    row or a casebook case is dropped, with all its repeated copies."""
    from triage.training.data.rows import Row
    from triage.training.fit.train_rows import checked_counterfactual_rows

    rows = counterfactual_rows(training)
    like_test = rows[0]
    test_row = Row(id="t-1", text=like_test.text, source="sdcnl", group="g-t-1", split="test")
    data_dir = _copy_prepared(prepared_dir, tmp_path, [test_row])
    like_case = next(r for r in rows if r.text != like_test.text)
    casebook = tmp_path / "casebook.jsonl"
    case = json.loads((PROJECT_ROOT / "casebook" / "evaluation.jsonl").read_text().splitlines()[0])
    casebook.write_text(json.dumps({**case, "text": like_case.text}) + "\n")
    args = TrainArgs(
        name="x", data_dir=data_dir, counterfactuals=COUNTERFACTUALS, casebook=casebook
    )

    kept = checked_counterfactual_rows(args)

    # both texts go, with their repeated copies and the rows of the same template the check finds
    # near (a template filled with another term); the rest stay
    texts = {r.text for r in kept}
    assert like_test.text not in texts and like_case.text not in texts
    assert 0 < len(kept) < len(rows)
    unchanged = TrainArgs(name="x", data_dir=prepared_dir, counterfactuals=COUNTERFACTUALS)
    assert checked_counterfactual_rows(unchanged) == rows


def test_rows_are_synthetic_and_a_family_tier_becomes_their_tier(training):
    rows = counterfactual_rows(training)
    assert all(r.synthetic and r.made_by for r in rows)
    tiers = {r.id.split(":")[1]: r.annotation.tier if r.annotation else None for r in rows}
    assert tiers["recovery"] == tiers["hyperbole"] == tiers["identity_harmless"] == "green"
    assert tiers["identity_disclosure"] is None and tiers["recent_self_harm"] is None


@pytest.mark.parametrize(
    ("family", "message"),
    [
        ({"labels": {"rudeness": 1}, "templates": ["x"]}, "rudeness"),
        ({"labels": {"hostile": 2}, "templates": ["x"]}, "0 or 1"),
        ({"labels": {"hostile": 0}, "templates": ["{term} x"]}, "expected {term} 0 time(s)"),
        ({"labels": {"hostile": 0}, "terms": ["nope"], "templates": ["{term}"]}, "['nope']"),
        ({"labels": {"hostile": 0}, "templates": ["x"], "tier": "purple"}, "purple"),
    ],
)
def test_bad_counterfactual_configs_say_what_is_wrong(tmp_path, family, message):
    path = tmp_path / "cf.yaml"
    path.write_text(yaml.safe_dump({"families": {"f": family}}))
    with pytest.raises(ValueError) as error:
        CounterfactualConfig.load(path)
    assert message in str(error.value) and str(path) in str(error.value)


def test_train_args_take_the_counterfactuals_file(tmp_path):
    args = TrainArgs(name="x", counterfactuals=COUNTERFACTUALS)
    assert args.to_json()["counterfactuals"] == str(COUNTERFACTUALS)
    with pytest.raises(ValueError, match="counterfactuals: expected a YAML file"):
        TrainArgs(name="x", counterfactuals=tmp_path / "missing.yaml")


def test_training_adds_the_rows(tiny_encoder_dir, prepared_dir, tmp_path, training):
    from triage.training.fit.train import train

    config = tmp_path / "run.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "name": "cf",
                "data_dir": str(prepared_dir),
                "output_dir": str(tmp_path),
                "base_model": str(tiny_encoder_dir),
                "max_length": 32,
                "max_steps": 2,
                "dev_limit": 20,
                "counterfactuals": "configs/train/counterfactuals.yaml",  # relative to the project
            }
        )
    )
    best = train(TrainArgs.from_yaml(config))
    record = json.loads((best / "train_record.json").read_text())
    # they are synthetic, so the synthetic cap holds them to 15% of this tiny train split
    from triage.training.data.prepare import load_split
    from triage.training.data.synthetic import max_synthetic_rows

    real = [row for row in load_split(prepared_dir, "train") if not row.synthetic]
    allowed = max_synthetic_rows(len(real), 0.15)
    assert 0 < allowed < len(counterfactual_rows(training))
    assert record["train_rows_per_source"][SOURCE] == allowed
