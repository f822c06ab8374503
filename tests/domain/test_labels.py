"""The taxonomy matches DESIGN.md and is defined in one place only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from triage.domain.labels import (
    CORUMINATION,
    DISTRESS,
    HOSTILE,
    LABELS,
    RISK_LABELS,
    SELF_HARM,
    SPAM,
    TIERS,
    Tier,
    check_labels,
)
from triage.domain.tier_rules import TierRules
from triage.paths import DEFAULT_CONFIG_DIR

PACKAGE = Path(__file__).resolve().parents[2] / "triage"


def test_labels_and_tiers_are_the_designed_ones():
    assert LABELS == ("self_harm", "distress", "hostile", "spam", "corumination")
    assert TIERS == ("crisis", "red", "amber", "green")
    assert [t.rank for t in Tier] == [0, 1, 2, 3]


def test_the_label_constants_name_the_taxonomy():
    """Code that names one label uses these constants, so they must be the taxonomy's names."""
    assert (SELF_HARM, DISTRESS, HOSTILE, SPAM, CORUMINATION) == LABELS
    assert RISK_LABELS == (SELF_HARM, DISTRESS)


def test_check_labels_refuses_other_orders():
    check_labels(list(LABELS), "here")
    with pytest.raises(ValueError, match="do not match"):
        check_labels(list(reversed(LABELS)), "here")


def test_no_other_module_spells_out_the_label_list():
    pattern = re.compile(r"self_harm[\"'],\s*[\"']distress")
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if path.name != "labels.py" and pattern.search(path.read_text())
    ]
    assert offenders == []


def test_shipped_tier_config_is_valid():
    rules = TierRules.load(DEFAULT_CONFIG_DIR / "tiers.yaml")
    assert rules.sla_minutes["crisis"] < rules.sla_minutes["red"] < rules.sla_minutes["amber"]
    assert rules.rules["red"]["self_harm"] == "threshold"  # flagged self_harm is at least red
    assert rules.rules["crisis"]["self_harm"] > rules.rules["amber"]["self_harm"]


def test_tier_config_rejects_unknown_labels():
    with pytest.raises(ValueError, match="unknown label"):
        TierRules.model_validate(
            {"rules": {"red": {"sadness": 0.5}}, "sla_minutes": dict.fromkeys(TIERS)}
        )


def test_tier_config_rejects_labels_outside_the_risk_labels():
    """A risk tier rests on self-harm and distress only (RISK_LABELS): a hostile or spam score
    must not make a post crisis, red or amber."""
    for label in sorted(set(LABELS) - set(RISK_LABELS)):
        with pytest.raises(ValueError, match="not a risk label"):
            TierRules.model_validate(
                {"rules": {"amber": {label: 0.5}}, "sla_minutes": dict.fromkeys(TIERS)}
            )
