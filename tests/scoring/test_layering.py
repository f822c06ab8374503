"""The scoring core stands below the service, the queue and the storage: none of its modules
imports them (checked in a fresh interpreter, so other tests' imports do not hide one)."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import triage.scoring

ABOVE = ("triage.service", "triage.queue", "triage.storage", "triage.training", "triage.cli")


def test_no_scoring_module_imports_a_layer_above_it():
    modules = [f"triage.scoring.{m.name}" for m in pkgutil.iter_modules(triage.scoring.__path__)]
    code = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.startswith({ABOVE!r}))))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert "triage.scoring.score_file" in modules and "triage.scoring.scorer" in modules
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
