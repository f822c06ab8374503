"""A model bundle: a folder that describes itself, checked before anything is served from it.

models/<name>/
  model.onnx       int8 ONNX graph: input_ids, attention_mask, token_type_ids -> logits
  tokenizer.json   the tokenizer the model was trained with
  bundle.json      name, version, labels, max length, thresholds, calibration, data, metrics
  MODEL_CARD.md    data, metrics, limits, licence caveats (written by `triage export`)
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from triage.calibration import Calibration
from triage.labels import LABELS, TIER_OUTPUTS, check_labels
from triage.tiers import OrdinalTierModel

BUNDLE_FORMAT = 1
MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
BUNDLE_FILE = "bundle.json"
CARD_FILE = "MODEL_CARD.md"


class BundleError(RuntimeError):
    """The bundle folder is missing, incomplete or does not match this version of triage."""


@dataclass(frozen=True)
class Bundle:
    path: Path
    name: str
    version: str
    labels: tuple[str, ...]
    trained_labels: tuple[str, ...]
    max_length: int
    thresholds: dict[str, float]
    calibration: dict[str, Calibration]
    outputs: tuple[str, ...] = LABELS  # LABELS, then TIER_OUTPUTS when it has a tier head
    tier_model: OrdinalTierModel | None = None  # None: tiers come from configs/tiers.yaml rules
    info: dict = field(default_factory=dict, repr=False)  # the whole bundle.json

    @property
    def model_path(self) -> Path:
        return self.path / MODEL_FILE

    @property
    def tokenizer_path(self) -> Path:
        return self.path / TOKENIZER_FILE


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_bundle(path: Path) -> Bundle:
    """Read and verify a bundle; raise BundleError saying what is wrong and how to fix it."""
    path = Path(path)
    meta_path = path / BUNDLE_FILE
    if not meta_path.exists():
        raise BundleError(
            f"no model bundle at {path} ({BUNDLE_FILE} missing); set TRIAGE_BUNDLE_DIR or pass "
            "--bundle with a folder written by `triage export`"
        )
    for name in (MODEL_FILE, TOKENIZER_FILE):
        if not (path / name).exists():
            raise BundleError(
                f"bundle {path} is incomplete: {name} is missing; re-run triage export"
            )
    info = json.loads(meta_path.read_text(encoding="utf-8"))
    if info.get("format") != BUNDLE_FORMAT:
        raise BundleError(
            f"bundle {path} has format {info.get('format')!r}; this triage reads format "
            f"{BUNDLE_FORMAT}: re-export it with this version"
        )
    try:
        check_labels(info["labels"], f"bundle {path}")
    except ValueError as error:
        raise BundleError(str(error)) from error
    expected = info.get("files", {}).get("model_sha256")
    if expected and sha256(path / MODEL_FILE) != expected:
        raise BundleError(f"bundle {path}: {MODEL_FILE} does not match the checksum in bundle.json")
    trained = tuple(info.get("trained_labels", LABELS))
    outputs = tuple(info.get("outputs", LABELS))
    if outputs not in (LABELS, LABELS + TIER_OUTPUTS):
        raise BundleError(
            f"bundle {path}: outputs {list(outputs)} are neither the labels nor the labels and "
            f"the tier cuts {list(TIER_OUTPUTS)}; re-export it with this version of triage"
        )
    tier_model = info.get("tier_model")
    return Bundle(
        path=path,
        name=info["name"],
        version=info["version"],
        labels=tuple(info["labels"]),
        trained_labels=trained,
        max_length=int(info["max_length"]),
        thresholds={k: float(v) for k, v in info["thresholds"].items()},
        calibration={k: Calibration(**v) for k, v in info.get("calibration", {}).items()},
        outputs=outputs,
        tier_model=OrdinalTierModel.from_json(tier_model) if tier_model else None,
        info=info,
    )
