"""`triage rescore`: bulk re-scoring on Ray Data (registered in cli/main.py).

Ray is imported only when the command runs (triage/rescore/engine.py), and its absence is an
error that says which extra to install.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from triage.cli.admin import DATABASE_OPTION
from triage.rescore import DEFAULT_PART_SIZE
from triage.settings import Settings

if TYPE_CHECKING:
    from triage.rescore.parts import Format

SCALE_MISSING = (
    "`triage rescore` runs on Ray Data, which is not installed: pip install 'triage[scale]' "
    "(in a clone: .venv/bin/pip install -e '.[scale]', or make venv-dev)"
)


def _require_scale() -> None:
    try:
        import pyarrow  # noqa: F401
        import ray.data  # noqa: F401
    except ImportError:
        raise click.ClickException(SCALE_MISSING) from None


@click.command("rescore")
@click.argument(
    "input_path", metavar="IN", type=click.Path(exists=True, path_type=Path), required=True
)
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the numbered part files and manifest.json; the same command with the "
    "same folder resumes an interrupted run.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["parquet", "jsonl"]),
    default="parquet",
    show_default=True,
    help="Format of the part files.",
)
@click.option(
    "--bundle",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Model bundle folder: the new bundle (default: TRIAGE_BUNDLE_DIR or the shipped one).",
)
@click.option(
    "--address",
    default=None,
    help="A Ray cluster to run on (e.g. auto, or ray://head:10001); default: RAY_ADDRESS, else "
    "a local Ray on this machine for the run.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Ray actors, each with its own scorer [default: one per core of this machine or "
    "the cluster, divided by --threads].",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="ONNX threads per actor (and the CPUs Ray reserves for each).",
)
@click.option(
    "--part-size",
    type=click.IntRange(min=1),
    default=DEFAULT_PART_SIZE,
    show_default=True,
    help="Lines (rows) per part: the unit of work, of output files and of resuming.",
)
@click.option(
    "--max-parts",
    type=click.IntRange(min=1),
    default=None,
    help="Score at most this many of the parts still to do, then stop; a rerun goes on.",
)
@click.option(
    "--write-back",
    is_flag=True,
    help="Then write the new scores of every complete part into the queue database: items "
    "not yet resolved are re-scored and re-ranked, each with a `rescored` event.",
)
@click.option(
    "--community",
    default=None,
    help="The community of the input's posts, for --write-back [default: default, the API's].",
)
@DATABASE_OPTION
def rescore(
    input_path: Path,
    out_dir: Path,
    output_format: Format,  # click.Choice allows only these
    bundle: Path | None,
    address: str | None,
    workers: int | None,
    threads: int,
    part_size: int,
    max_parts: int | None,
    write_back: bool,
    community: str | None,
    database_url: str | None,
) -> None:
    """Re-score a backlog with a (new) bundle on Ray Data, locally or on a cluster.

    IN is a JSONL file of {"id", "text", "parent_text"?} lines (as score-file reads), a
    Parquet file with those columns, or a folder of Parquet files. Each part of --part-size
    lines is scored by one Ray actor (the ONNX scorer is loaded once per actor) and written
    to OUT/part-NNNNN.parquet (or .jsonl): per line what score-file writes (scores, flags,
    tier, priority, reasons, evidence...), plus `model_version`, `tier_uncertain`,
    `spam_withheld_by` and `text_digest`. A repeated id is an error line within a part, not
    across parts. Exit status 1 when any line of this run failed, else 0.
    """
    _require_scale()
    from triage.rescore import engine
    from triage.rescore.parts import RescoreError
    from triage.scoring.bundle import BundleError

    overrides: dict[str, Any] = {"bundle_dir": bundle} if bundle else {}
    settings = Settings(**overrides)
    job = engine.RescoreJob(
        input_path=input_path,
        out_dir=out_dir,
        scorer=engine.ScorerOptions.of(settings),
        output_format=output_format,
        part_size=part_size,
        workers=workers,
        threads=threads,
        address=address,
        max_parts=max_parts,
    )
    try:
        summary = engine.run(job)
    except (RescoreError, BundleError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(_run_line(summary, out_dir), err=True)
    if write_back:
        _write_back(settings, out_dir, community, database_url)
    if summary.failed:
        click.echo(
            f'{summary.failed} of {summary.lines} lines failed (their records have "error")',
            err=True,
        )
        raise click.exceptions.Exit(1)


def _run_line(summary, out_dir: Path) -> str:
    done = (
        f"; {summary.already_done} of {summary.parts} parts were done before"
        if summary.already_done
        else ""
    )
    line = (
        f"scored {summary.scored_parts} parts ({summary.lines} lines) with "
        f"{summary.model_version} on {summary.workers} workers in {summary.seconds:.1f} s "
        f"({summary.lines_per_second:.1f} lines/s){done} -> {out_dir}"
    )
    if summary.remaining:
        line += f"\n{summary.remaining} parts remain: run the same command again to go on"
    return line


def _write_back(
    settings: Settings, out_dir: Path, community: str | None, database_url: str | None
) -> None:
    from triage.cli.admin import _database
    from triage.queue.alerts import create
    from triage.rescore.writeback import thread_threshold, write_back
    from triage.scoring.bundle import load_bundle
    from triage.service.api.queue_schemas import DEFAULT_COMMUNITY

    db = _database(database_url)
    try:
        alerts = create(settings, db)  # records alerts for the service's senders to deliver
        done = write_back(
            db,
            out_dir,
            community or DEFAULT_COMMUNITY,
            settings.tier_rules,
            thread_threshold(load_bundle(settings.bundle_dir)),
            alerts=alerts,
        )
    finally:
        db.dispose()
    click.echo(
        f"write-back: {done.rescored} items re-scored and re-ranked (a `rescored` event each), "
        f"{done.unchanged} already had these scores, {done.resolved} resolved left as they "
        f"were, {done.text_differs} whose stored text is not the text scored left as they "
        f"were, {done.not_in_queue} of the {done.records} scored lines not in the queue",
        err=True,
    )
    if done.raised_to_urgent:
        click.echo(
            f"write-back: {done.raised_to_urgent} items raised to crisis or red; "
            + (
                "alerts recorded for the tiers TRIAGE_WEBHOOK_ON names, for the service to send"
                if alerts is not None
                else "no webhook alert recorded: TRIAGE_WEBHOOK_URLS is not set"
            ),
            err=True,
        )
