"""`ExportArgs` (training/export/args.py): validated, documented, and given as before."""

from __future__ import annotations

import pytest

from triage.training.export.args import ExportArgs


@pytest.mark.parametrize("field", sorted(ExportArgs.model_fields))
def test_every_export_argument_is_documented(field):
    assert ExportArgs.model_fields[field].description, field


def test_the_folders_may_be_given_by_position(tiny_checkpoint, tmp_path):
    args = ExportArgs(tiny_checkpoint, tmp_path / "data", tmp_path / "my-bundle", version="2.0.0")
    assert args.checkpoint == tiny_checkpoint and args.out_dir == tmp_path / "my-bundle"
    assert args.name == "my-bundle" and args.version == "2.0.0"
    named = ExportArgs(
        checkpoint=tiny_checkpoint, data_dir=tmp_path, out_dir=tmp_path / "b", name="shipped"
    )
    assert named.name == "shipped"


def test_export_args_are_checked(tiny_checkpoint, tmp_path):
    with pytest.raises(ValueError, match="not a triage checkpoint"):
        ExportArgs(tmp_path, tmp_path, tmp_path / "b")
    with pytest.raises(ValueError, match="parity_sample"):
        ExportArgs(tiny_checkpoint, tmp_path, tmp_path / "b", parity_sample=10)
    with pytest.raises(ValueError, match="parity_samples"):
        ExportArgs(tiny_checkpoint, tmp_path, tmp_path / "b", parity_samples=0)
