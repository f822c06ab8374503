"""`triage data annotations agreement`: Cohen's kappa between the two annotation passes.

Only ids labelled in both passes count, and an item either pass skipped is left out. Tiers get
unweighted, linear and quadratic kappa (ordinal: green < amber < red < crisis) and a binary
kappa for "urgent" (crisis or red); corumination levels get unweighted, linear and quadratic
kappa and a binary kappa for the training label (some or strong). Each kappa has a 95% bootstrap
interval (items resampled, seeded). Written to annotations/AGREEMENT.md.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from triage.training.annotations import KINDS, SKIP, Kind, read_labels, read_manifest

WEIGHTS = (None, "linear", "quadratic")
_BOOTSTRAP = 1000


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


@dataclass
class Agreement:
    kind: str
    values: tuple[str, ...]
    pairs: list[tuple[str, str]]  # (pass 1, pass 2) labels per double-annotated item
    skipped: int
    kappas: dict[str, tuple[float, float, float]]  # name -> (kappa, low, high)

    @property
    def percent(self) -> float:
        return sum(a == b for a, b in self.pairs) / len(self.pairs) if self.pairs else float("nan")


def _binary_cut(kind: Kind) -> tuple[str, set[str]]:
    if kind.name == "tiers":
        return "binary urgent (crisis+red)", {"crisis", "red"}
    return "binary (some+strong)", {"some", "strong"}


def agreement(annotations_dir: Path, kind_name: str) -> Agreement | None:
    """Kappas for one kind, or None when no item has labels from both passes."""
    kind = KINDS[kind_name]
    path = annotations_dir / kind.labels_file
    if not path.exists():
        return None
    by_pass: dict[int, dict[str, str]] = {1: {}, 2: {}}
    for record in read_labels(path, kind):
        by_pass[record.pass_][record.unit_id] = record.label
    both = sorted(set(by_pass[1]) & set(by_pass[2]))
    pairs = [(by_pass[1][u], by_pass[2][u]) for u in both]
    kept = [(a, b) for a, b in pairs if SKIP not in (a, b)]
    if not kept:
        return None
    index = {value: i for i, value in enumerate(kind.values)}
    first, second = [index[a] for a, _ in kept], [index[b] for _, b in kept]
    kappas = {}
    for weights in WEIGHTS:

        def statistic(x, y, w=weights):
            return cohen_kappa(x, y, len(kind.values), w)

        kappas[weights or "unweighted"] = _with_interval(first, second, statistic)
    name, positive = _binary_cut(kind)
    first_b = [int(kind.values[i] in positive) for i in first]
    second_b = [int(kind.values[i] in positive) for i in second]
    kappas[name] = _with_interval(first_b, second_b, lambda x, y: cohen_kappa(x, y, 2))
    return Agreement(kind_name, kind.values, kept, len(pairs) - len(kept), kappas)


def _with_interval(first, second, statistic) -> tuple[float, float, float]:
    return (statistic(first, second), *bootstrap_interval(first, second, statistic))


# --- report -----------------------------------------------------------------------------------


def label_counts_by_stratum(annotations_dir: Path, kind_name: str) -> dict[str, Counter]:
    """Pass-1 labels per sampling stratum (the enriched strata are not random samples)."""
    kind = KINDS[kind_name]
    records = read_labels(annotations_dir / kind.labels_file, kind)
    labels = {r.unit_id: r.label for r in records if r.pass_ == 1}
    manifest_path = annotations_dir / kind.manifest_file
    strata = (
        {m.unit_id: m.stratum for m in read_manifest(manifest_path)}
        if manifest_path.exists()
        else {}
    )
    table: dict[str, Counter] = {}
    for unit, label in labels.items():
        table.setdefault(strata.get(unit, "unknown"), Counter())[label] += 1
    return dict(sorted(table.items()))


def format_report(results: list[Agreement], counts: dict[str, dict[str, Counter]]) -> str:
    lines = ["# Annotation agreement", ""]
    lines += [
        "Written by `triage data annotations agreement` from the label files in this folder.",
        "Pass 2 is a blind second annotation of a random subset of the pass-1 sample; items",
        "either pass skipped are left out. Intervals: 95% bootstrap over items (1,000 resamples).",
        "",
    ]
    for result in results:
        lines += _agreement_section(result)
    for kind_name, table in counts.items():
        lines += _counts_section(kind_name, table)
    return "\n".join(lines) + "\n"


def _agreement_section(result: Agreement) -> list[str]:
    lines = [
        f"## {result.kind}",
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
    return [*lines, ""]


def _counts_section(kind_name: str, table: dict[str, Counter]) -> list[str]:
    values = (*KINDS[kind_name].values, SKIP)
    lines = [f"## {kind_name}: pass-1 labels by sampling stratum", ""]
    lines.append("| stratum | " + " | ".join(values) + " | total |")
    lines.append("|---" * (len(values) + 2) + "|")
    for stratum, counter in table.items():
        cells = " | ".join(str(counter[v]) for v in values)
        lines.append(f"| {stratum} | {cells} | {sum(counter.values())} |")
    return [*lines, ""]


def write_agreement(annotations_dir: Path) -> tuple[list[Agreement], Path]:
    results = [r for k in KINDS if (r := agreement(annotations_dir, k)) is not None]
    counts = {
        k: label_counts_by_stratum(annotations_dir, k)
        for k in KINDS
        if (annotations_dir / KINDS[k].labels_file).exists()
    }
    if not counts:
        raise FileNotFoundError(
            f"no label files in {annotations_dir}; run `triage data annotations import` first"
        )
    path = annotations_dir / "AGREEMENT.md"
    path.write_text(format_report(results, counts), encoding="utf-8")
    return results, path
