"""Counterfactual train rows: templates x terms, fixed labels (configs/train/counterfactuals.yaml).

The probes (configs/probes.yaml) found that the shipped model scores stating a diagnosis or an
identity, recovery talk and hyperbole as self-harm. The public data teaches it that: disability
and diagnosis words occur mostly in r/SuicideWatch and r/depression posts, recovery posts are
rare there, and no source has death-word jokes labelled safe. These rows show the same sentence
with many identity terms and the same label, both as a harmless statement (self_harm 0, hostile
0) and as a real disclosure or insult (1), so the label follows what is said, not who says it;
and they contrast recovery (0) with recent self-harm (1).

They are train-only (never in dev or test, so no metric is measured on them), and their
templates and terms are disjoint from the probes' (tests/training/data/test_counterfactuals.py),
so the probes keep measuring generalisation rather than recall of the augmentation.

They are written text, so they are `synthetic` rows (counted in a run's synthetic share). A family
may give a `tier` (docs/annotation/self_harm_tiers.md) where every template has the same one:
recovery and hyperbole are green, which the tier outputs learn at `synthetic_tier_weight` (the
recovery and hyperbole probes fail on the tier, not on the self_harm flag).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from triage.domain.labels import LABELS, Tier
from triage.paths import read_yaml
from triage.training.data.probe_config import SLOT, Template, TermSets, fill_template
from triage.training.data.rows import Annotation, Row

SOURCE = "counterfactual"
MADE_BY = "templates x terms of configs/train/counterfactuals.yaml"


class CounterfactualFamily(BaseModel):
    model_config = ConfigDict(extra="forbid")

    labels: dict[str, int]  # every row of the family gets these; the other labels are missing
    templates: list[Template] = Field(min_length=1)
    terms: list[str] = []  # term sets whose phrases fill {term}; none: templates used as they are
    repeat: int = Field(1, ge=1, le=10)  # copies of each row (upweights a small family)
    tier: Tier | None = None  # the written tier of every row of the family; None: no tier target

    @field_validator("templates", mode="before")
    @classmethod
    def _plain_strings(cls, templates: list) -> list:
        return [{"text": t} if isinstance(t, str) else t for t in templates]

    @field_validator("labels")
    @classmethod
    def _binary_known_labels(cls, labels: dict[str, int]) -> dict[str, int]:
        for label, value in labels.items():
            if label not in LABELS or value not in (0, 1):
                raise ValueError(f"labels.{label}: expected a label of {LABELS} and 0 or 1")
        if not labels:
            raise ValueError("expected at least one label")
        return labels

    @model_validator(mode="after")
    def _slots_match_terms(self) -> CounterfactualFamily:
        for template in self.templates:
            slots = template.text.count(SLOT)
            expected = 1 if self.terms else 0
            if slots != expected:
                raise ValueError(
                    f"template {template.text!r}: expected {SLOT} {expected} time(s) "
                    f"(terms: {self.terms}), found it {slots} time(s)"
                )
        return self


class CounterfactualConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    terms: TermSets = {}
    families: dict[str, CounterfactualFamily] = Field(min_length=1)

    @model_validator(mode="after")
    def _term_sets_exist(self) -> CounterfactualConfig:
        for name, family in self.families.items():
            missing = sorted(set(family.terms) - set(self.terms))
            if missing:
                raise ValueError(f"families.{name}: term sets {missing} are not under `terms`")
        return self

    @classmethod
    def load(cls, path: Path) -> CounterfactualConfig:
        try:
            return cls.model_validate(read_yaml(Path(path)))
        except (ValidationError, ValueError, FileNotFoundError) as error:
            raise ValueError(f"{path}: {error}") from error

    def phrases(self, family: CounterfactualFamily) -> list[str]:
        return [p for name in family.terms for ps in self.terms[name].values() for p in ps]


def expand_texts(config: CounterfactualConfig) -> list[tuple[str, str | None]]:
    """Every (text, parent) the config produces, once each."""
    texts = []
    for family in config.families.values():
        phrases: list[str | None] = [*config.phrases(family)] or [None]
        for template in family.templates:
            for phrase in phrases:
                text = template.text if phrase is None else fill_template(template.text, phrase)
                texts.append((text, template.parent))
    return list(dict.fromkeys(texts))


def counterfactual_rows(config: CounterfactualConfig) -> list[Row]:
    """Train rows: each family's templates x its terms, `repeat` times, with its labels."""
    rows = []
    for name, family in config.families.items():
        phrases: list[str | None] = [*config.phrases(family)] or [None]
        for i, template in enumerate(family.templates):
            for j, phrase in enumerate(phrases):
                text = template.text if phrase is None else fill_template(template.text, phrase)
                for copy in range(family.repeat):
                    rows.append(
                        Row(
                            id=f"{SOURCE}:{name}:{i}:{j}:{copy}",
                            text=text,
                            source=SOURCE,
                            group=f"{SOURCE}:{name}:{i}",
                            split="train",
                            parent_text=template.parent,
                            labels=dict(family.labels),
                            annotation=Annotation(tier=family.tier.value) if family.tier else None,
                            synthetic=True,
                            made_by=MADE_BY,
                        )
                    )
    return rows
