"""Scoring one part and writing its file: what each Ray actor runs (engine.PartRescorer wraps
it), and what a test or a one-machine caller can run in-process without Ray."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from triage.rescore.output import output_records
from triage.rescore.parts import Format, Part, read_part, write_part
from triage.scoring.bundle import load_bundle
from triage.scoring.score_file import CHUNK, FileScorer
from triage.scoring.scorer import OnnxScorer
from triage.settings import EvidenceMode, Settings


@dataclass(frozen=True)
class ScorerOptions:
    """What the actors build their scorer from: the settings score-file's scorer depends on
    (not the whole Settings, which holds the database URL and the secret key)."""

    bundle_dir: str
    config_dir: str
    evidence: bool = True
    evidence_mode: EvidenceMode = "sentences"

    @classmethod
    def of(cls, settings: Settings) -> ScorerOptions:
        return cls(
            str(settings.bundle_dir.resolve()),
            str(settings.config_dir.resolve()),
            settings.evidence,
            settings.evidence_mode,
        )

    def settings(self, threads: int) -> Settings:
        return Settings(
            bundle_dir=Path(self.bundle_dir),
            config_dir=Path(self.config_dir),
            evidence=self.evidence,
            evidence_mode=self.evidence_mode,
            onnx_threads=threads,
            scoring_workers=1,
        )


def model_version_of(bundle_dir: Path) -> str:
    """ "name:version", as the queue stores it (queue/ingest.model_view)."""
    bundle = load_bundle(bundle_dir)
    return f"{bundle.name}:{bundle.version}"


class PartScorer:
    def __init__(self, scorer: OnnxScorer, out_dir: Path, fmt: Format, model_version: str):
        self.scorer, self.out_dir, self.fmt = scorer, out_dir, fmt
        self.model_version = model_version

    def rescore(self, part: Part) -> tuple[int, int]:
        """Score one part and write its file; (lines, failed lines)."""
        entries = read_part(part)
        scorer = FileScorer(self.scorer)
        records = []
        for start in range(0, len(entries), CHUNK):  # as score-file does
            chunk = entries[start : start + CHUNK]
            records.extend(output_records(scorer, chunk, self.model_version))
        write_part(self.out_dir, part.index, records, self.fmt)
        return len(records), scorer.failed
