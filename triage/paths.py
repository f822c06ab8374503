"""Where the project's files live by default, and how its YAML configs are read: one place."""

from __future__ import annotations

from pathlib import Path

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Relative to the project root, as a training config writes them: TrainArgs.from_yaml anchors
# a config's paths at PROJECT_ROOT, and its defaults stay relative, as its runs record them.
PREPARED_DATA = Path("data") / "prepared"
RUNS = Path("runs")
TEACHER_FEATURE_CACHE = Path("data") / "features"

# Serving
DEFAULT_BUNDLE = PROJECT_ROOT / "models" / "triage-minilm"
DEFAULT_CONFIG_DIR = PROJECT_ROOT / "configs"
DEFAULT_DATABASE_URL = f"sqlite:///{PROJECT_ROOT / 'data' / 'triage.db'}"
DEFAULT_SECRET_KEY_FILE = PROJECT_ROOT / "data" / "console-secret.key"

# Training data: read-only public datasets beside the checkout, and what the project adds
DEFAULT_DATASETS = PROJECT_ROOT.parent / "shared" / "datasets"
DEFAULT_EXTERNAL = PROJECT_ROOT / "data" / "external"
DEFAULT_FEEDBACK_EXPORT = DEFAULT_EXTERNAL / "feedback"  # `triage export-feedback` writes here
DEFAULT_ANNOTATIONS = PROJECT_ROOT / "annotations"
DEFAULT_ANNOTATION_WORK = PROJECT_ROOT / "annotation" / "work"
DEFAULT_SYNTHETIC = PROJECT_ROOT / "synthetic"
DEFAULT_CASEBOOK = PROJECT_ROOT / "casebook" / "evaluation.jsonl"
DEFAULT_PREPARED = PROJECT_ROOT / PREPARED_DATA  # `triage data prepare` writes the splits here

# Training and evaluation outputs
DEFAULT_CHECKPOINT = PROJECT_ROOT / RUNS / "triage-minilm" / "best"  # configs/train/cpu.yaml's
DEFAULT_CACHE = PROJECT_ROOT / "data" / "cache"
DEFAULT_LOSO_CACHE = DEFAULT_CACHE / "features"
DEFAULT_LOSO_REPORT = PROJECT_ROOT / "docs" / "evaluation" / "loso.md"


def read_yaml(path: Path) -> dict:
    if not path.exists():
        raise FileNotFoundError(f"config file {path} not found")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a YAML mapping at the top, found {type(data).__name__}")
    return data
