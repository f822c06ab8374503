"""The test-split figures as Markdown tables: evaluation/EVALUATION.md and the model card show
the same tables (export/card.py imports them from here)."""

from __future__ import annotations

from triage.domain.labels import LABELS


def fmt_metric(value: float) -> str:
    return "n/a" if value != value else f"{value:.3f}"  # NaN-safe


def metrics_table(metrics: dict) -> str:
    lines = [
        "| label | n (pos) | PR-AUC int8 | PR-AUC fp32 | PR-AUC TF-IDF+LR | ROC-AUC int8 | F1 int8 @thr | P / R int8 | R@P0.8 int8 | ECE int8 | F1 TF-IDF+LR |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label in LABELS:
        int8 = metrics["int8_onnx"].get(label)
        if not int8:
            continue
        fp32 = metrics.get("fp32_torch", {}).get(label, {})
        base = metrics["tfidf_lr_baseline"].get(label, {})
        lines.append(
            f"| {label} | {int8['n']} ({int8['positives']}) | **{fmt_metric(int8['pr_auc'])}** | "
            f"{fmt_metric(fp32.get('pr_auc', float('nan')))} | {fmt_metric(base.get('pr_auc', float('nan')))} | "
            f"{fmt_metric(int8['roc_auc'])} | {fmt_metric(int8['f1'])} @{int8['threshold']:.3f} | "
            f"{fmt_metric(int8['precision'])} / {fmt_metric(int8['recall'])} | "
            f"{fmt_metric(int8.get('recall_at_precision_0.8', float('nan')))} | {fmt_metric(int8.get('ece', float('nan')))} | "
            f"{fmt_metric(base.get('f1', float('nan')))} |"
        )
    return "\n".join(lines)


def source_table(metrics: dict) -> str:
    """Each label on each source's own test rows: the numbers comparable to published work."""
    lines = [
        "| label | source | n (pos) | PR-AUC int8 | PR-AUC TF-IDF+LR | ROC-AUC int8 | ROC-AUC TF-IDF+LR | F1 int8 | F1 TF-IDF+LR | macro-F1 int8 |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label in LABELS:
        for source, models in sorted(metrics.get("by_source", {}).items()):
            int8 = models["int8_onnx"].get(label)
            base = models["tfidf_lr_baseline"].get(label, {})
            if not int8:
                continue
            nan = float("nan")
            lines.append(
                f"| {label} | {source} | {int8['n']} ({int8['positives']}) | {fmt_metric(int8['pr_auc'])} | "
                f"{fmt_metric(base.get('pr_auc', nan))} | {fmt_metric(int8['roc_auc'])} | {fmt_metric(base.get('roc_auc', nan))} | "
                f"{fmt_metric(int8['f1'])} | {fmt_metric(base.get('f1', nan))} | "
                f"{fmt_metric(int8.get('macro_f1', nan))} |"
            )
    return "\n".join(lines)


def tier_section(tiers: dict | None) -> str:
    """The tier report (training/evaluation/tier_eval.py) as Markdown: the head against the rule baseline."""
    if not tiers:
        return "No annotated test posts: the tier report was not computed.\n"
    rows = []
    for name, title in (
        ("tier_head", "ordinal tier head"),
        ("baseline_binary_flag_rule", "baseline: configs/tiers.yaml rule on the self_harm flag"),
    ):
        m = tiers.get(name)
        if m:
            rows.append(
                f"| {title} | {m['macro_f1']:.3f} | {m['macro_f1_non_green']:.3f} | "
                f"{m['urgent_recall']:.3f} | {m['urgent_ppv']:.3f} | "
                + " / ".join(f"{m['f1'][t]:.2f}" for t in m["confusion"]["order"])
                + " |"
            )
    first = tiers.get("tier_head") or tiers["baseline_binary_flag_rule"]
    order = first["confusion"]["order"]
    matrix = "\n".join(
        f"| {gold} | " + " | ".join(str(v) for v in values) + " |"
        for gold, values in zip(
            order, first["confusion"]["rows_annotated_cols_predicted"], strict=True
        )
    )
    uncertain = first.get("uncertain_routed_to_amber")
    return (
        f"{first['posts']} annotated test posts ({first['urgent_posts']} crisis or red).\n\n"
        "| model | macro-F1 (4 tiers) | macro-F1 (non-green) | urgent recall | urgent PPV | "
        "F1 crisis / red / amber / green |\n|---|---|---|---|---|---|\n"
        + "\n".join(rows)
        + "\n\nConfusion of the shipped tiers (rows: annotated, columns: predicted):\n\n"
        f"| | {' | '.join(order)} |\n|---|{'---|' * len(order)}\n{matrix}\n"
        + (
            f"\n{uncertain} posts were routed to amber by the uncertain band.\n"
            if uncertain
            else ""
        )
    )
