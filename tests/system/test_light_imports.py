"""Serving never imports training libraries, training and the scoring core never import the
service, the queue or the database: checked in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("torch", "transformers", "datasets", "sklearn")
# Serving may import onnxruntime, tokenizers, numpy, the database layer, FastAPI/starlette/pydantic
# and py3langid (language identification, triage/scoring/language.py: numpy only, its model in its
# wheel).

PROBE = (
    f"HEAVY_NAMES = {HEAVY!r}\n"
    + """
import json, sys
from fastapi.testclient import TestClient
import triage.scoring.scorer
from triage.settings import Settings
from triage.service.app import create_app
settings = Settings(bundle_dir=sys.argv[1], database_url=sys.argv[2])
with TestClient(create_app(settings), headers={"Authorization": "Bearer " + sys.argv[3]}) as client:
    response = client.post("/v1/score", json={"items": [{"id": "a", "text": "hello there"}]})
    assert response.status_code == 200, response.text
    response = client.post("/v1/items", json={"items": [{"id": "a", "text": "hello there"}]})
    assert response.status_code == 200, response.text
    assert client.get("/v1/queue").status_code == 200
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in HEAVY_NAMES)))
"""
)


def test_serving_path_imports_no_training_library(tiny_bundle, settings, keys):
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(tiny_bundle), settings.database_url, keys["admin"]],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_cli_help_imports_no_training_library():
    code = (
        "import sys; from click.testing import CliRunner; from triage.cli.main import main;"
        "r = CliRunner().invoke(main, ['--help']); assert r.exit_code == 0;"
        f"print([m for m in sys.modules if m.split('.')[0] in {HEAVY!r}])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "[]"


# The layers below the queue: importing them must not pull in the service, the queue, the
# database layer or their libraries (SQLAlchemy and FastAPI come only with the service extra).
ABOVE_THE_CORE = ("triage.service", "triage.queue", "triage.storage", "fastapi", "sqlalchemy")
# Libraries of the train extra: a training module that needs one is skipped where it is missing.
TRAIN_EXTRA = ("torch", "transformers", "datasets", "sklearn", "onnx", "safetensors", "matplotlib")
COMMON = ["numpy", "pydantic", "yaml"]  # preloaded: nearly every module imports them

# Walks the packages without importing them (pkgutil over their folders), then imports each
# module in a child forked from this fresh interpreter, so one module's imports never hide
# another's; libraries of the layer (torch, numpy) are imported once before forking, for speed.
LAYER_PROBE = """
import importlib, importlib.util, json, os, pkgutil, sys

packages, forbidden, train_extra, preload = (json.loads(arg) for arg in sys.argv[1:])


def found(name):
    return next((f for f in forbidden if name == f or name.startswith(f + ".")), None)


def modules_of(package):
    names, folders = [package], [(package, importlib.util.find_spec(package))]
    while folders:
        prefix, spec = folders.pop()
        for info in pkgutil.iter_modules(spec.submodule_search_locations, prefix + "."):
            names.append(info.name)
            if info.ispkg:
                folders.append((info.name, info.module_finder.find_spec(info.name)))
    return sorted(names)


def probe(module):
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            importlib.import_module(module)
            result = {"loaded": sorted({found(m) for m in sys.modules if found(m)})}
        except ModuleNotFoundError as error:
            missing = (error.name or "").split(".")[0]
            key = "skipped" if missing in train_extra else "error"
            result = {key: f"ModuleNotFoundError: {error}"}
        except BaseException as error:
            result = {"error": f"{type(error).__name__}: {error}"}
        with os.fdopen(write, "w") as out:
            json.dump(result, out)
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as answer:
        result = json.loads(answer.read() or '{"error": "the child died"}')
    os.waitpid(pid, 0)
    return result


for name in preload:
    if importlib.util.find_spec(name) is not None:
        importlib.import_module(name)
preloaded = sorted({found(m) for m in sys.modules if found(m)})
assert not preloaded, f"the preloaded libraries import {preloaded}"
modules = [m for package in packages for m in modules_of(package)]
print(json.dumps({module: probe(module) for module in modules}))
"""


def _probe_layer(packages: list[str], preload: list[str]) -> dict[str, dict]:
    args = [json.dumps(value) for value in (packages, ABOVE_THE_CORE, TRAIN_EXTRA, preload)]
    out = subprocess.run(
        [sys.executable, "-c", LAYER_PROBE, *args], capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report, f"no modules found under {packages}"
    return report


def _violations(report: dict[str, dict]) -> dict[str, object]:
    return {
        module: result.get("loaded") or result["error"]
        for module, result in report.items()
        if result.get("loaded") or "error" in result
    }


def test_training_never_imports_the_service_queue_or_storage():
    report = _probe_layer(["triage.training"], preload=[*COMMON, "torch", "transformers"])
    assert _violations(report) == {}


def test_scoring_and_domain_never_import_the_service_queue_or_storage():
    report = _probe_layer(
        ["triage.scoring", "triage.domain"], preload=[*COMMON, "onnxruntime", "tokenizers"]
    )
    assert _violations(report) == {}
