"""`triage evaluate-corumination`: pair and thread corumination on the annotated test data."""

from __future__ import annotations

from pathlib import Path

import click

from triage.paths import DEFAULT_ANNOTATIONS, DEFAULT_BUNDLE, DEFAULT_PREPARED

EXISTING_DIR = click.Path(exists=True, file_okay=False, path_type=Path)


@click.command("evaluate-corumination")
@click.option(
    "--bundle",
    "bundle_dir",
    type=EXISTING_DIR,
    default=DEFAULT_BUNDLE,
    show_default=True,
    help="Bundle to evaluate (needs a trained corumination head).",
)
@click.option(
    "--data",
    "data_dir",
    type=EXISTING_DIR,
    default=DEFAULT_PREPARED,
    show_default=True,
    help="Prepared data (`triage data prepare`): dev and test splits are read.",
)
@click.option(
    "--annotations",
    "annotations_dir",
    type=EXISTING_DIR,
    default=DEFAULT_ANNOTATIONS,
    show_default=True,
    help="Label files and manifests (pairs, threads, strata).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Report folder (default: <bundle>/evaluation).",
)
def evaluate_corumination(
    bundle_dir: Path, data_dir: Path, annotations_dir: Path, out_dir: Path | None
) -> None:
    """Score the annotated test pairs and threads for corumination next to a baseline.

    Pairs: the model's pair score against negative-affect overlap (the parent's and the reply's
    max(distress, self_harm), each scored alone, multiplied), overall, per sampling stratum and
    over the random strata; PR-AUC, F1 at thresholds chosen on dev, and bootstrap intervals.
    Threads: the thread score of triage/scoring/threads.py (and the highest pair score alone)
    against
    the same baseline. Writes corumination.json and CORUMINATION.md.
    """
    from triage.training.evaluation.corumination_eval import (
        CoruminationEvalError,
        evaluate_corumination,
    )

    out_dir = out_dir or bundle_dir / "evaluation"
    try:
        report = evaluate_corumination(bundle_dir, data_dir, annotations_dir, out_dir)
    except (CoruminationEvalError, FileNotFoundError) as error:
        raise click.ClickException(str(error)) from None
    pairs = report["pairs"]["metrics"]["all"]
    threads = report["threads"]["test"]
    click.echo(
        f"pairs: {pairs['pair_model']['n']} test pairs, {pairs['pair_model']['positives']} "
        f"positive; PR-AUC model {_fmt(pairs['pair_model']['pr_auc'])}, baseline "
        f"{_fmt(pairs['baseline_negative_overlap']['pr_auc'])}"
    )
    if threads.get("threads"):
        scores = threads["metrics"]["all"]
        click.echo(
            f"threads: {threads['threads']} test threads, {scores['thread_score']['positives']} "
            f"positive; PR-AUC thread score {_fmt(scores['thread_score']['pr_auc'])}, baseline "
            f"{_fmt(scores['baseline_negative_overlap']['pr_auc'])}"
        )
    click.echo(f"wrote {out_dir / 'CORUMINATION.md'}")


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"
