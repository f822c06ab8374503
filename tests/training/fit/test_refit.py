"""Refitting a label's output as a linear probe on the frozen encoder (training/fit/refit.py)."""

from __future__ import annotations

import shutil

import torch

from triage.domain.labels import LABELS
from triage.scoring.encoding import PairEncoder
from triage.training.data.prepare import load_split
from triage.training.fit.model import load_checkpoint
from triage.training.fit.refit import everyday_sample, refit_head


def test_refit_replaces_the_row_only_when_dev_improves(tiny_checkpoint, prepared_dir):
    model, meta = load_checkpoint(tiny_checkpoint)
    encoder = PairEncoder.from_file(tiny_checkpoint / "tokenizer.json", meta["max_length"])
    train, dev = load_split(prepared_dir, "train"), load_split(prepared_dir, "dev")
    j = LABELS.index("spam")
    before = model.head.weight[j].detach().clone()
    others = model.head.weight[[i for i in range(model.num_outputs) if i != j]].detach().clone()
    report = refit_head(model, encoder, "spam", train, dev)
    assert report["train_rows"] == sum(1 for r in train if r.labels["spam"] is not None)
    changed = not torch.equal(before, model.head.weight[j])
    assert (
        changed == report["refitted"] == (report["dev_pr_auc_after"] > report["dev_pr_auc_before"])
    )
    rest = model.head.weight[[i for i in range(model.num_outputs) if i != j]]
    assert torch.equal(others, rest)  # no other output moves


def test_refit_needs_both_classes(tiny_checkpoint, prepared_dir):
    model, meta = load_checkpoint(tiny_checkpoint)
    encoder = PairEncoder.from_file(tiny_checkpoint / "tokenizer.json", meta["max_length"])
    rows = load_split(prepared_dir, "train")  # corumination is missing on every fixture row
    report = refit_head(model, encoder, "corumination", rows, rows)
    assert report == {
        "label": "corumination",
        "refitted": False,
        "why": "needs both classes in train and dev",
    }


def test_train_refit_only_updates_the_saved_checkpoint(tiny_checkpoint, prepared_dir, tmp_path):
    from triage.training.fit.args import BEST_DIR, TrainArgs
    from triage.training.fit.refit import refit_best

    run = tmp_path / "runs" / "tiny"
    shutil.copytree(tiny_checkpoint, run / BEST_DIR)
    args = TrainArgs(
        name="tiny", data_dir=prepared_dir, output_dir=tmp_path / "runs", refit_heads=("spam",)
    )
    (report,) = refit_best(args)
    assert report["label"] == "spam"
    record = (run / BEST_DIR / "train_record.json").read_text()
    assert '"refit_rounds"' in record


def test_tier_cuts_are_refitted_on_annotated_posts_only(tiny_checkpoint, prepared_dir):
    model, meta = load_checkpoint(tiny_checkpoint)
    encoder = PairEncoder.from_file(tiny_checkpoint / "tokenizer.json", meta["max_length"])
    train, dev = load_split(prepared_dir, "train"), load_split(prepared_dir, "dev")
    report = refit_head(model, encoder, "tier>=red", train, dev)
    annotated = sum(1 for r in train if r.annotation is not None and r.annotation.tier)
    assert 0 < report["train_rows"] == annotated < len(train)


def test_everyday_posts_join_a_tier_cut_refit_as_green_and_only_a_tier_cut(
    tiny_checkpoint, prepared_dir
):
    model, meta = load_checkpoint(tiny_checkpoint)
    encoder = PairEncoder.from_file(tiny_checkpoint / "tokenizer.json", meta["max_length"])
    train, dev = load_split(prepared_dir, "train"), load_split(prepared_dir, "dev")
    everyday = (everyday_sample(train, 3, seed=1), everyday_sample(dev, 2, seed=1))
    assert everyday[0] and everyday[1]
    annotated = sum(1 for r in train if r.annotation is not None and r.annotation.tier)
    report = refit_head(model, encoder, "tier>=red", train, dev, everyday=everyday)
    assert report["train_rows"] == annotated + len(everyday[0])
    assert report["everyday_rows"] == [len(everyday[0]), len(everyday[1])]
    spam = refit_head(model, encoder, "spam", train, dev, everyday=everyday)
    assert spam["everyday_rows"] == [0, 0]
