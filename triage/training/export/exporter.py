"""`triage export`: checkpoint -> self-describing int8 ONNX bundle, checked and evaluated.

`Exporter.export` runs the phases in order:
1. calibrate: Platt calibration and thresholds fitted on the dev split with the torch model
   (dev_calibration.py), the tier head, the parity texts;
2. build_onnx: torch -> ONNX fp32 -> optimised -> int8 (onnx.py), then parity on held-out test
   texts: fp32 ONNX must match torch, int8 must stay close to torch's calibrated probabilities
   (parity.py);
3. evaluate: the bundle written so far is loaded back and scored on the test split through the
   serving scorer, next to the fp32 torch model and a TF-IDF + logistic-regression baseline;
   every label's int8 PR-AUC must be within parity.INT8_PR_AUC_TOL of fp32;
4. describe: data, training record and, for a distilled student, the teacher on the same test
   split (teacher_compare.py); then the model card and the final bundle.json.
All of it is written to a staging folder that replaces out_dir only at the end
(bundle_writer.py): any failed check raises ExportParityError and leaves out_dir as it was.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from triage.domain.labels import LABELS, OUTPUTS, check_labels
from triage.domain.tier_rules import TierRules
from triage.scoring.bundle import BUNDLE_FILE, CARD_FILE, MODEL_FILE, TOKENIZER_FILE, load_bundle
from triage.scoring.encoding import PairEncoder
from triage.scoring.scorer import OnnxScorer
from triage.training.data.prepare import load_split
from triage.training.evaluation.evaluate import (
    baseline_probabilities,
    compare,
    scorer_probabilities,
)
from triage.training.evaluation.tier_eval import tier_report
from triage.training.export.args import ExportArgs
from triage.training.export.bundle_writer import (
    bundle_files,
    bundle_info,
    data_summary,
    staging_folder,
    training_record,
    write_json,
)
from triage.training.export.card import model_card
from triage.training.export.dev_calibration import calibrated, fit_calibration, trained_labels
from triage.training.export.fitted import Fitted
from triage.training.export.onnx import build_int8
from triage.training.export.parity import check_parity, check_pr_auc_parity, parity_batches
from triage.training.export.teacher_compare import teacher_comparison, teacher_of
from triage.training.fit.calibrate import ThresholdPolicy
from triage.training.fit.inference import predict_logits
from triage.training.fit.model import LabelOutputsOnly, MultiLabelModel, load_checkpoint
from triage.training.fit.tensor_batches import encode_rows
from triage.training.fit.tier_fit import fit_tier_model


def export_bundle(args: ExportArgs) -> Path:
    """Export `args.checkpoint` to `args.out_dir`; return that folder."""
    return Exporter(args).export()


class Exporter:
    """One checkpoint to one bundle, one phase per method (see the module docstring)."""

    def __init__(self, args: ExportArgs) -> None:
        self.args = args

    def export(self) -> Path:
        fitted = self.calibrate()
        with staging_folder(self.args.out_dir) as staging:
            self.write_bundle(fitted, staging)
        return self.args.out_dir

    def calibrate(self) -> Fitted:
        """Everything fitted with the torch model before an ONNX file exists."""
        args = self.args
        model: MultiLabelModel | LabelOutputsOnly
        model, meta = load_checkpoint(args.checkpoint)
        check_labels(meta["labels"], f"checkpoint {args.checkpoint}")
        outputs = tuple(meta["outputs"])
        encoder = PairEncoder.from_file(args.checkpoint / TOKENIZER_FILE, meta["max_length"])
        train, dev, test = (load_split(args.data_dir, s) for s in ("train", "dev", "test"))
        splits = (train, dev, test)
        labels = trained_labels(splits[0])
        dev_logits = predict_logits(model, encode_rows(encoder, splits[1]), progress=True)
        policy = ThresholdPolicy.load(args.config_dir / "thresholds.yaml")
        calibration, thresholds = fit_calibration(dev_logits, splits[1], labels, policy)
        tier_model = None
        if outputs == OUTPUTS:
            tier_model = fit_tier_model(dev_logits[:, len(LABELS) :], splits[1], policy)
        if tier_model is None and outputs != LABELS:
            outputs = LABELS  # no usable tier head: export the label outputs only
            model = LabelOutputsOnly(model, len(LABELS))
        return Fitted(
            model,
            encoder,
            meta["max_length"],
            splits,
            labels,
            calibration,
            thresholds,
            policy,
            parity_batches(splits[2], encoder, args.parity_samples, args.seed),
            outputs,
            tier_model,
        )

    def write_bundle(self, fitted: Fitted, out: Path) -> None:
        parity, fused = self.build_onnx(fitted, out)
        shutil.copy(self.args.checkpoint / TOKENIZER_FILE, out / TOKENIZER_FILE)
        info = bundle_info(self.args, fitted, parity, fused, out)
        write_json(out / BUNDLE_FILE, info)  # enough for the scorer that evaluate loads
        info["metrics"] = self.evaluate(fitted, out)
        info["parity"].update(check_pr_auc_parity(info["metrics"]))
        info.update(self.describe(fitted, info["metrics"]))
        (out / CARD_FILE).write_text(model_card(info), encoding="utf-8")
        info["files"] = bundle_files(out)
        write_json(out / BUNDLE_FILE, info)

    def build_onnx(self, fitted: Fitted, out: Path) -> tuple[dict, dict]:
        """The int8 model.onnx, once it passes the parity gates: (parity report, fused ops)."""
        with tempfile.TemporaryDirectory() as tmp:
            int8, fused = build_int8(fitted.model, Path(tmp), self.args.fp32_first_layer)
            parity = check_parity(
                fitted.model,
                Path(tmp) / "fp32.onnx",
                int8,
                fitted.parity_batches,
                fitted.calibration,
            )
            shutil.copy(int8, out / MODEL_FILE)
        return parity, fused

    def evaluate(self, fitted: Fitted, out: Path) -> dict:
        """Test-split metrics of the served int8 bundle, the torch model and the baseline,
        overall and per source (each source's own test rows), and the tier report."""
        rules = TierRules.load(self.args.config_dir / "tiers.yaml")
        scorer = OnnxScorer(load_bundle(out), rules, evidence=False)
        test_rows = fitted.splits[2]
        fp32 = calibrated(
            predict_logits(fitted.model, encode_rows(fitted.encoder, test_rows), progress=True),
            fitted.calibration,
        )
        metrics = compare(
            test_rows,
            {
                "int8_onnx": (scorer_probabilities(scorer, test_rows), fitted.thresholds),
                "fp32_torch": (fp32, fitted.thresholds),
                "tfidf_lr_baseline": baseline_probabilities(fitted.splits, fitted.policy),
            },
            trained=[name for name in LABELS if name in fitted.calibration],
        )
        metrics["tiers"] = tier_report(scorer, test_rows, rules)
        return metrics

    def describe(self, fitted: Fitted, metrics: dict) -> dict:
        """What the card tells besides the metrics: the data, the training run and, for a
        distilled student, its teacher on the same test split."""
        training = training_record(self.args.checkpoint)
        described = {"data": data_summary(self.args.data_dir), "training": training}
        teacher = teacher_of(training)
        if teacher is not None:
            described["distillation"] = teacher_comparison(teacher, fitted, metrics)
        return described
