"""Everyday posts (training/fit/tier_targets.is_everyday_post): the green negatives of the tier-cut
refits and the posts bench/tier_policy.py checks a tier head does not raise."""

from __future__ import annotations

from triage.training.data.rows import Annotation, Row
from triage.training.fit.refit import everyday_sample
from triage.training.fit.tier_targets import is_everyday_post


def _row(rid: str, self_harm: int | None, distress: int | None, tier: str | None = None) -> Row:
    annotation = Annotation(tier=tier) if tier else None
    labels = {"self_harm": self_harm, "distress": distress}
    return Row(rid, "text", "goemotions", rid, "train", labels=labels, annotation=annotation)


def test_everyday_posts_are_unannotated_with_both_labels_known_zero():
    assert is_everyday_post(_row("a", 0, 0))
    assert not is_everyday_post(_row("b", 0, None))  # distress not known
    assert not is_everyday_post(_row("c", 0, 1))
    assert not is_everyday_post(_row("d", None, 0))
    assert not is_everyday_post(_row("e", 0, 0, tier="green"))  # annotated: a tier of its own


def test_everyday_sample_is_seeded_and_skips_other_rows():
    rows = [_row(str(i), 0, 0) for i in range(20)] + [_row("x", 1, 0), _row("y", 0, 0, "green")]
    written = Row("s", "text", "synthetic", "s", "train", labels={"self_harm": 0, "distress": 0})
    written.synthetic = True
    rows.append(written)
    sample = everyday_sample(rows, 5, seed=13)
    assert len(sample) == 5 and sample == everyday_sample(rows, 5, seed=13)
    assert {r.id for r in everyday_sample(rows, 100, seed=13)} == {str(i) for i in range(20)}
    assert everyday_sample(rows, 0, seed=13) == []
