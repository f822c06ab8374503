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

# Measured on triage-minilm 1.1.0 (models/triage-minilm/evaluation/PROBES.md). 1.0.0 failed all
# four families; 1.1.0 (counterfactual rows with a green tier, more synthetic recovery and
# hyperbole rows) passes three. docs/evaluation/1.1.0/README.md has both side by side.
KNOWN_FAILURES = {
    "recovery_not_crisis": (
        "1.1.0: 40% of recovery posts land in red (limit 10%), none in crisis (1.0.0: 55%, 0%; "
        "0.5.0: 50%, 10%)"
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
