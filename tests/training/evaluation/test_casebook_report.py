"""The evaluation casebook (issue 13): its loader, its figures on a hand-made casebook with a fake
scorer (worked out by hand), the shipped file's validity, and `triage evaluate-casebook`."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import run_cli
from triage.domain.labels import LABELS, Tier
from triage.paths import PROJECT_ROOT
from triage.scoring.results import ScoreResult
from triage.training.data.casebook_file import CASEBOOK_LABELS, CasebookError, load_casebook
from triage.training.evaluation.casebook import predict
from triage.training.evaluation.casebook_metrics import casebook_report, roc_auc, wilson_interval
from triage.training.evaluation.casebook_report import markdown_report, report_json

SHIPPED = PROJECT_ROOT / "casebook" / "evaluation.jsonl"
CASEBOOK_README = PROJECT_ROOT / "casebook" / "README.md"
THRESHOLD = 0.45


def case_row(id_: str, category: str, tier: str, parent: str | None = None, **labels) -> dict:
    return {
        "id": id_,
        "category": category,
        "text": f"text of {id_}",
        "parent_text": parent,
        "tier": tier,
        "labels": {label: labels.get(label, 0) for label in CASEBOOK_LABELS},
        "synthetic": True,
    }


def write_casebook(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


# id -> (casebook row, the tier the fake scorer gives, its scores)
HAND_MADE = {
    "c1": (case_row("c1", "farewell", "crisis", self_harm=1), "crisis", {"self_harm": 0.9}),
    "c2": (case_row("c2", "farewell", "crisis", self_harm=1), "green", {"self_harm": 0.1}),
    "c3": (case_row("c3", "ideation", "red", self_harm=1), "red", {"self_harm": 0.8}),
    "c4": (case_row("c4", "ideation", "amber", distress=1), "amber", {"distress": 0.7}),
    "c5": (case_row("c5", "everyday", "green"), "red", {"self_harm": 0.6}),
    "c6": (case_row("c6", "hostile_reply", "green", "p", hostile=1), "green", {"hostile": 0.9}),
    "c7": (case_row("c7", "hostile_reply", "green", "p", hostile=1), "green", {"hostile": 0.4}),
    "c8": (case_row("c8", "supportive_profanity", "green", "p"), "green", {"hostile": 0.5}),
    "c9": (case_row("c9", "supportive_profanity", "green", "p"), "green", {"hostile": 0.1}),
    "c10": (case_row("c10", "forum_spam", "green", spam=1), "green", {"spam": 0.95}),
    "c11": (case_row("c11", "forum_spam", "green", spam=1), "green", {"spam": 0.2}),
    "c12": (case_row("c12", "crisis_line_and_services", "green"), "green", {"spam": 0.7}),
}


class TableScorer:
    """Gives each id the tier and scores of HAND_MADE; flags = scores at or over THRESHOLD."""

    def __init__(self) -> None:
        self.seen = []

    def score(self, items):
        self.seen.extend(items)
        results = []
        for item in items:
            _, tier, given = HAND_MADE[item.id]
            scores = {label: 0.01 for label in LABELS} | given | {"corumination": None}
            flags = [label for label in LABELS if (scores[label] or 0) >= THRESHOLD]
            results.append(ScoreResult(item.id, scores, flags, Tier(tier), 0))
        return results


@pytest.fixture()
def hand_made(tmp_path):
    path = write_casebook(tmp_path / "cases.jsonl", [row for row, _, _ in HAND_MADE.values()])
    cases = load_casebook(path)
    scorer = TableScorer()
    return cases, scorer, casebook_report(cases, predict(scorer, cases), "fake", "0.0.1", "cases")


# -- loader ---------------------------------------------------------------------------------------
GOOD = case_row("a1", "everyday", "green")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "line 2: not JSON"),
        ('["a list"]', "line 2: expected a JSON object, found list"),
        (json.dumps({k: v for k, v in GOOD.items() if k != "tier"}), "missing keys ['tier']"),
        (json.dumps(GOOD | {"id": "a2", "tier": "purple"}), "tier: expected one of"),
        (json.dumps(GOOD | {"id": "a2", "text": "  "}), "text: expected a non-empty string"),
        (json.dumps(GOOD | {"id": "a2", "parent_text": 3}), "parent_text: expected null"),
        (
            json.dumps(GOOD | {"id": "a2", "labels": {"self_harm": 1}}),
            "labels: expected the keys ['self_harm', 'distress', 'hostile', 'spam']",
        ),
        (
            json.dumps(GOOD | {"id": "a2", "labels": GOOD["labels"] | {"spam": 2}}),
            "labels.spam: expected 0 or 1, found 2",
        ),
        (json.dumps(GOOD), "line 2: id 'a1' repeats line 1"),
    ],
)
def test_loader_rejects_a_malformed_row_naming_its_line(tmp_path, line, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(GOOD) + "\n" + line + "\n")
    with pytest.raises(CasebookError) as error:
        load_casebook(path)
    assert message in str(error.value) and str(path) in str(error.value)


def test_loader_refuses_an_empty_file_and_skips_blank_lines(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(CasebookError, match="no cases"):
        load_casebook(empty)
    spaced = tmp_path / "spaced.jsonl"
    spaced.write_text("\n" + json.dumps(GOOD) + "\n\n")
    assert [case.id for case in load_casebook(spaced)] == ["a1"]


# -- figures, worked out by hand ------------------------------------------------------------------
def test_replies_are_scored_with_their_parent_and_posts_alone(hand_made):
    _, scorer, _ = hand_made
    parents = {item.id: item.parent_text for item in scorer.seen}
    assert parents["c6"] == "p" and parents["c8"] == "p" and parents["c1"] is None
    assert len(scorer.seen) == len(HAND_MADE)


def test_targets_on_the_hand_made_casebook(hand_made):
    _, _, report = hand_made
    found = {t.name: t for t in report.targets}
    expected = {  # name: (value, count, total, met, missed ids)
        "crisis_as_crisis": (0.5, 1, 2, False, ["c2"]),
        "crisis_as_green": (1.0, 1, 2, False, ["c2"]),
        "urgent_recall": (0.6667, 2, 3, False, ["c2"]),  # c1, c3 of c1, c2, c3
        "amber_as_amber": (1.0, 1, 1, True, []),
        "green_as_urgent": (0.125, 1, 8, False, ["c5"]),  # 1 of the 8 green cases is red
        # hostile 0.9, 0.4 against supportive 0.5, 0.1: 3 of 4 pairs in order
        "hostile_vs_supportive_roc_auc": (0.75, 2, 2, False, ["c7", "c8"]),
        "forum_spam_recall": (0.5, 1, 2, False, ["c11"]),
        "crisis_line_as_spam": (1.0, 1, 1, False, ["c12"]),
    }
    assert list(found) == list(expected)
    for name, (value, count, total, met, missed) in expected.items():
        target = found[name]
        assert (target.value, target.count, target.total, target.met) == (
            value,
            count,
            total,
            met,
        ), name
        assert [m.id for m in target.missed] == missed, name
    assert found["urgent_recall"].missed[0].got == "green"
    assert [m.got for m in found["hostile_vs_supportive_roc_auc"].missed] == [
        "hostile 0.400",
        "hostile 0.500",
    ]


def test_confusion_and_per_category_figures(hand_made):
    _, _, report = hand_made
    assert report.n == 12 and report.replies == 4
    assert report.confusion == {
        "crisis": {"crisis": 1, "red": 0, "amber": 0, "green": 1},
        "red": {"crisis": 0, "red": 1, "amber": 0, "green": 0},
        "amber": {"crisis": 0, "red": 0, "amber": 1, "green": 0},
        "green": {"crisis": 0, "red": 1, "amber": 0, "green": 7},
    }
    by_name = {c.category: c for c in report.categories}
    assert list(by_name)[:3] == ["farewell", "ideation", "everyday"]  # file order
    farewell = by_name["farewell"]
    assert (farewell.n, farewell.at_expected_tier, farewell.share_at_expected_tier) == (2, 1, 0.5)
    assert farewell.expected_tiers == {"crisis": 2}
    assert farewell.predicted_tiers == {"crisis": 1, "green": 1}
    assert farewell.confusion == {"crisis": {"crisis": 1, "red": 0, "amber": 0, "green": 1}}
    self_harm = farewell.flags["self_harm"]
    assert (self_harm.expected, self_harm.flagged, self_harm.hits) == (2, 1, 1)
    assert (self_harm.expected_rate, self_harm.flag_rate) == (1.0, 0.5)
    spam = by_name["forum_spam"].flags["spam"]
    assert (spam.expected, spam.flagged, spam.hits, spam.flag_rate) == (2, 1, 1, 0.5)
    assert by_name["supportive_profanity"].flags["hostile"].flagged == 1


def test_a_target_without_cases_is_not_applicable(tmp_path):
    path = write_casebook(tmp_path / "one.jsonl", [HAND_MADE["c4"][0]])
    cases = load_casebook(path)
    report = casebook_report(cases, predict(TableScorer(), cases))
    found = {t.name: t for t in report.targets}
    assert found["amber_as_amber"].met is True
    assert found["urgent_recall"].value is None and found["urgent_recall"].met is None
    assert found["hostile_vs_supportive_roc_auc"].met is None


def test_roc_auc_counts_ties_as_half_and_wilson_interval_brackets_the_share():
    assert roc_auc([0.9, 0.4], [0.5, 0.1]) == 0.75
    assert roc_auc([0.5], [0.5]) == 0.5
    low, high = wilson_interval(2, 3)
    assert low < 2 / 3 < high
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(0, 0) is None


def test_markdown_and_json_show_ids_never_texts(hand_made):
    _, _, report = hand_made
    markdown = markdown_report(report)
    assert "| crisis and red cases predicted crisis or red | 0.667 (2/3) |" in markdown
    assert "| >= 0.9 | **no** |" in markdown
    assert "c2 (green)" in markdown and "c11 (spam 0.200)" in markdown
    assert "| farewell | 2 | crisis 2 | crisis 1, green 1 | 0.500 (1/2) | crisis→green 1 |" in (
        markdown
    )
    found = report_json(report)
    assert json.loads(json.dumps(found)) == found
    assert found["targets"][2]["interval_95"] == list(wilson_interval(2, 3))
    for shown in (markdown, json.dumps(found)):
        assert "text of" not in shown


# -- the shipped casebook -------------------------------------------------------------------------
def readme_categories() -> dict[str, tuple[int, Counter]]:
    """category -> (cases, expected tier counts) from the casebook README's table."""
    section = CASEBOOK_README.read_text().split("## Categories", 1)[1].split("\n## ", 1)[0]
    table = {}
    for name, cases, tiers in re.findall(r"^\| ([a-z_]+) \| (\d+) \| (.+) \|$", section, re.M):
        counts = Counter(
            {t: int(n) for t, n in re.findall(r"(crisis|red|amber|green) (\d+)", tiers)}
        )
        table[name] = (int(cases), counts)
    return table


def test_shipped_casebook_is_valid_and_matches_its_readme():
    cases = load_casebook(SHIPPED)  # unique ids, required keys, tiers and labels well formed
    assert len(cases) == 460
    assert len({case.id for case in cases}) == len(cases)
    table = readme_categories()
    assert len(table) == 17
    assert {case.category for case in cases} == set(table)
    for category, (count, tiers) in table.items():
        mine = [case for case in cases if case.category == category]
        assert len(mine) == count, category
        assert Counter(case.tier for case in mine) == tiers, category
    totals = {label: sum(case.labels[label] for case in cases) for label in CASEBOOK_LABELS}
    assert totals == {"self_harm": 170, "distress": 62, "hostile": 35, "spam": 30}
    assert sum(case.parent_text is not None for case in cases) == 76


def test_shipped_casebook_follows_its_labelling_rules():
    cases = load_casebook(SHIPPED)
    for case in cases:
        if case.tier == "red":
            assert case.labels["self_harm"] == 1, case.id
        if case.labels["self_harm"]:
            assert case.labels["distress"] == 0, case.id
    rule = {
        "hostile_reply": ("hostile", 1),
        "supportive_profanity": ("hostile", 0),
        "forum_spam": ("spam", 1),
        "crisis_line_and_services": ("spam", 0),
    }
    for case in cases:
        if case.category in rule:
            label, value = rule[case.category]
            assert case.labels[label] == value, case.id
    rows = [json.loads(line) for line in SHIPPED.read_text().splitlines() if line.strip()]
    assert all(row["synthetic"] is True for row in rows)


# -- the command ----------------------------------------------------------------------------------
def test_cli_scores_a_casebook_with_the_tiny_bundle(tmp_path, tiny_bundle):
    rows = [row for row, _, _ in HAND_MADE.values()]
    casebook = write_casebook(tmp_path / "cases.jsonl", rows)
    out = tmp_path / "report" / "casebook.md"
    result = run_cli(
        "evaluate-casebook", "--bundle", tiny_bundle, "--casebook", casebook, "--out", out
    )
    assert result.exit_code == 0, result.output
    assert "| crisis and red cases predicted crisis or red |" in result.output
    report = json.loads(out.with_suffix(".json").read_text())
    assert report["n"] == 12 and report["version"] == "0.0.1-test"
    assert [t["name"] for t in report["targets"]][:3] == [
        "crisis_as_crisis",
        "crisis_as_green",
        "urgent_recall",
    ]
    assert sum(c["n"] for c in report["categories"]) == 12
    assert out.read_text().startswith("# Evaluation casebook: tiny-bundle 0.0.1-test")


def test_cli_stops_on_a_malformed_casebook_with_its_line(tmp_path):
    casebook = tmp_path / "bad.jsonl"
    casebook.write_text(json.dumps(GOOD) + "\n{oops\n")
    out = tmp_path / "casebook.md"
    result = run_cli("evaluate-casebook", "--casebook", casebook, "--out", out)
    assert result.exit_code == 1
    assert "line 2: not JSON" in result.output and not out.exists()


def test_cli_help():
    result = run_cli("evaluate-casebook", "--help")
    assert result.exit_code == 0 and "--casebook" in result.output and "--out" in result.output
