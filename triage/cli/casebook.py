"""`triage evaluate-casebook`: the evaluation casebook (casebook/, issue 13) per category."""

from __future__ import annotations

from pathlib import Path

import click

from triage.paths import DEFAULT_BUNDLE, DEFAULT_CASEBOOK, DEFAULT_CONFIG_DIR

EXISTING_DIR = click.Path(exists=True, file_okay=False, path_type=Path)


@click.command("evaluate-casebook")
@click.option(
    "--bundle",
    "bundle_dir",
    type=EXISTING_DIR,
    default=DEFAULT_BUNDLE,
    show_default=True,
    help="Bundle to evaluate.",
)
@click.option(
    "--casebook",
    "casebook_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=DEFAULT_CASEBOOK,
    show_default=True,
    help="Casebook JSONL (format in casebook/README.md).",
)
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Markdown report to write; the JSON goes beside it with a .json suffix "
    "(default: <bundle>/evaluation/CASEBOOK.md).",
)
def evaluate_casebook(bundle_dir: Path, casebook_path: Path, out_path: Path | None) -> None:
    """Score the evaluation casebook with a bundle and report it per category and target.

    Every case is scored through the serving scorer (replies with their parent), with the
    bundle's own thresholds and tier head. The report gives, per category, the cases, the tier
    confusion counts, the share at the casebook's tier and the flag rate of each label against
    the share labelled 1; the tier confusion matrix over all cases; issue 13's targets (crisis
    called crisis >= 0.6, none called green, urgent recall >= 0.9, amber called amber >= 0.5,
    green called crisis or red <= 0.1, hostile-score ROC-AUC of hostile_reply against
    supportive_profanity >= 0.85, forum_spam flagged spam >= 0.8, no crisis_line_and_services
    case flagged spam), each with its value and met or not; and the ids of the cases that miss
    each target.

    Reporting only: the casebook is never trained on and nothing is tuned on it, so missed
    targets do not change the exit status (0). A malformed casebook line stops the run with
    its line number.
    """
    from triage.scoring.bundle import BundleError
    from triage.training.data.casebook_file import CasebookError
    from triage.training.evaluation.casebook_metrics import evaluate_casebook as run
    from triage.training.evaluation.casebook_report import targets_table, write_report

    out_path = out_path or bundle_dir / "evaluation" / "CASEBOOK.md"
    try:
        report = run(bundle_dir, casebook_path, DEFAULT_CONFIG_DIR)
    except (CasebookError, BundleError) as error:
        raise click.ClickException(str(error)) from None
    markdown, json_path = write_report(report, out_path)
    click.echo(f"{report.bundle} {report.version} on {report.n} casebook cases:")
    click.echo(targets_table(report))
    click.echo(f"wrote {markdown} and {json_path}")
