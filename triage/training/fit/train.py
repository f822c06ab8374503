"""`triage train`: the trainer a config asks for, run to the end.

The phases are in training/fit/trainer.py; distillation (a `teacher` in the config) is the
DistillationTrainer of training/fit/distill.py.
"""

from __future__ import annotations

from pathlib import Path

from triage.training.fit.args import TrainArgs
from triage.training.fit.distill import DistillationTrainer
from triage.training.fit.trainer import Trainer


def trainer_for(args: TrainArgs) -> Trainer:
    """A DistillationTrainer when the config names a teacher checkpoint, else a Trainer."""
    return DistillationTrainer(args) if args.teacher is not None else Trainer(args)


def train(args: TrainArgs) -> Path:
    """Train, keep the best epoch (mean dev PR-AUC) under run_dir/best, return that folder."""
    return trainer_for(args).fit()
