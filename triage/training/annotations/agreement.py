"""`triage data annotations agreement`: Cohen's kappa between the two annotation passes.

Only ids labelled in both passes count, and an item either pass skipped is left out. Tiers get
unweighted, linear and quadratic kappa (ordinal: green < amber < red < crisis) and a binary
kappa for "urgent" (crisis or red); corumination levels get unweighted, linear and quadratic
kappa and a binary kappa for the training label (some or strong); hostile pairs, a two-valued
label, get the unweighted kappa only (weights and a binary cut change nothing there). Each kappa
has a 95% bootstrap
interval (items resampled, seeded). Each label also gets its own line (pass-1 and pass-2
counts, agreement on it = both passes gave it / either gave it, and the kappa of "this label vs
not"). Every sampling round is reported apart (round 2 of the tiers: issue 13); a unit belongs
to the round whose manifest holds it. Written to annotations/AGREEMENT.md, keeping the
hand-written section that starts at HAND_WRITTEN_HEADING.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from triage.domain.labels import Tier
from triage.training.annotations.files import read_round_manifests, units_by_round
from triage.training.data.annotation_labels import KINDS, SKIP, Kind, LabelRecord, read_labels

WEIGHTS = (None, "linear", "quadratic")
_BOOTSTRAP = 1000
HAND_WRITTEN_HEADING = "## Who annotated"


def cohen_kappa(
    first: Sequence[int], second: Sequence[int], categories: int, weights: str | None = None
) -> float:
    """Cohen's kappa of two raters' category indices (0..categories-1); NaN when undefined
    (both raters always gave one and the same category)."""
    if len(first) != len(second) or not first:
        raise ValueError(
            f"need two equally long, non-empty ratings, found {len(first)} and {len(second)}"
        )
    if weights not in WEIGHTS:
        raise ValueError(f"weights must be one of {WEIGHTS}, found {weights!r}")
    n = len(first)
    observed = Counter(zip(first, second, strict=True))
    rows, cols = Counter(first), Counter(second)
    disagreement = expected = 0.0
    for i in range(categories):
        for j in range(categories):
            weight = _weight(i, j, categories, weights)
            disagreement += weight * observed[(i, j)] / n
            expected += weight * rows[i] * cols[j] / (n * n)
    return float("nan") if expected == 0 else 1.0 - disagreement / expected


def _weight(i: int, j: int, categories: int, weights: str | None) -> float:
    if weights is None:
        return float(i != j)
    distance = abs(i - j) / max(categories - 1, 1)
    return distance if weights == "linear" else distance**2


def bootstrap_interval(
    first: Sequence[int], second: Sequence[int], statistic: Callable, seed: int = 0
) -> tuple[float, float]:
    """95% percentile interval of `statistic(first, second)` over resampled items."""
    rng = random.Random(seed)
    n = len(first)
    values = []
    for _ in range(_BOOTSTRAP):
        picks = [rng.randrange(n) for _ in range(n)]
        value = statistic([first[i] for i in picks], [second[i] for i in picks])
        if not math.isnan(value):
            values.append(value)
    if not values:
        return float("nan"), float("nan")
    values.sort()
    return values[int(0.025 * len(values))], values[min(int(0.975 * len(values)), len(values) - 1)]


@dataclass(frozen=True)
class LabelAgreement:
    """Agreement on one label: how often each pass gave it, both / either, kappa of it vs not."""

    label: str
    first: int  # items pass 1 gave this label
    second: int  # items pass 2 gave this label
    both: int
    either: int
    kappa: float

    @property
    def agreement(self) -> float:
        return self.both / self.either if self.either else float("nan")


def label_agreement(pairs: Sequence[tuple[str, str]], label: str) -> LabelAgreement:
    """One label's line of the per-label table, from (pass 1, pass 2) labels."""
    first = [int(a == label) for a, _ in pairs]
    second = [int(b == label) for _, b in pairs]
    return LabelAgreement(
        label,
        sum(first),
        sum(second),
        sum(a and b for a, b in zip(first, second, strict=True)),
        sum(a or b for a, b in zip(first, second, strict=True)),
        cohen_kappa(first, second, 2),
    )


@dataclass
class Agreement:
    kind: str
    values: tuple[str, ...]
    pairs: list[tuple[str, str]]  # (pass 1, pass 2) labels per double-annotated item
    skipped: int
    kappas: dict[str, tuple[float, float, float]]  # name -> (kappa, low, high)
    round_: int = 1

    @property
    def percent(self) -> float:
        return sum(a == b for a, b in self.pairs) / len(self.pairs) if self.pairs else float("nan")

    @property
    def title(self) -> str:
        return round_title(self.kind, self.round_)

    def per_label(self) -> list[LabelAgreement]:
        return [label_agreement(self.pairs, value) for value in self.values]


def round_title(kind_name: str, round_: int) -> str:
    """`tiers` for round 1 (as before rounds existed), `tiers, round 2` for a later round."""
    return kind_name if round_ == 1 else f"{kind_name}, round {round_}"


def _binary_cut(kind: Kind) -> tuple[str, set[str]] | None:
    """The binary label a kind's ordinal values are cut to; None for a kind already binary."""
    if len(kind.values) == 2:
        return None
    if kind.name == "tiers":
        return "binary urgent (crisis+red)", {Tier.CRISIS.value, Tier.RED.value}
    return "binary (some+strong)", {"some", "strong"}


def _round_records(annotations_dir: Path, kind: Kind, round_: int) -> list[LabelRecord]:
    """The label records of one sampling round's units (none when there is no label file)."""
    path = annotations_dir / kind.labels_file
    if not path.exists():
        return []
    records = read_labels(path, kind)
    units = units_by_round(annotations_dir, kind, {r.unit_id for r in records}).get(round_, set())
    return [r for r in records if r.unit_id in units]


def agreement(annotations_dir: Path, kind_name: str, round_: int = 1) -> Agreement | None:
    """Kappas for one kind and sampling round, or None when no item of that round has labels
    from both passes."""
    kind = KINDS[kind_name]
    by_pass: dict[int, dict[str, str]] = {1: {}, 2: {}}
    for record in _round_records(annotations_dir, kind, round_):
        by_pass[record.pass_][record.unit_id] = record.label
    both = sorted(set(by_pass[1]) & set(by_pass[2]))
    pairs = [(by_pass[1][u], by_pass[2][u]) for u in both]
    kept = [(a, b) for a, b in pairs if SKIP not in (a, b)]
    if not kept:
        return None
    index = {value: i for i, value in enumerate(kind.values)}
    first, second = [index[a] for a, _ in kept], [index[b] for _, b in kept]
    kappas = {}
    for weights in WEIGHTS if len(kind.values) > 2 else (None,):

        def statistic(x, y, w=weights):
            return cohen_kappa(x, y, len(kind.values), w)

        kappas[weights or "unweighted"] = _with_interval(first, second, statistic)
    cut = _binary_cut(kind)
    if cut is not None:
        name, positive = cut
        first_b = [int(kind.values[i] in positive) for i in first]
        second_b = [int(kind.values[i] in positive) for i in second]
        kappas[name] = _with_interval(first_b, second_b, lambda x, y: cohen_kappa(x, y, 2))
    return Agreement(kind_name, kind.values, kept, len(pairs) - len(kept), kappas, round_)


def _with_interval(first, second, statistic) -> tuple[float, float, float]:
    return (statistic(first, second), *bootstrap_interval(first, second, statistic))


# --- report -----------------------------------------------------------------------------------


def label_counts_by_stratum(
    annotations_dir: Path, kind_name: str, round_: int = 1
) -> dict[str, Counter]:
    """Pass-1 labels of one sampling round per stratum (the enriched strata are not random
    samples)."""
    kind = KINDS[kind_name]
    records = _round_records(annotations_dir, kind, round_)
    labels = {r.unit_id: r.label for r in records if r.pass_ == 1}
    manifests = read_round_manifests(annotations_dir, kind)
    strata = {m.unit_id: m.stratum for m in manifests.get(round_, [])}
    table: dict[str, Counter] = {}
    for unit, label in labels.items():
        table.setdefault(strata.get(unit, "unknown"), Counter())[label] += 1
    return dict(sorted(table.items()))


def format_report(
    results: list[Agreement], counts: dict[tuple[str, int], dict[str, Counter]]
) -> str:
    """The report; `counts` holds pass-1 labels by stratum per (kind, round)."""
    lines = ["# Annotation agreement", ""]
    lines += [
        "Written by `triage data annotations agreement` from the label files in this folder.",
        "Pass 2 is a blind second annotation of a random subset of the pass-1 sample; items",
        "either pass skipped are left out. Intervals: 95% bootstrap over items (1,000 resamples).",
        "",
    ]
    for result in results:
        lines += _agreement_section(result)
    for (kind_name, round_), table in counts.items():
        lines += _counts_section(kind_name, round_, table)
    return "\n".join(lines) + "\n"


def _agreement_section(result: Agreement) -> list[str]:
    lines = [
        f"## {result.title}",
        "",
        f"Items in both passes: {len(result.pairs)} (left out for a skip: {result.skipped}); "
        f"raw agreement {result.percent:.3f}.",
        "",
        "| kappa | value | 95% interval |",
        "|---|---|---|",
    ]
    for name, (value, low, high) in result.kappas.items():
        lines.append(f"| {name} | {value:.3f} | {low:.3f} to {high:.3f} |")
    lines += ["", "Confusion (rows: pass 1, columns: pass 2):", ""]
    lines.append("| pass 1 \\ pass 2 | " + " | ".join(result.values) + " |")
    lines.append("|---" * (len(result.values) + 1) + "|")
    matrix = Counter(result.pairs)
    for a in result.values:
        lines.append(f"| {a} | " + " | ".join(str(matrix[(a, b)]) for b in result.values) + " |")
    return [*lines, "", *_per_label_table(result), ""]


def _per_label_table(result: Agreement) -> list[str]:
    field = KINDS[result.kind].field
    lines = [
        f"Per {field} (agreement: both passes gave it / either gave it; kappa: this {field} "
        "vs not):",
        "",
        f"| {field} | pass 1 | pass 2 | both | either | agreement | kappa |",
        "|---|---|---|---|---|---|---|",
    ]
    for line in result.per_label():
        lines.append(
            f"| {line.label} | {line.first} | {line.second} | {line.both} | {line.either} | "
            f"{line.agreement:.3f} | {line.kappa:.3f} |"
        )
    return lines


def _counts_section(kind_name: str, round_: int, table: dict[str, Counter]) -> list[str]:
    values = (*KINDS[kind_name].values, SKIP)
    lines = [f"## {round_title(kind_name, round_)}: pass-1 labels by sampling stratum", ""]
    lines.append("| stratum | " + " | ".join(values) + " | total |")
    lines.append("|---" * (len(values) + 2) + "|")
    for stratum, counter in table.items():
        cells = " | ".join(str(counter[v]) for v in values)
        lines.append(f"| {stratum} | {cells} | {sum(counter.values())} |")
    return [*lines, ""]


def _labelled_rounds(annotations_dir: Path, kind: Kind) -> list[int]:
    """The sampling rounds that have labels of this kind (round 1 first)."""
    path = annotations_dir / kind.labels_file
    if not path.exists():
        return []
    units = {r.unit_id for r in read_labels(path, kind)}
    return list(units_by_round(annotations_dir, kind, units)) or [1]


def write_agreement(annotations_dir: Path) -> tuple[list[Agreement], Path]:
    rounds = {k: _labelled_rounds(annotations_dir, KINDS[k]) for k in KINDS}
    results = [
        r
        for k, kind_rounds in rounds.items()
        for round_ in kind_rounds
        if (r := agreement(annotations_dir, k, round_)) is not None
    ]
    counts = {
        (k, round_): label_counts_by_stratum(annotations_dir, k, round_)
        for k, kind_rounds in rounds.items()
        for round_ in kind_rounds
    }
    if not counts:
        raise FileNotFoundError(
            f"no label files in {annotations_dir}; run `triage data annotations import` first"
        )
    path = annotations_dir / "AGREEMENT.md"
    report = format_report(results, counts) + _hand_written_section(path)
    path.write_text(report, encoding="utf-8")
    return results, path


def _hand_written_section(path: Path) -> str:
    """The section people wrote below the generated report (who annotated), kept as it is."""
    if not path.exists():
        return ""
    text = path.read_text(encoding="utf-8")
    start = text.find(HAND_WRITTEN_HEADING)
    return "\n" + text[start:] if start >= 0 else ""
