"""The label taxonomy and risk tiers: defined here and nowhere else.

Every other part (data adapters, training heads, bundles, API answers, configs) refers to these
names. A bundle whose labels differ from LABELS is refused at load time (see bundle.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True)
class Label:
    name: str
    unit: str
    meaning: str
    reply_only: bool = False  # scored only for a reply with its parent; null for a lone post


# The label names, for code that names one label (a rule about self-harm, a confirmed spam): a
# typo in a constant fails at import, a typo in a string literal silently matches nothing.
SELF_HARM = "self_harm"
DISTRESS = "distress"
HOSTILE = "hostile"
SPAM = "spam"
CORUMINATION = "corumination"

LABEL_DEFINITIONS: tuple[Label, ...] = (
    Label(
        SELF_HARM,
        "post",
        "the author discloses suicidal ideation, intent, plan, self-harm or an attempt",
    ),
    Label(
        DISTRESS,
        "post",
        "the author is in marked distress (depression, hopelessness, burdensomeness, stress) "
        "without self-harm content",
    ),
    Label(
        HOSTILE,
        "reply (with parent)",
        "insults, harasses, threatens, demeans or invalidates a person in the conversation",
    ),
    Label(
        SPAM,
        "post",
        "advertising, scams, link farming, solicitation, off-topic promotion",
    ),
    Label(
        CORUMINATION,
        "reply (with parent) and thread",
        "peers rehashing and speculating about problems and dwelling on negative feelings "
        "together, with no movement towards coping, problem solving or support elsewhere",
        reply_only=True,
    ),
)

LABELS: tuple[str, ...] = tuple(label.name for label in LABEL_DEFINITIONS)
REPLY_ONLY_LABELS: tuple[str, ...] = tuple(d.name for d in LABEL_DEFINITIONS if d.reply_only)
# The labels a single written text carries on its own (the casebook, synthetic rows)
NON_REPLY_LABELS: tuple[str, ...] = tuple(d.name for d in LABEL_DEFINITIONS if not d.reply_only)

# The labels behind the self-harm risk tier (configs/tiers.yaml may only rely on these two).
RISK_LABELS: tuple[str, ...] = (SELF_HARM, DISTRESS)


class Tier(StrEnum):
    """Self-harm risk tiers after the ReachOut scheme (CLPsych 2016), most urgent first."""

    CRISIS = "crisis"  # imminent: plan, means, timeline, attempt in progress
    RED = "red"  # active ideation or recent self-harm
    AMBER = "amber"  # distress that needs a moderator's attention
    GREEN = "green"  # no moderator action needed

    @property
    def rank(self) -> int:
        """0 for the most urgent tier."""
        return list(Tier).index(self)


TIERS: tuple[str, ...] = tuple(t.value for t in Tier)
# The urgent (high-risk) tiers: the urgent-recall target, the console's hidden text and alerts,
# the per-moderator high-risk limit. Tier is a StrEnum, so these compare equal to "crisis", "red".
URGENT_TIERS: tuple[Tier, ...] = (Tier.CRISIS, Tier.RED)

# The ordinal tier output (issue 6): one cumulative logit per cut, P(tier >= amber / red / crisis),
# learnt next to the labels on the shared encoder. A model's outputs are LABELS then these.
TIER_CUTS: tuple[Tier, ...] = (Tier.AMBER, Tier.RED, Tier.CRISIS)
TIER_OUTPUTS: tuple[str, ...] = tuple(f"tier>={cut.value}" for cut in TIER_CUTS)
OUTPUTS: tuple[str, ...] = LABELS + TIER_OUTPUTS


class CoruminationLevel(StrEnum):
    """The annotated corumination scale (docs/annotation/corumination.md), least first."""

    NONE = "none"
    SOME = "some"
    STRONG = "strong"

    @property
    def positive(self) -> bool:
        """The binary label used for training and evaluation: some or strong."""
        return self is not CoruminationLevel.NONE


CORUMINATION_LEVELS: tuple[str, ...] = tuple(level.value for level in CoruminationLevel)
# The project's own annotation of a reply read with its parent (docs/annotation/
# hostile_in_context.md): the second value sets the hostile label to 1, the first to 0.
HOSTILE_IN_CONTEXT: tuple[str, str] = ("not_hostile", "hostile")


def check_labels(names: list[str] | tuple[str, ...], where: str) -> None:
    """Raise ValueError unless `names` is exactly LABELS, in order."""
    if tuple(names) != LABELS:
        raise ValueError(
            f"{where}: labels {list(names)} do not match the taxonomy {list(LABELS)} "
            "(triage/domain/labels.py); retrain or re-export the bundle with this version of triage"
        )
