"""`triage data annotations ...`: the project's own annotations (registered in cli/main.py).

Guidelines: docs/annotation/self_harm_tiers.md and docs/annotation/corumination.md. Design of
the sample and the files: annotations/README.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from triage.paths import (
    DEFAULT_ANNOTATION_WORK,
    DEFAULT_ANNOTATIONS,
    DEFAULT_BUNDLE,
    DEFAULT_DATASETS,
)

if TYPE_CHECKING:
    from triage.training.annotations.sample import SampleResult

_DIR = click.Path(file_okay=False, path_type=Path)
_EXISTING_DIR = click.Path(exists=True, file_okay=False, path_type=Path)

WORK_OPTION = click.option(
    "--work",
    "work_dir",
    type=_DIR,
    default=DEFAULT_ANNOTATION_WORK,
    show_default=True,
    help="Batch files and annotator output (holds dataset text: gitignored).",
)
ANNOTATIONS_OPTION = click.option(
    "--annotations",
    "annotations_dir",
    type=_DIR,
    default=DEFAULT_ANNOTATIONS,
    show_default=True,
    help="Manifests and label files (ids and labels only; kept in the repository).",
)


# not named `annotations`: that name is taken by `from __future__ import annotations`
@click.group("annotations")
def annotations_group() -> None:
    """Sample items to annotate, import and check annotator labels, join texts, agreement.

    Risk tiers (issue 6), corumination (issue 7) and hostile replies in context (issue 13);
    guidelines in docs/annotation/.
    """


@annotations_group.command("sample")
@click.option(
    "--data",
    "data_dir",
    type=_EXISTING_DIR,
    required=True,
    help="A prepared data folder (`triage data prepare --out ...`).",
)
@WORK_OPTION
@ANNOTATIONS_OPTION
@click.option(
    "--round",
    "round_",
    type=click.IntRange(1, 2),
    default=1,
    show_default=True,
    help="Sampling round: 1 (tiers, pairs, threads) or 2 (tiers only, guideline v2, issue 13; "
    "leaves round 1's files as they are).",
)
@click.option("--seed", type=int, default=None, help="Sampling seed (default: the config's).")
@click.option("--tiers", type=int, default=None, help="Posts to sample for risk tiers.")
@click.option(
    "--pairs",
    type=int,
    default=None,
    help="(parent, reply) pairs: for corumination, or with --kind hostile_pairs for hostility.",
)
@click.option("--threads", type=int, default=None, help="Threads for corumination.")
@click.option("--double-tiers", type=int, default=None, help="Posts annotated twice (blind).")
@click.option("--double-pairs", type=int, default=None, help="Pairs annotated twice (blind).")
@click.option("--batch-size", type=int, default=None, help="About this many items per batch.")
@click.option(
    "--kind",
    type=click.Choice(["hostile_pairs"]),
    default=None,
    help="Sample one kind on its own: hostile_pairs (issue 13: replies read with their parent; "
    "--pairs, --double-pairs, --batch-size and --seed size it; other kinds' files are left as "
    "they are). Without it, --round decides.",
)
@click.option(
    "--bundle",
    "bundle_dir",
    type=_DIR,
    default=DEFAULT_BUNDLE,
    show_default=True,
    help="hostile_pairs: the bundle whose self_harm / distress flags mark a parent vulnerable.",
)
@click.option(
    "--no-model",
    is_flag=True,
    help="hostile_pairs: judge parents vulnerable by disclosure words only (no bundle).",
)
@click.option("--force", is_flag=True, help="Sample even if annotator output is in --work.")
def sample_command(
    data_dir: Path,
    work_dir: Path,
    annotations_dir: Path,
    round_: int,
    kind: str | None,
    bundle_dir: Path,
    no_model: bool,
    force: bool,
    **sizes: int | None,
) -> None:
    """Draw the items to annotate (seeded) and write batch files and manifests.

    Batches (JSONL: id and text / parent_text / turns, nothing else) go to --work; manifests
    (ids, source, split, stratum, batch; no text) and sample.json go to --annotations. Round 2
    writes tiers-r2-* batches, ANNOTATOR_BRIEF.md and manifest_tiers_r2.csv; --kind
    hostile_pairs writes hostile-* batches, HOSTILE_BRIEF.md and manifest_hostile_pairs.csv.
    """
    from triage.training.annotations.sample import counts

    overrides = {name: value for name, value in sizes.items() if value is not None}
    try:
        if kind == "hostile_pairs":
            if round_ != 1:
                raise ValueError("--kind hostile_pairs has one sampling round: leave --round out")
            model = None if no_model else bundle_dir
            result = _run_hostile_sample(
                data_dir, work_dir, annotations_dir, model, force, overrides
            )
        else:
            result = _run_sample(data_dir, work_dir, annotations_dir, round_, force, overrides)
    except (ValueError, FileExistsError, FileNotFoundError) as error:
        raise click.ClickException(str(error)) from None
    for kind, manifest in result.manifests.items():
        summary = counts(manifest)
        click.echo(f"{kind}: {summary['total']} items ({summary['double_annotated']} twice)")
        for key in ("stratum", "source", "split"):
            click.echo(f"  {key}: " + ", ".join(f"{k} {v}" for k, v in summary[key].items()))
        short = {k: v for k, v in result.shortfalls[kind].items() if v}
        if short:
            click.echo(f"  short (passed to the next stratum): {short}")
    click.echo("batches: " + ", ".join(f"{k} ({v})" for k, v in result.batch_sizes.items()))
    click.echo(f"wrote batches to {work_dir} and manifests to {annotations_dir}")


def _sizes(overrides: dict[str, int]) -> dict[str, Any]:
    """The size options as `dataclasses.replace` keywords: the type checker cannot tell which
    config fields they name, so it would hold the ints against every field's type."""
    return overrides


_ROUND2_SIZES = frozenset({"seed", "tiers", "double_tiers", "batch_size"})


def _run_sample(
    data_dir: Path,
    work_dir: Path,
    annotations_dir: Path,
    round_: int,
    force: bool,
    overrides: dict[str, int],
) -> SampleResult:
    from dataclasses import replace

    from triage.training.annotations.sample import Round2Config, SampleConfig, sample, sample_round2

    if round_ == 1:
        config = replace(SampleConfig(), **_sizes(overrides))
        return sample(data_dir, work_dir, annotations_dir, config, force=force)
    other = sorted(set(overrides) - _ROUND2_SIZES)
    if other:
        options = ", ".join("--" + name.replace("_", "-") for name in other)
        raise ValueError(f"round 2 samples tiers only: {options} do not apply")
    config2 = replace(Round2Config(), **_sizes(overrides))
    return sample_round2(data_dir, work_dir, annotations_dir, config2, force=force)


_HOSTILE_SIZES = frozenset({"seed", "pairs", "double_pairs", "batch_size"})


def _run_hostile_sample(
    data_dir: Path,
    work_dir: Path,
    annotations_dir: Path,
    bundle_dir: Path | None,
    force: bool,
    overrides: dict[str, int],
) -> SampleResult:
    from dataclasses import replace

    from triage.scoring.bundle import BundleError
    from triage.training.annotations.hostile_sample import (
        BundleFlagger,
        HostileConfig,
        sample_hostile,
    )

    other = sorted(set(overrides) - _HOSTILE_SIZES)
    if other:
        options = ", ".join("--" + name.replace("_", "-") for name in other)
        raise ValueError(f"--kind hostile_pairs samples pairs only: {options} do not apply")
    config = replace(HostileConfig(), **_sizes(overrides))
    try:
        flagger = BundleFlagger(bundle_dir) if bundle_dir is not None else None
    except BundleError as error:  # the CLI reports ValueErrors; --no-model needs no bundle
        raise ValueError(f"{error} (or pass --no-model)") from None
    return sample_hostile(data_dir, work_dir, annotations_dir, config, flagger, force=force)


@annotations_group.command("import")
@WORK_OPTION
@ANNOTATIONS_OPTION
@click.option("--partial", is_flag=True, help="Accept batches with some items not labelled.")
def import_command(work_dir: Path, annotations_dir: Path, partial: bool) -> None:
    """Check every <batch>.labels.jsonl in --work and merge it into the label files.

    Every problem (unknown id, bad label, evidence quote not found verbatim, missing items...)
    is listed, and nothing is written unless every file is clean.
    """
    from triage.training.annotations.importing import AnnotationImportError, import_labels

    try:
        summary = import_labels(work_dir, annotations_dir, partial=partial)
    except (AnnotationImportError, FileNotFoundError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"imported {len(summary.files)} files")
    for kind, counter in summary.counts.items():
        for pass_ in (1, 2):
            cells = {label: n for (p, label), n in sorted(counter.items()) if p == pass_}
            if cells:
                click.echo(f"  {kind} pass {pass_}: {cells}")


@annotations_group.command("join")
@click.option(
    "--kind",
    type=click.Choice(["tiers", "pairs", "threads", "hostile_pairs"]),
    required=True,
    help="Which label file to join.",
)
@click.option(
    "--source",
    "source_dir",
    type=_EXISTING_DIR,
    default=DEFAULT_DATASETS,
    show_default=True,
    help="Folder holding one sub-folder per public dataset.",
)
@click.option(
    "--out",
    "out_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="JSONL to write (keep it out of the repository: it holds dataset text).",
)
@ANNOTATIONS_OPTION
def join_command(kind: str, source_dir: Path, out_path: Path, annotations_dir: Path) -> None:
    """Write the labels with their texts (from the dataset folder, by adapter row id)."""
    from triage.training.annotations.join import join_labels

    try:
        count = join_labels(kind, annotations_dir, source_dir, out_path)
    except (ValueError, FileNotFoundError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"wrote {count} labelled {kind} with their texts to {out_path}")


@annotations_group.command("agreement")
@ANNOTATIONS_OPTION
def agreement_command(annotations_dir: Path) -> None:
    """Cohen's kappa between pass 1 and pass 2; prints it and writes AGREEMENT.md."""
    from triage.training.annotations.agreement import write_agreement

    try:
        results, path = write_agreement(annotations_dir)
    except (ValueError, FileNotFoundError) as error:
        raise click.ClickException(str(error)) from None
    if not results:
        click.echo("no item is labelled in both passes yet")
    for result in results:
        click.echo(f"{result.title}: {len(result.pairs)} items in both passes")
        for name, (value, low, high) in result.kappas.items():
            click.echo(f"  kappa {name}: {value:.3f} ({low:.3f} to {high:.3f})")
        for line in result.per_label():
            click.echo(
                f"  {line.label}: pass 1 {line.first}, pass 2 {line.second}, "
                f"agreement {line.agreement:.3f}, kappa {line.kappa:.3f}"
            )
    click.echo(f"wrote {path}")
