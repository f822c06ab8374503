"""bench/tier_policy.py: the everyday-post figure counts what the bundle's tier head raises."""

from __future__ import annotations

import numpy as np

from tests.system.bench_support import load_bench
from triage.domain.calibration import Calibration
from triage.domain.labels import LABELS
from triage.domain.tiers import OrdinalTierModel
from triage.training.data.rows import Annotation, Row


def _row(rid: str, self_harm: int | None, distress: int | None, tier: str | None = None) -> Row:
    labels = {"self_harm": self_harm, "distress": distress}
    annotation = Annotation(tier=tier) if tier else None
    return Row(rid, "text", "goemotions", rid, "dev", labels=labels, annotation=annotation)


class _FixedLogits:
    """A scorer stand-in: one row of logits per text, cut logits after the label logits."""

    def __init__(self, cut_logits: list[list[float]]) -> None:
        self.cut_logits = np.array(cut_logits)

    def logits(self, texts, parents):
        assert len(texts) == len(self.cut_logits) == len(parents)
        return np.hstack([np.zeros((len(texts), len(LABELS))), self.cut_logits])


def test_everyday_report_counts_raised_posts_and_the_uncertain_band():
    bench = load_bench("tier_policy")
    identity = tuple(Calibration(scale=1.0, bias=0.0) for _ in range(3))
    model = OrdinalTierModel(calibration=identity, crisis=0.9, red=0.8, amber=0.6, uncertain=0.3)
    low, band, amber = -5.0, 0.0, 1.0  # sigmoid: 0.007, 0.5 (uncertain band), 0.73 (amber)
    scorer = _FixedLogits([[low, low, low], [low, low, band], [amber, low, low]])
    rows = [_row(str(i), 0, 0) for i in range(3)]
    report = bench.everyday_report(scorer, model, rows)
    # the crisis cut's 0.5 lifts red to 0.5 (monotone upwards): uncertain band, amber
    assert "2 of 3 (66.7%), 1 of them through the uncertain band" in report
    assert "no everyday dev posts" in bench.everyday_report(scorer, model, [])


def test_everyday_shares_parse_off_and_numbers():
    bench = load_bench("tier_policy")
    assert bench.parse_shares("off, 0.015") == [None, 0.015]
    assert bench.parse_shares("0.02") == [0.02]


def test_everyday_raised_counts_the_band_apart():
    bench = load_bench("tier_policy")
    identity = tuple(Calibration(scale=1.0, bias=0.0) for _ in range(3))
    model = OrdinalTierModel(calibration=identity, crisis=0.9, red=0.8, amber=0.6, uncertain=0.3)
    cut_logits = np.array([[-5.0, -5.0, -5.0], [-5.0, 0.0, -5.0], [1.0, -5.0, -5.0], [3, 3, -5]])
    assert bench.everyday_raised(model, cut_logits) == (3, 1)  # band, amber cut, red
