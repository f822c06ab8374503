"""The one schema every data adapter produces."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import asdict, dataclass, field

from triage.domain.labels import CORUMINATION_LEVELS, HOSTILE_IN_CONTEXT, LABELS, TIERS

SPLITS = ("train", "dev", "test")


@dataclass
class Annotation:
    """The project's own labels for a row (docs/annotation/), attached by id; None = not annotated.

    `evidence` is the character span [start, end) of `Row.text` behind a crisis or red tier.
    `hostile` is a reply read with its parent (docs/annotation/hostile_in_context.md).
    """

    tier: str | None = None
    evidence: tuple[int, int] | None = None
    corumination: str | None = None
    hostile: str | None = None

    def __post_init__(self) -> None:
        if self.tier is not None and self.tier not in TIERS:
            raise ValueError(f"annotation tier must be one of {TIERS}, found {self.tier!r}")
        if self.corumination is not None and self.corumination not in CORUMINATION_LEVELS:
            raise ValueError(
                f"annotation corumination must be one of {CORUMINATION_LEVELS}, "
                f"found {self.corumination!r}"
            )
        if self.hostile is not None and self.hostile not in HOSTILE_IN_CONTEXT:
            raise ValueError(
                f"annotation hostile must be one of {HOSTILE_IN_CONTEXT}, found {self.hostile!r}"
            )
        if self.evidence is not None:
            start, end = self.evidence
            if not 0 <= start < end:
                raise ValueError(
                    f"annotation evidence must be a span 0 <= start < end, found {self.evidence}"
                )
            self.evidence = (int(start), int(end))


@dataclass
class Row:
    """One training example. A label is 1, 0, or None (missing: the loss ignores it)."""

    id: str
    text: str
    source: str
    group: str  # author / thread / conversation id: rows of one group never straddle splits
    split: str
    parent_text: str | None = None
    labels: dict[str, int | None] = field(default_factory=lambda: dict.fromkeys(LABELS))
    annotation: Annotation | None = None  # written to JSON only when present
    # Written for training, not collected (synthetic/, issue 13): train split only, capped, and
    # how it was made. Both are written to JSON only for a synthetic row.
    synthetic: bool = False
    made_by: str | None = None

    def __post_init__(self) -> None:
        if self.split not in SPLITS:
            raise ValueError(f"row {self.id}: split must be one of {SPLITS}, found {self.split!r}")
        if self.synthetic and self.split != "train":
            raise ValueError(f"row {self.id}: a synthetic row is train only, found {self.split!r}")
        unknown = set(self.labels) - set(LABELS)
        if unknown:
            raise ValueError(f"row {self.id}: unknown labels {sorted(unknown)}")
        self.labels = {name: self.labels.get(name) for name in LABELS}

    def to_json(self) -> dict:
        data = asdict(self)
        if self.annotation is None:
            del data["annotation"]
        if not self.synthetic:
            del data["synthetic"], data["made_by"]
        return data

    @classmethod
    def from_json(cls, data: dict) -> Row:
        annotation = data.get("annotation")
        if isinstance(annotation, dict):
            data = {**data, "annotation": Annotation(**annotation)}
        return cls(**data)


_SPACE = re.compile(r"\s+")
_NON_WORD = re.compile(r"[^\w\s]")


def normalise(text: str) -> str:
    """The key used to find duplicates: case-, accent-, punctuation- and whitespace-blind."""
    text = text.lower()
    if not text.isascii():  # ASCII has no accents to strip: most texts skip the slow part
        text = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = _NON_WORD.sub(" ", text)
    return _SPACE.sub(" ", text).strip()


def hash_split(key: str, dev: float = 0.1, test: float = 0.1) -> str:
    """A stable split for sources that ship without one, decided by the group key."""
    bucket = int(hashlib.sha1(key.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    if bucket < test:
        return "test"
    if bucket < test + dev:
        return "dev"
    return "train"


def hash_dev(key: str, official: str, dev: float = 0.1) -> str:
    """Carve a dev split out of a source's official train split; keep its official test."""
    if official != "train":
        return official
    return hash_split("dev:" + key, dev=dev, test=0.0)
