"""`triage evaluate-loso`: leave-one-source-out figures (triage/training/evaluation/loso.py)."""

from __future__ import annotations

import shlex
from pathlib import Path

import click

from triage.domain.labels import LABELS
from triage.paths import DEFAULT_LOSO_CACHE, DEFAULT_LOSO_REPORT, DEFAULT_PREPARED, PROJECT_ROOT

LOSO_FEATURES = (
    "tfidf",
    "minilm",
    "use",
)  # triage.training.fit.frozen_features.FEATURES, without its imports


def _comma_list(allowed: tuple[str, ...], combinable: tuple[str, ...] = ()):
    """A click callback: "a,b" -> ("a", "b"), each name allowed or combinable ones joined by +."""

    def known(name: str) -> bool:
        parts = name.split("+")
        if len(parts) == 1:
            return name in allowed
        return len(set(parts)) == len(parts) and all(part in combinable for part in parts)

    def parse(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, ...]:
        names = tuple(dict.fromkeys(v.strip() for v in value.split(",") if v.strip()))
        unknown = [n for n in names if not known(n)]
        if unknown or not names:
            joined = f", or {' and '.join(combinable)} joined by +" if combinable else ""
            raise click.BadParameter(
                f"{', '.join(unknown) or 'nothing given'}: expected a comma list of "
                f"{', '.join(allowed)}{joined}"
            )
        return names

    return parse


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


@click.command("evaluate-loso")
@click.option(
    "--data",
    "data_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_PREPARED,
    show_default=True,
    help="Prepared data (`triage data prepare`): train, dev and test splits are read.",
)
@click.option(
    "--labels",
    default="hostile,spam",
    show_default=True,
    callback=_comma_list(LABELS),
    help="Comma list of labels to evaluate.",
)
@click.option(
    "--features",
    default=",".join(LOSO_FEATURES),
    show_default=True,
    callback=_comma_list(LOSO_FEATURES, combinable=("minilm", "use")),
    help="Comma list of frozen feature sets: tfidf (word 1-2 grams), minilm (the base "
    "encoder, torch on one thread), use (multilingual USE v3, numpy on one thread), or "
    "embeddings side by side joined by + (minilm+use).",
)
@click.option(
    "--max-rows-per-source",
    type=click.IntRange(min=20),
    default=3000,
    show_default=True,
    help="At most this many train rows and this many evaluation rows per source (a seeded sample).",
)
@click.option("--seed", type=int, default=13, show_default=True, help="Sampling seed.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_LOSO_REPORT,
    show_default=True,
    help="Markdown report; the JSON goes next to it (.json). Text after the keep-marker line of "
    "an earlier report is kept.",
)
@click.option(
    "--cache",
    "cache_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_LOSO_CACHE,
    show_default=True,
    help="Embedding cache, one folder per encoder; a rerun only encodes what is missing.",
)
def evaluate_loso(
    data_dir: Path,
    labels: tuple[str, ...],
    features: tuple[str, ...],
    max_rows_per_source: int,
    seed: int,
    out: Path,
    cache_dir: Path,
) -> None:
    """Leave-one-source-out ROC-AUC and PR-AUC of frozen features + logistic regression.

    For each label and each source carrying it (both classes, at least 10 of each), a
    class-balanced logistic regression is trained on the train rows of every OTHER source
    carrying the label and scored on the held-out source's test split (or all its rows when its
    test split lacks a class); next to it the in-domain figure (trained on all those sources'
    train rows). Replies are read with their parent: embeddings [reply, parent, reply*parent],
    TF-IDF a prefixed parent field. Embeddings are frozen, mean-pooled, L2-normalised and cached
    under --cache, so an interrupted run resumes. Writes --out (Markdown) and its .json.
    """
    from triage.training.evaluation.loso import LosoConfig, load_rows, run_loso, write_report
    from triage.training.fit.frozen_features import make_featurizers

    if not (data_dir / "train.jsonl").is_file():
        raise click.ClickException(
            f"--data {data_dir}: no train.jsonl there; run `triage data prepare --out {data_dir}`"
        )
    config = LosoConfig(data_dir, labels, features, max_rows_per_source, cache_dir, seed)
    try:
        featurizers = make_featurizers(features, cache_dir)
    except RuntimeError as error:
        raise click.ClickException(str(error)) from None
    report = run_loso(load_rows(data_dir), config, featurizers)
    command = shlex.join(
        [
            "triage", "evaluate-loso", "--data", _shown(data_dir), "--labels", ",".join(labels),
            "--features", ",".join(features), "--max-rows-per-source", str(max_rows_per_source),
            "--seed", str(seed), "--out", _shown(out),
        ]
    )  # fmt: skip
    write_report(report, out, command)
    click.echo(f"wrote {out} and {out.with_suffix('.json')}")
