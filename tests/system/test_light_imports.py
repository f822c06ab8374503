"""Serving never imports training libraries: checked in a fresh interpreter."""

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
