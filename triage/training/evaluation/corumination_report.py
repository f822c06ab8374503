"""CORUMINATION.md: the report of triage/training/evaluation/corumination_eval.py as Markdown."""

from __future__ import annotations

NAMES = {
    "pair_model": "pair score (model)",
    "thread_score": "thread score (triage/scoring/threads.py)",
    "pair_max_only": "highest pair score alone",
    "baseline_negative_overlap": "baseline: negative-affect overlap",
}

CAVEATS = """\
## Read this first

- **Labels.** Pass-1 labels of `annotations/corumination_pairs.csv` and
  `annotations/corumination_threads.csv` (positive = some or strong); agreement and who
  annotated are in `annotations/AGREEMENT.md`.
- **The strata are not a random sample.** Half of the pairs were drawn from `enriched_*` strata
  chosen by a keyword heuristic (negative-affect words on both sides, "me too", no coping word),
  so positives are far more common there than in a forum, and the heuristic's ingredients are
  close to this report's baseline and to the thread score's coping signal. Figures pooled over
  all strata ("all") mix these populations: read the per-stratum rows, and "random strata pooled"
  (three sources drawn at random, in fixed shares rather than in proportion to a forum) for the
  closest thing to a natural rate. Prevalence is a random ranker's PR-AUC.
- **Thresholds come from dev**: the pair model's is the bundle's (max F1 on the dev pairs at
  export), the baseline's is max F1 on the same dev pairs; thread scores use the threshold of
  their pair score. Nothing here was tuned on test.
- **Threads are few.** The test split holds very few positive threads (see the table); one
  thread moves PR-AUC by a tenth or more. The thread figures show that the path works and how the
  scores order these threads, not that the thread score is better or worse than anything.
  "dev and test" adds the dev threads (not used to fit anything of the thread formula, which is
  fixed; the pair head's calibration used dev pairs) for a few more positives.
"""


def _fmt(value) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


COLUMNS = (
    "n",
    "positives",
    "prevalence",
    "pr_auc",
    "roc_auc",
    "threshold",
    "precision",
    "recall",
    "f1",
)


def _cell(found: dict, key: str) -> str:
    if key == "threshold":
        return f"{found[key]:.3g}"
    return _fmt(found[key])


def metrics_table(section: dict) -> str:
    lines = [
        "| group | score | n | positives | prevalence | PR-AUC | ROC-AUC | threshold | "
        "precision | recall | F1 |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for group, by_name in section.items():
        for name, found in by_name.items():
            cells = [group, NAMES.get(name, name), *(_cell(found, k) for k in COLUMNS)]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _bootstrap(interval: dict | None, first: str) -> str:
    if not interval:
        return "Bootstrap intervals: not computed (fewer than 2 positives).\n"
    return (
        "PR-AUC, 95% bootstrap intervals (1,000 paired resamples of the units): "
        f"{first} {interval['model']}, baseline {interval['baseline']}, "
        f"difference {interval['difference']}.\n"
    )


def _thread_part(title: str, section: dict) -> str:
    if not section.get("threads"):
        return f"### {title}\n\nNo annotated thread found ({section.get('missing', 0)} missing).\n"
    return (
        f"### {title}\n\n{section['threads']} threads (median {section['posts_median']:g} posts; "
        f"{section['missing']} annotated threads not found in the prepared data); levels "
        f"{section['levels']}.\n\n{metrics_table(section['metrics'])}\n\n"
        + _bootstrap(section["bootstrap_pr_auc"], "thread score")
    )


def markdown_report(report: dict) -> str:
    pairs, threads = report["pairs"], report["threads"]
    bundle = report["bundle"]
    return (
        f"# Corumination: {bundle['name']} {bundle['version']}\n\n"
        "Written by `triage evaluate-corumination` "
        "(triage/training/evaluation/corumination_eval.py) "
        "from "
        f"`{report['data']}`. Baseline: negative affect (max of the model's distress and "
        "self_harm, each text scored on its own) of the parent times that of the reply; for a "
        "thread, the highest over its (parent, reply) pairs.\n\n"
        f"{CAVEATS}\n"
        "## Pairs (annotated test pairs)\n\n"
        f"Levels: {pairs['levels']}; dev pairs used for the baseline's threshold: "
        f"{pairs['dev_pairs']}.\n\n{metrics_table(pairs['metrics'])}\n\n"
        + _bootstrap(pairs["bootstrap_pr_auc"], "pair model")
        + "\nStricter label, `strong` only (same thresholds):\n\n"
        f"{metrics_table({'all': pairs['strong_only']})}\n\n"
        "## Threads (annotated ToxiChat threads)\n\n"
        "Thread score = highest pair score x (0.5 + 0.5 x mean of repetition, negative affect "
        "level + trend, and absence of coping cues from the top reply on); see "
        'triage/scoring/threads.py. "Highest pair score alone" is the same without the thread '
        "signals.\n\n"
        + _thread_part("Test threads", threads["test"])
        + "\n"
        + _thread_part("Dev and test threads", threads["dev_and_test"])
    )
