"""Writing a bundle folder: bundle.json's contents and checksums, and the all-or-nothing switch
from the staging folder to the real one."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from triage.domain.labels import LABELS
from triage.scoring.bundle import BUNDLE_FORMAT, MODEL_FILE, TOKENIZER_FILE, file_checksums, sha256
from triage.training.export.args import ExportArgs
from triage.training.export.fitted import Fitted


@contextmanager
def staging_folder(out_dir: Path) -> Iterator[Path]:
    """A fresh `<out_dir>.partial` to write the bundle into. When the block ends without an
    error it replaces out_dir; on any error it is removed and out_dir is left as it was, so a
    failed check never leaves half a bundle where a service would load it."""
    staging = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(out_dir, ignore_errors=True)
    staging.rename(out_dir)


def bundle_info(
    args: ExportArgs, fitted: Fitted, parity: dict, optimizer_fused: dict, out: Path
) -> dict:
    """bundle.json as far as it is known before the bundle is scored: what serving needs."""
    encoder_config = fitted.model.encoder.config
    return {
        "format": BUNDLE_FORMAT,
        "name": args.name,
        "version": args.version,
        "labels": list(LABELS),
        "languages": list(args.languages),
        "outputs": list(fitted.outputs),
        "trained_labels": list(fitted.labels),
        "max_length": fitted.max_length,
        "thresholds": fitted.thresholds,
        "calibration": {k: vars(v) for k, v in fitted.calibration.items()},
        "tier_model": fitted.tier_model.to_json() if fitted.tier_model else None,
        "files": bundle_files(out),
        "encoder": {
            "layers": encoder_config.num_hidden_layers,
            "hidden_size": encoder_config.hidden_size,
        },
        "quantisation": "int8 dynamic, per-channel weights (onnxruntime quantize_dynamic), "
        "stored as uint8 (portable_int8: exact on CPUs without VNNI)"
        + (", first encoder layer fp32" if args.fp32_first_layer else ", every layer"),
        "optimizer_fused": optimizer_fused,
        "parity": parity,
        **args.extra,
    }


def bundle_files(out: Path) -> dict:
    """bundle.json `files`: the sha256 of every file but bundle.json (load_bundle checks each),
    and the first layout's keys, kept for older versions of triage, which read `model_sha256`."""
    return {
        "model": MODEL_FILE,
        "tokenizer": TOKENIZER_FILE,
        "model_sha256": sha256(out / MODEL_FILE),
        "model_bytes": (out / MODEL_FILE).stat().st_size,
        **file_checksums(out),
    }


def write_json(path: Path, data: dict) -> None:
    path.write_text(
        json.dumps(data, indent=2, allow_nan=False, default=str) + "\n", encoding="utf-8"
    )


def data_summary(data_dir: Path) -> dict:
    """The prepared data's summary.json (sources, counts), for the card; {} when absent."""
    path = data_dir / "summary.json"
    return json.loads(path.read_text()) if path.exists() else {}


def training_record(checkpoint: Path) -> dict:
    """The checkpoint's train_record.json without the per-epoch dev metrics (too long)."""
    path = checkpoint / "train_record.json"
    if not path.exists():
        return {}
    record = json.loads(path.read_text())
    record["history"] = [
        {k: v for k, v in epoch.items() if k != "dev"} for epoch in record.get("history", [])
    ]
    return record
