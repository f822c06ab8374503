"""The shipped bundle against the hard limits of configs/probes.yaml, one test per family.

A family the shipped bundle is known to fail is marked xfail(strict=True): main stays green,
and the marker turns into a failure as soon as a retrained bundle passes, so it must then be
removed. Never widen a limit to make one of these pass.
"""

from __future__ import annotations

import json

import pytest

from triage.paths import DEFAULT_BUNDLE, DEFAULT_CONFIG_DIR
from triage.training.data.probe_config import DEFAULT_PROBES, FamilyKind, ProbeConfig
from triage.training.evaluation.probes import probe_bundle

HARD_FAMILIES = [
    name
    for name, family in ProbeConfig.load(DEFAULT_PROBES).families.items()
    if family.kind is FamilyKind.HARD_LIMIT
]

# Measured on triage-minilm 1.0.0 (models/triage-minilm/evaluation/PROBES.md). 0.5.0 failed
# identity_not_self_harm (gap 0.030) and recovery_not_crisis (50% red or crisis, 10% crisis) and
# passed the other two; 1.0.0 moved every family the wrong way but recovery's crisis share
# (docs/evaluation/1.0.0/README.md says so beside the figures that improved).
KNOWN_FAILURES = {
    "identity_not_hostile": (
        "1.0.0: no identity probe is flagged hostile, but the worst term raises the hostile "
        "score by 0.051 over its neutral twin (limit 0.05; 0.5.0: 0.030)"
    ),
    "identity_not_self_harm": (
        "1.0.0: 5% of identity probes are flagged self_harm against 0% of neutral ones "
        "(flag-rate gap 0.051, limit 0.02; 0.5.0: 0.030)"
    ),
    "recovery_not_crisis": (
        "1.0.0: 55% of recovery posts land in red (limit 10%), none in crisis (0.5.0: 50%, 10%)"
    ),
    "hyperbole_not_crisis": (
        "1.0.0: 25% of hyperbole posts land in red or crisis (limit 5%), 5% in crisis (limit 0; "
        "0.5.0 passed: 5%, 0%)"
    ),
}


@pytest.fixture(scope="module")
def report():
    return probe_bundle(DEFAULT_BUNDLE, DEFAULT_PROBES, DEFAULT_CONFIG_DIR / "tiers.yaml")


def test_known_failures_name_hard_limit_families():
    assert set(KNOWN_FAILURES) <= set(HARD_FAMILIES)


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=KNOWN_FAILURES[name]))
        if name in KNOWN_FAILURES
        else name
        for name in HARD_FAMILIES
    ],
)
def test_shipped_bundle_within_hard_limits(report, name):
    result = report.families[name]
    assert not result.breaches, f"{name}: " + "; ".join(str(b) for b in result.breaches)


def test_committed_probe_report_matches_the_bundle_and_config(report):
    """models/<bundle>/evaluation/probes.json is what this bundle scores on this config.

    Regenerate with `triage evaluate --probes-only` after changing the bundle or probes.yaml.
    """
    committed = json.loads((DEFAULT_BUNDLE / "evaluation" / "probes.json").read_text())
    assert committed["bundle"] == report.bundle
    assert list(committed["families"]) == list(report.families)
    for name, result in report.families.items():
        saved = committed["families"][name]
        assert saved["limits"] == {str(k): v for k, v in result.family.limits.items()}, name
        assert saved["metrics"]["n"] == result.metrics["n"], name
        assert saved["metrics"]["mean_score"] == pytest.approx(
            result.metrics["mean_score"], abs=0.01
        ), name
