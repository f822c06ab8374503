"""`ExportArgs`: the typed, validated arguments of `triage export`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from triage.paths import DEFAULT_CONFIG_DIR
from triage.scoring.bundle import DEFAULT_LANGUAGES


class ExportArgs(BaseModel):
    """Which checkpoint becomes which bundle, and how it is checked on the way."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    checkpoint: Path = Field(
        description="A checkpoint folder written by `triage train` (runs/<name>/best)."
    )
    data_dir: Path = Field(description="Prepared data: dev for calibration, test for metrics.")
    out_dir: Path = Field(description="The bundle folder; replaced only when every check passes.")
    version: str = Field("0.1.0", description="Bundle version, written to bundle.json.")
    name: str = Field("", description="Bundle name (default: the output folder's name).")
    config_dir: Path = Field(
        DEFAULT_CONFIG_DIR, description="Folder with thresholds.yaml and tiers.yaml."
    )
    parity_samples: int = Field(
        256, ge=1, description="Held-out test texts on which ONNX is checked against torch."
    )
    seed: int = Field(13, description="Seed of the parity sample.")
    extra: dict[str, Any] = Field(
        default_factory=dict, description="Merged into bundle.json (e.g. notes)."
    )
    fp32_first_layer: bool = Field(
        True,
        description="Keep the first encoder layer's MatMuls fp32 (export/onnx.py says why).",
    )
    languages: tuple[str, ...] = Field(
        DEFAULT_LANGUAGES,
        description="The languages of the training data: a post in another goes to a person "
        "when served.",
    )

    def __init__(
        self,
        checkpoint: Path | str | None = None,
        data_dir: Path | str | None = None,
        out_dir: Path | str | None = None,
        /,
        **fields: Any,
    ) -> None:
        """The three folders may be given by position, as `ExportArgs(checkpoint, data, out)`."""
        given = {"checkpoint": checkpoint, "data_dir": data_dir, "out_dir": out_dir}
        super().__init__(**{k: v for k, v in given.items() if v is not None}, **fields)

    @field_validator("checkpoint")
    @classmethod
    def _a_checkpoint(cls, checkpoint: Path) -> Path:
        if not (checkpoint / "triage_model.json").exists():
            raise ValueError(
                f"{checkpoint} is not a triage checkpoint (triage_model.json missing); "
                "pass the folder `triage train` printed (runs/<name>/best)"
            )
        return checkpoint

    @model_validator(mode="before")
    @classmethod
    def _default_name(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("name") and data.get("out_dir") is not None:
            return {**data, "name": Path(data["out_dir"]).name}
        return data
