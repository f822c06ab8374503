"""Distillation (training/fit/distill.py): a student copied from the teacher, trained to match
it."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from triage.scoring.encoding import PairEncoder
from triage.training.data.prepare import load_split
from triage.training.fit.args import TrainArgs
from triage.training.fit.distill import student_from_teacher, teacher_targets
from triage.training.fit.model import load_checkpoint
from triage.training.fit.tensor_batches import encode_rows


def _logits(model, encoded) -> np.ndarray:
    return teacher_targets(model, encoded).logits


def test_student_keeps_the_chosen_layers_as_copies(tiny_checkpoint):
    teacher, _ = load_checkpoint(tiny_checkpoint)
    student = student_from_teacher(teacher, [1])
    assert len(student.encoder.encoder.layer) == 1
    assert student.encoder.config.num_hidden_layers == 1
    kept = student.encoder.encoder.layer[0].state_dict()
    for name, value in teacher.encoder.encoder.layer[1].state_dict().items():
        assert torch.equal(kept[name], value)
    kept[next(iter(kept))].add_(1.0)  # a copy: training the student leaves the teacher alone
    assert len(teacher.encoder.encoder.layer) == 2
    assert not torch.equal(
        kept[next(iter(kept))], teacher.encoder.encoder.layer[1].state_dict()[next(iter(kept))]
    )
    with pytest.raises(ValueError, match="student_layers"):
        student_from_teacher(teacher, [0, 2])


def test_a_student_with_every_layer_is_the_teacher(tiny_checkpoint, prepared_dir):
    teacher, meta = load_checkpoint(tiny_checkpoint)
    encoder = PairEncoder.from_file(tiny_checkpoint / "tokenizer.json", meta["max_length"])
    encoded = encode_rows(encoder, load_split(prepared_dir, "dev")[:20])
    student = student_from_teacher(teacher, [0, 1])
    np.testing.assert_array_equal(_logits(student, encoded), _logits(teacher, encoded))


def sharp_teacher(tiny_checkpoint, folder):
    """The tiny checkpoint with its head scaled up, so its logits depend strongly on both
    layers and a one-layer copy starts far from it; dropout off (the student inherits the
    config), so the distillation terms' gradients are exact and the student must get closer."""
    teacher, meta = load_checkpoint(tiny_checkpoint)
    with torch.no_grad():
        teacher.head.weight.mul_(40.0)
    teacher.encoder.config.hidden_dropout_prob = 0.0
    teacher.encoder.config.attention_probs_dropout_prob = 0.0
    teacher.save(folder, tuple(meta["labels"]), tuple(meta["outputs"]), meta["max_length"])
    shutil.copy(tiny_checkpoint / "tokenizer.json", folder / "tokenizer.json")
    return folder


def test_distillation_brings_the_student_closer_to_the_teacher(
    tiny_checkpoint, prepared_dir, tmp_path
):
    from triage.training.fit.train import train

    teacher_dir = sharp_teacher(tiny_checkpoint, tmp_path / "teacher")
    teacher, meta = load_checkpoint(teacher_dir)
    encoder = PairEncoder.from_file(teacher_dir / "tokenizer.json", meta["max_length"])
    encoded = encode_rows(encoder, load_split(prepared_dir, "test"))
    wanted = _logits(teacher, encoded)
    before = np.mean((_logits(student_from_teacher(teacher, [1]), encoded) - wanted) ** 2)

    args = TrainArgs(
        name="student",
        data_dir=prepared_dir,
        output_dir=tmp_path,
        teacher=teacher_dir,
        student_layers=(1,),
        max_length=64,
        batch_size=16,
        epochs=2,
        learning_rate=1e-4,
        head_learning_rate=1e-4,
        label_loss_weight=0.0,  # only the teacher: the student must move towards it
        threads=2,
    )
    best = train(args)
    student, student_meta = load_checkpoint(best)
    after = np.mean((_logits(student, encoded) - wanted) ** 2)
    assert len(student.encoder.encoder.layer) == 1
    assert student_meta["outputs"] == meta["outputs"]
    assert (best / "tokenizer.json").read_bytes() == (teacher_dir / "tokenizer.json").read_bytes()
    assert after < 0.5 * before, (before, after)
    record = json.loads((best / "train_record.json").read_text())
    assert record["args"]["teacher"] == str(teacher_dir)
    assert record["args"]["student_layers"] == [1]


def test_distillation_args_are_checked(tmp_path, tiny_checkpoint):
    with pytest.raises(ValueError, match="student_layers needs a teacher"):
        TrainArgs(name="x", student_layers=(0, 2))
    with pytest.raises(ValueError, match="expected a checkpoint folder"):
        TrainArgs(name="x", teacher=tmp_path, student_layers=(0,))
    with pytest.raises(ValueError, match="increasing teacher layer indices"):
        TrainArgs(name="x", teacher=tiny_checkpoint, student_layers=(2, 0))
    with pytest.raises(ValueError, match="loss weights"):
        TrainArgs(
            name="x",
            teacher=tiny_checkpoint,
            student_layers=(0,),
            label_loss_weight=0,
            distill_logit_weight=0,
            distill_pooled_weight=0,
        )


def test_a_student_bundle_reports_its_teacher(tiny_checkpoint, prepared_dir, tmp_path):
    from triage.training.export.args import ExportArgs
    from triage.training.export.exporter import export_bundle
    from triage.training.fit.train import train

    args = TrainArgs(
        name="tiny-student",
        data_dir=prepared_dir,
        output_dir=tmp_path / "runs",
        teacher=tiny_checkpoint,
        student_layers=(0,),
        max_length=64,
        batch_size=16,
        epochs=1,
        threads=2,
    )
    out = export_bundle(ExportArgs(train(args), prepared_dir, tmp_path / "student-bundle"))
    info = json.loads((out / "bundle.json").read_text())
    assert info["encoder"]["layers"] == 1
    distillation = info["distillation"]
    assert distillation["teacher"] == str(tiny_checkpoint)
    assert distillation["teacher_layers"] == 2
    gaps = distillation["int8_vs_teacher_pr_auc_gap"]
    assert set(gaps) == set(info["metrics"]["int8_onnx"]) and gaps
    for label, gap in gaps.items():
        student = info["metrics"]["int8_onnx"][label]["pr_auc"]
        teacher = distillation["teacher_fp32_torch"][label]["pr_auc"]
        assert gap == pytest.approx(student - teacher, abs=1e-4)
    card = (out / "MODEL_CARD.md").read_text()
    assert "Distilled student: 1 of the 2 layers" in card
    assert "the student against its teacher" in card


def test_teacher_targets_are_cached_by_weights_and_inputs(tiny_checkpoint, prepared_dir, tmp_path):
    from triage.training.fit.distill import cached_teacher_targets

    folder = tmp_path / "teacher"
    shutil.copytree(tiny_checkpoint, folder, ignore=shutil.ignore_patterns("teacher-targets-*"))
    teacher, meta = load_checkpoint(folder)
    encoder = PairEncoder.from_file(folder / "tokenizer.json", meta["max_length"])
    rows = load_split(prepared_dir, "dev")
    first = cached_teacher_targets(teacher, folder, encode_rows(encoder, rows[:10]))
    assert len(list(folder.glob("teacher-targets-*.npz"))) == 1
    with torch.no_grad():
        teacher.head.weight.zero_()  # in memory only: the files on disk are unchanged ...
    again = cached_teacher_targets(teacher, folder, encode_rows(encoder, rows[:10]))
    np.testing.assert_array_equal(again.logits, first.logits)  # ... so the cache is used
    cached_teacher_targets(teacher, folder, encode_rows(encoder, rows[10:20]))  # other rows
    torch.save(teacher.head.state_dict(), folder / "head.pt")  # a retrained teacher
    fresh = cached_teacher_targets(teacher, folder, encode_rows(encoder, rows[:10]))
    assert len(list(folder.glob("teacher-targets-*.npz"))) == 3
    np.testing.assert_allclose(
        fresh.logits, np.broadcast_to(teacher.head.bias.detach().numpy(), fresh.logits.shape)
    )
