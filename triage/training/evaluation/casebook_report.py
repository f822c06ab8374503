"""The casebook report (triage/training/evaluation/casebook_metrics.py) as Markdown and JSON."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from triage.domain.labels import TIERS
from triage.training.data.casebook_file import CASEBOOK_LABELS
from triage.training.evaluation.casebook_metrics import (
    CasebookReport,
    CategoryReport,
    TargetResult,
    wilson_interval,
)

INTRO = """\
Written by `triage evaluate-casebook` (triage/training/evaluation/casebook_metrics.py) from
`{casebook}`: {n} cases, {replies} of them replies scored with their parent, each scored alone
by the bundle's int8 ONNX model through the serving scorer (OnnxScorer): its calibrated scores,
its flag thresholds and its tier head, as `POST /v1/score` gives them.

## Read this first

- **Reporting only.** The casebook is never trained on, and no threshold or model was chosen on
  it: the bundle's thresholds and tier cuts were set on the dev split at export.
- **One writer's labels** (casebook/README.md): no second annotator has checked them, so there is
  no agreement figure.
- **Small groups.** A category holds 20 to 35 cases, so one case moves its share by 3 to 5
  points: shares come with their counts, and the targets with 95% Wilson intervals.
- **Tiers as served.** {uncertain} cases reached amber through the tier head's uncertain band and
  {language_raised} were raised to amber because they were not read as a language of the bundle
  (a person reads them); both count as predicted amber here.
"""


def _share(value: float | None, count: int, total: int) -> str:
    return "n/a" if value is None else f"{value:.3f} ({count}/{total})"


def target_value(target: TargetResult) -> str:
    if target.kind == "share":
        return _share(target.value, target.count, target.total)
    if target.kind == "count":
        return "n/a" if target.value is None else f"{target.count} of {target.total}"
    shown = "n/a" if target.value is None else f"{target.value:.3f}"
    return f"{shown} ({target.count} vs {target.total} cases)"


def target_interval(target: TargetResult) -> tuple[float, float] | None:
    return wilson_interval(target.count, target.total) if target.kind == "share" else None


def _met(met: bool | None) -> str:
    return "n/a" if met is None else ("yes" if met else "**no**")


def targets_table(report: CasebookReport) -> str:
    lines = ["| target | value | 95% interval | target | met |", "|---|---|---|---|---|"]
    for target in report.targets:
        interval = target_interval(target)
        shown = "-" if interval is None else f"{interval[0]:.2f}-{interval[1]:.2f}"
        lines.append(
            f"| {target.description} | {target_value(target)} | {shown} "
            f"| {target.direction} {target.target:g} | {_met(target.met)} |"
        )
    return "\n".join(lines)


def confusion_table(report: CasebookReport) -> str:
    lines = [
        "| casebook tier \\ predicted | " + " | ".join(TIERS) + " | cases | at its tier |",
        "|---|" + "---|" * (len(TIERS) + 2),
    ]
    for expected, row in report.confusion.items():
        total = sum(row.values())
        cells = " | ".join(
            f"**{row[tier]}**" if tier == expected else str(row[tier]) for tier in TIERS
        )
        at_tier = _share(row[expected] / total, row[expected], total)
        lines.append(f"| {expected} | {cells} | {total} | {at_tier} |")
    return "\n".join(lines)


def _counts(tiers: dict[str, int]) -> str:
    return ", ".join(f"{tier} {count}" for tier, count in tiers.items())


def _off_tier(category: CategoryReport) -> str:
    moves = [
        f"{expected}→{got} {count}"
        for expected, row in category.confusion.items()
        for got, count in row.items()
        if got != expected and count
    ]
    return ", ".join(moves) or "-"


def category_table(report: CasebookReport) -> str:
    lines = [
        "| category | cases | casebook tiers | predicted tiers | at its tier | off its tier |",
        "|---|---|---|---|---|---|",
    ]
    for category in report.categories:
        at_tier = _share(category.share_at_expected_tier, category.at_expected_tier, category.n)
        lines.append(
            f"| {category.category} | {category.n} | {_counts(category.expected_tiers)} "
            f"| {_counts(category.predicted_tiers)} | {at_tier} | {_off_tier(category)} |"
        )
    return "\n".join(lines)


def flags_table(report: CasebookReport) -> str:
    lines = [
        "| category | cases | " + " | ".join(CASEBOOK_LABELS) + " |",
        "|---|---|" + "---|" * len(CASEBOOK_LABELS),
    ]
    for category in report.categories:
        cells = []
        for label in CASEBOOK_LABELS:
            found = category.flags[label]
            cells.append(
                f"{found.flag_rate:.2f} ({found.flagged}) / {found.expected_rate:.2f} "
                f"({found.expected})"
            )
        lines.append(f"| {category.category} | {category.n} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def missed_section(report: CasebookReport) -> str:
    parts = []
    for target in report.targets:
        listed = ", ".join(f"{m.id} ({m.got})" for m in target.missed) or "none"
        parts.append(
            f"- **{target.description}** ({target.name}): {len(target.missed)} "
            f"{target.missed_means}: {listed}"
        )
    return "\n".join(parts)


def markdown_report(report: CasebookReport) -> str:
    intro = INTRO.format(
        casebook=report.casebook,
        n=report.n,
        replies=report.replies,
        uncertain=report.uncertain,
        language_raised=report.language_raised,
    )
    return (
        f"# Evaluation casebook: {report.bundle} {report.version}\n\n{intro}\n"
        f"## Targets (issue 13)\n\n{targets_table(report)}\n\n"
        "## Risk tiers, all cases\n\nRows: the casebook's tier; columns: the tier the bundle "
        f"gave.\n\n{confusion_table(report)}\n\n"
        f"## Tiers per category\n\n{category_table(report)}\n\n"
        "## Flags per category\n\nEach cell: the share of the category's cases the bundle "
        "flagged (how many) / the share labelled 1 in the casebook (how many). The casebook "
        "does not label corumination.\n\n"
        f"{flags_table(report)}\n\n"
        "## Missed cases per target\n\nCase ids (see the casebook file for the text) with the "
        "tier the bundle gave, or the label's score for a flag target.\n\n"
        f"{missed_section(report)}\n"
    )


def report_json(report: CasebookReport) -> dict:
    found = asdict(report)
    for target, shown in zip(report.targets, found["targets"], strict=True):
        interval = target_interval(target)
        shown["interval_95"] = None if interval is None else list(interval)
    return found


def write_report(report: CasebookReport, markdown_path: Path) -> tuple[Path, Path]:
    """The Markdown report at `markdown_path` and its JSON beside it (same name, .json)."""
    markdown_path.parent.mkdir(parents=True, exist_ok=True)
    json_path = markdown_path.with_suffix(".json")
    markdown_path.write_text(markdown_report(report))
    json_path.write_text(json.dumps(report_json(report), indent=2) + "\n")
    return markdown_path, json_path
