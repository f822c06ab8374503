"""For a distilled student's bundle (training/fit/distill.py): the teacher on the same test split.

`triage export` checks the int8 student against its own fp32 weights; what a user of a student
bundle needs to know as well is what distillation cost against the model it replaces. This
scores the test split with the teacher checkpoint (fp32 torch, its own Platt calibration and
thresholds fitted on dev by the same policy) and records each label's PR-AUC gap, student int8
minus teacher fp32, in bundle.json and the model card. It is reported, not enforced: the speed
a student buys may be worth a measured loss (issue 5 asks for gaps within 0.01).
"""

from __future__ import annotations

from pathlib import Path

from triage.domain.labels import LABELS
from triage.paths import PROJECT_ROOT
from triage.training.evaluation.evaluate import compare
from triage.training.export.dev_calibration import calibrated, fit_calibration
from triage.training.export.fitted import Fitted
from triage.training.fit.inference import predict_logits
from triage.training.fit.model import load_checkpoint
from triage.training.fit.tensor_batches import encode_rows


def teacher_of(record: dict) -> Path | None:
    """The teacher checkpoint named in a train_record.json, if it is still there."""
    teacher = (record.get("args") or {}).get("teacher")
    if teacher and (Path(teacher) / "triage_model.json").is_file():
        return Path(teacher)
    return None


def _shown(path: Path) -> str:
    """The teacher's folder relative to the project when it is inside it (no machine paths)."""
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def teacher_comparison(teacher: Path, fitted: Fitted, student_metrics: dict) -> dict:
    """Teacher fp32 test metrics and the student's int8 PR-AUC gap to them, per label."""
    model, _ = load_checkpoint(teacher)
    dev_rows, test_rows = fitted.splits[1], fitted.splits[2]
    dev_logits = predict_logits(model, encode_rows(fitted.encoder, dev_rows), progress=True)
    calibration, thresholds = fit_calibration(dev_logits, dev_rows, fitted.labels, fitted.policy)
    test_logits = predict_logits(model, encode_rows(fitted.encoder, test_rows), progress=True)
    trained = [name for name in LABELS if name in calibration]
    teacher_metrics = compare(
        test_rows,
        {"teacher_fp32_torch": (calibrated(test_logits, calibration), thresholds)},
        trained,
    )["teacher_fp32_torch"]
    gaps = {
        label: round(student_metrics["int8_onnx"][label]["pr_auc"] - m["pr_auc"], 4)
        for label, m in teacher_metrics.items()
        if label in student_metrics["int8_onnx"]
    }
    return {
        "teacher": _shown(teacher),
        "teacher_layers": model.encoder.config.num_hidden_layers,
        "teacher_fp32_torch": teacher_metrics,
        "int8_vs_teacher_pr_auc_gap": gaps,
    }
