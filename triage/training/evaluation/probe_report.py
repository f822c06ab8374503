"""Write a probe run as probes.json and PROBES.md (next to the evaluation report)."""

from __future__ import annotations

import json
from pathlib import Path

from triage.training.data.probe_config import FamilyKind
from triage.training.evaluation.probes import FamilyResult, Observation, ProbeReport

JSON_FILE = "probes.json"
MARKDOWN_FILE = "PROBES.md"

INTRO = """\
Templated probes from `{config}` scored by the bundle's int8 ONNX model through the serving
scorer. A family watches one label. Where it has a reference group, each probe is compared with
the reference texts filled into the same template (or its pair): **gap** = probe score - mean
reference score, so a positive gap means the probe's wording raised the score. "flagged" = at or
over the bundle's threshold for the label; tiers come from `configs/tiers.yaml` and are shown
only for the labels tiers are made of (self_harm, distress).
**hard_limit** families fail `triage evaluate --probes` (exit status 1) and the shipped-bundle
test when a measured figure exceeds its limit; **report_only** families are reported against the
written expectation and never fail."""


def status(result: FamilyResult) -> str:
    if result.family.kind is FamilyKind.REPORT_ONLY:
        return "reported"
    return "FAIL" if result.failed else "pass"


def _observation_json(item: Observation) -> dict:
    return {
        "text": item.probe.text,
        "parent": item.probe.parent,
        "term": item.probe.term,
        "score": round(item.score, 4),
        "gap": None if item.gap is None else round(item.gap, 4),
        "flagged": item.flagged,
        "tier": item.tier.value,
    }


def family_json(result: FamilyResult) -> dict:
    family = result.family
    return {
        "kind": family.kind.value,
        "label": family.label,
        "status": status(result),
        "description": family.description,
        "expectation": family.expectation,
        "limits": {str(metric): limit for metric, limit in family.limits.items()},
        "breaches": [vars(breach) for breach in result.breaches],
        "metrics": result.metrics,
        "by_category": result.by_category,
        "highest": [_observation_json(item) for item in result.worst],
    }


def report_json(report: ProbeReport) -> dict:
    return {
        "bundle": report.bundle,
        "config": report.config_path,
        "passed": not report.failures,
        "failed_families": [result.name for result in report.failures],
        "families": {name: family_json(result) for name, result in report.families.items()},
    }


def _fmt(value: float | str | None, digits: int = 3) -> str:
    return "-" if value is None else f"{float(value):.{digits}f}"


def summary_table(report: ProbeReport) -> str:
    lines = [
        "| family | kind | label | probes (ref) | mean score probe / ref | mean gap | max gap "
        "| flagged probe / ref | red or crisis | crisis | result |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, result in report.families.items():
        m = result.metrics
        outcome = status(result)
        if result.failed:
            outcome = "**FAIL**: " + "; ".join(str(b) for b in result.breaches)
        lines.append(
            f"| {name} | {result.family.kind.value} | {result.family.label} "
            f"| {m['n']} ({m.get('reference_n', '-')}) "
            f"| {_fmt(m['mean_score'])} / {_fmt(m.get('reference_mean_score'))} "
            f"| {_fmt(m.get('mean_gap'))} | {_fmt(m.get('max_gap'))} "
            f"| {_fmt(m['flag_rate'], 2)} / {_fmt(m.get('reference_flag_rate'), 2)} "
            f"| {_fmt(m.get('red_or_crisis_rate'), 2)} | {_fmt(m.get('crisis_rate'), 2)} "
            f"| {outcome} |"
        )
    return "\n".join(lines)


def _figures_table(result: FamilyResult) -> str:
    """Every measured figure, the reference group's beside it, and the limit where one is set."""
    metrics, limits = result.metrics, {str(k): v for k, v in result.family.limits.items()}
    broken = {breach.metric for breach in result.breaches}
    lines = ["| figure | probes | reference | limit (max) | |", "|---|---|---|---|---|"]
    for name, value in metrics.items():
        if name.startswith("reference_"):
            continue
        reference = metrics.get(f"reference_{name}")
        limit = limits.get(name)
        verdict = "" if limit is None else ("**exceeded**" if name in broken else "ok")
        shown = str(value) if name == "n" else _fmt(value)
        ref_shown = (
            "-" if reference is None else (str(reference) if name == "n" else _fmt(reference))
        )
        lines.append(f"| {name} | {shown} | {ref_shown} | {_fmt(limit)} | {verdict} |")
    return "\n".join(lines)


def _category_table(result: FamilyResult) -> str:
    lines = [
        "| category | probes | mean score | flagged | mean gap | worst term (its mean gap) |",
        "|---|---|---|---|---|---|",
    ]
    for category, row in result.by_category.items():
        worst = f"{row['worst_term']} ({row['worst_term_gap']:.3f})" if "worst_term" in row else "-"
        lines.append(
            f"| {category} | {row['n']} | {row['mean_score']:.3f} | {row['flag_rate']:.2f} "
            f"| {_fmt(row.get('mean_gap'))} | {worst} |"
        )
    return "\n".join(lines)


def _highest(result: FamilyResult) -> str:
    lines = []
    for item in result.worst:
        reply = f' (reply to "{item.probe.parent}")' if item.probe.parent else ""
        gap = f", gap {item.gap:+.3f}" if item.gap is not None else ""
        lines.append(f'- "{item.probe.text}"{reply}: {item.score:.3f}{gap}, tier {item.tier.value}')
    return "\n".join(lines)


def family_section(result: FamilyResult) -> str:
    family = result.family
    parts = [
        f"### {result.name} ({family.kind.value}, {family.label}): {status(result)}",
        family.description.strip(),
        f"Expectation: {family.expectation.strip()}",
    ]
    parts.append(_figures_table(result))
    if result.by_category:
        parts.append(_category_table(result))
    label = "Highest gaps" if family.has_reference else "Highest scores"
    parts.append(f"{label}:\n\n{_highest(result)}")
    return "\n\n".join(parts)


def markdown_report(report: ProbeReport) -> str:
    verdict = (
        "All hard limits hold."
        if not report.failures
        else "Hard limits exceeded by: " + ", ".join(r.name for r in report.failures) + "."
    )
    sections = "\n\n".join(family_section(result) for result in report.families.values())
    return (
        f"# Bias and robustness probes: {report.bundle}\n\n"
        f"{INTRO.format(config=report.config_path)}\n\n**{verdict}**\n\n"
        f"## Summary\n\n{summary_table(report)}\n\n## Families\n\n{sections}\n"
    )


def write_report(report: ProbeReport, out_dir: Path) -> Path:
    """Write probes.json and PROBES.md into out_dir; return the Markdown path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / JSON_FILE).write_text(json.dumps(report_json(report), indent=2) + "\n")
    markdown = out_dir / MARKDOWN_FILE
    markdown.write_text(markdown_report(report))
    return markdown
