"""The architecture, read from the imports: each folder of triage/ is one layer, and imports only
go down (issue 16).

A static check: every .py under triage/ is parsed with `ast` (nothing is imported), and every
`import` or `from` of a triage module counts, including those inside functions and under
TYPE_CHECKING: a lazy import is still a dependency. A layer may import its own modules and the
layers it sits on (`on`), and through them everything below; never a layer above or beside it.
Where a layer's folders have an order of their own (the service, training), the same rule holds
inside it. A module that fits no layer fails too, so a new package must be placed here.

When this fails, move the code (down to where both importers can reach it, as
training/fit/label_metrics.py or service/api/bulk_events.py were moved), not the rule.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import cache
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[2] / "triage"
ROOT = "triage"  # the package's __init__ (its version): matched exactly, never as a prefix


@dataclass(frozen=True)
class Layer:
    """Packages or modules whose modules may import each other, and the layers right below."""

    name: str
    on: tuple[str, ...] = ()
    packages: tuple[str, ...] = ()  # the name alone when empty

    def holds(self, module: str) -> bool:
        return any(
            module == package or (package != ROOT and module.startswith(package + "."))
            for package in self.packages or (self.name,)
        )


# Lowest first.
LAYERS = (
    # Path defaults and read_yaml, the problem type shared by the API and score-file, the version.
    Layer("triage root", packages=(ROOT, "triage.paths", "triage.problems")),
    # Labels, tiers, priority, review, calibration, crisis resources: rules, no I/O but config.
    Layer("triage.domain", on=("triage root",)),
    # The one Settings object: it loads the domain's config files (tier rules, resource guard).
    Layer("triage.settings", on=("triage.domain",)),
    # The torch-free scoring core: bundle, ONNX session, scorer, evidence, score-file.
    Layer("triage.scoring", on=("triage.settings",)),
    # The database: engine, tables, keys, migrations.
    Layer("triage.storage", on=("triage.scoring",)),
    # The moderation queue: store, ranking, ingest, stats, retention. No FastAPI.
    Layer("triage.queue", on=("triage.storage",)),
    # Two users of the queue, neither importing the other: re-scoring the queue with a new
    # bundle (a batch job), and the HTTP service.
    Layer("triage.rescore", on=("triage.queue",)),
    Layer("triage.service", on=("triage.queue",)),
    # Training sits on the scoring core only: never the database, the queue or the service (it
    # runs without the service extra), and nothing but the CLI imports it (it imports torch).
    Layer("triage.training", on=("triage.scoring",)),
    Layer("triage.cli", on=("triage.service", "triage.rescore", "triage.training")),
)

# Inside a layer, lowest first.
INNER_LAYERS = {
    "triage.service": (
        # What every route leans on, leaning on each other: the typed context, the route
        # dependencies, the error type, and what runs around the routes (logs, metrics, rate
        # limits, the key cache, body limits, background work).
        Layer(
            "triage.service core",
            packages=(
                "triage.service.context",
                "triage.service.deps",
                "triage.service.errors",
                "triage.service.runtime",
            ),
        ),
        Layer("triage.service.api", on=("triage.service core",)),
        Layer("triage.service.console", on=("triage.service.api",)),  # it renders API schemas
        Layer("triage.service.app", on=("triage.service.console",)),  # create_app: the assembly
    ),
    "triage.training": (
        Layer("triage.training.data"),  # rows, adapters, prepared splits, label files, casebook
        Layer("triage.training.annotations", on=("triage.training.data",)),
        Layer("triage.training.fit", on=("triage.training.annotations",)),
        Layer("triage.training.evaluation", on=("triage.training.fit",)),
        Layer("triage.training.export", on=("triage.training.evaluation",)),
    ),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def package_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE_DIR.rglob("*.py"))}


def imported_modules(module: str, source: str, is_package: bool = False) -> list[str]:
    """The triage modules `source` imports anywhere (top level, functions, TYPE_CHECKING)."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(module, node, is_package)
            # `from triage.queue import store`: the module is triage.queue.store
            found.extend(
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in package_modules() else base
                for alias in node.names
            )
    return [name for name in found if name == ROOT or name.startswith(ROOT + ".")]


def _absolute(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    parts = module.split(".") if is_package else module.split(".")[:-1]
    parts = parts[: len(parts) - (node.level - 1)]
    return ".".join([*parts, node.module] if node.module else parts)


def layer_of(module: str, layers: tuple[Layer, ...]) -> Layer | None:
    return next((layer for layer in layers if layer.holds(module)), None)


def reachable(layer: Layer, layers: tuple[Layer, ...]) -> set[str]:
    """The names of the layers `layer` may import: its own and every one below it."""
    by_name = {each.name: each for each in layers}
    names, todo = {layer.name}, list(layer.on)
    while todo:
        name = todo.pop()
        if name not in names:
            names.add(name)
            todo.extend(by_name[name].on)
    return names


def violation(importer: str, imported: str) -> str | None:
    """`importer -> imported (why)` when the import breaks the layering, None when it is fine."""
    layers = LAYERS
    while True:
        low, high = layer_of(importer, layers), layer_of(imported, layers)
        if low is None or high is None:
            missing = importer if low is None else imported
            return f"{importer} -> {imported} ({missing} is in no layer: add it to test_layers.py)"
        if high.name not in reachable(low, layers):
            return f"{importer} -> {imported} (layer {low.name} may not import layer {high.name})"
        if low is not high or low.name not in INNER_LAYERS:
            return None
        layers = INNER_LAYERS[low.name]


def violations(imports: list[tuple[str, str]]) -> list[str]:
    return [found for pair in imports if (found := violation(*pair)) is not None]


def all_imports() -> list[tuple[str, str]]:
    pairs = []
    for module, path in package_modules().items():
        source = path.read_text(encoding="utf-8")
        for imported in imported_modules(module, source, path.name == "__init__.py"):
            pairs.append((module, imported))
    return sorted(set(pairs))


def test_imports_only_go_down():
    found = violations(all_imports())
    assert not found, "imports against the layer order:\n" + "\n".join(found)


def test_every_layer_it_names_exists():
    for layers in (LAYERS, *INNER_LAYERS.values()):
        names = {layer.name for layer in layers}
        for layer in layers:
            assert set(layer.on) <= names, layer
            for package in layer.packages or (layer.name,):
                assert package in package_modules(), f"{layer.name}: no module {package}"


def test_an_upward_import_fails():
    assert violations(
        [
            ("triage.domain.labels", "triage.service.app"),
            ("triage.training.fit.trainer", "triage.training.evaluation.label_metrics"),
            ("triage.rescore.engine", "triage.service.api.schemas"),
            ("triage.queue.store", "triage.training.data.rows"),
            ("triage.scoring.scorer", "triage.somewhere.new"),
        ]
    ) == [
        "triage.domain.labels -> triage.service.app "
        "(layer triage.domain may not import layer triage.service)",
        "triage.training.fit.trainer -> triage.training.evaluation.label_metrics "
        "(layer triage.training.fit may not import layer triage.training.evaluation)",
        "triage.rescore.engine -> triage.service.api.schemas "
        "(layer triage.rescore may not import layer triage.service)",
        "triage.queue.store -> triage.training.data.rows "
        "(layer triage.queue may not import layer triage.training)",
        "triage.scoring.scorer -> triage.somewhere.new "
        "(triage.somewhere.new is in no layer: add it to test_layers.py)",
    ]


def test_downward_and_sideways_within_a_layer_pass():
    assert (
        violations(
            [
                ("triage.cli.main", "triage.training.export.exporter"),
                ("triage.service.console.routes.pages", "triage.service.api.bulk_events"),
                ("triage.service.runtime.background", "triage.service.context"),
                ("triage.queue.alerts", ROOT),
                ("triage.training.evaluation.evaluate", "triage.scoring.scorer"),
            ]
        )
        == []
    )


def test_imports_in_functions_and_under_type_checking_count():
    source = """
from typing import TYPE_CHECKING
from triage.queue import store
if TYPE_CHECKING:
    from triage.service.context import ServiceContext
def later():
    import triage.training.fit.trainer
    from . import sibling
"""
    assert imported_modules("triage.domain.labels", source) == [
        "triage.queue.store",
        "triage.service.context",
        "triage.training.fit.trainer",
        "triage.domain",
    ]
    assert violations([("triage.domain.labels", "triage.service.context")]) == [
        "triage.domain.labels -> triage.service.context "
        "(layer triage.domain may not import layer triage.service)"
    ]
