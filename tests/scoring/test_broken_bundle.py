"""A broken bundle never stops the server (issue 12, points 3 and 10, and 13 for /healthz).

Each fault is made in a copy of the tiny bundle. The app still starts, /healthz answers 200,
/readyz and /v1/score answer 503 naming the kind of fault and no path, and POST /v1/items
stores the item queued `unscored` for a person. load_bundle checks the sha256 of every file
listed in bundle.json `files`, and still reads the first layout (`model_sha256` only).
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import bearer
from tests.service.api.test_service import assert_error_shape
from triage.scoring.bundle import (
    BUNDLE_INCOMPLETE,
    BUNDLE_INVALID,
    BUNDLE_MISSING,
    CHECKSUM_MISMATCH,
    DESCRIPTIVE_FILE_KEYS,
    FAULT_HINTS,
    LOAD_FAILED,
    MODEL_UNREADABLE,
    TOKENIZER_UNREADABLE,
    BundleError,
    load_bundle,
    sha256,
)

GARBAGE = b"\x00not a model or a tokenizer\xff" * 64


def _edit_info(folder: Path, change: Callable[[dict], None]) -> None:
    info = json.loads((folder / "bundle.json").read_text())
    change(info)
    (folder / "bundle.json").write_text(json.dumps(info))


def _forget_checksum(folder: Path, name: str) -> None:
    """What an older bundle looks like: no checksum for `name`."""

    def forget(info: dict) -> None:
        info["files"].pop(name, None)
        if name == "model.onnx":
            info["files"].pop("model_sha256", None)

    _edit_info(folder, forget)


def corrupt_tokenizer(folder: Path) -> None:
    _forget_checksum(folder, "tokenizer.json")
    (folder / "tokenizer.json").write_text('{"version": "1.0", "model": ', encoding="utf-8")


def tokenizer_checksum_mismatch(folder: Path) -> None:
    (folder / "tokenizer.json").write_text('{"version": "1.0", "model": ', encoding="utf-8")


def bundle_json_missing_a_key(folder: Path) -> None:
    _edit_info(folder, lambda info: info.pop("max_length"))


def bundle_json_not_json(folder: Path) -> None:
    (folder / "bundle.json").write_text("{ this is not json", encoding="utf-8")


def bundle_json_wrong_type(folder: Path) -> None:
    _edit_info(folder, lambda info: info["thresholds"].update(self_harm="high"))


def garbage_model_with_checksum(folder: Path) -> None:
    (folder / "model.onnx").write_bytes(GARBAGE)


def garbage_model_without_checksum(folder: Path) -> None:
    _forget_checksum(folder, "model.onnx")
    (folder / "model.onnx").write_bytes(GARBAGE)


def tokenizer_missing(folder: Path) -> None:
    (folder / "tokenizer.json").unlink()


def card_missing(folder: Path) -> None:
    (folder / "MODEL_CARD.md").unlink()


def card_edited(folder: Path) -> None:
    with (folder / "MODEL_CARD.md").open("a", encoding="utf-8") as card:
        card.write("\nedited by hand\n")


def bundle_folder_missing(folder: Path) -> None:
    shutil.rmtree(folder)


def checksum_outside_the_bundle(folder: Path) -> None:
    _edit_info(folder, lambda info: info["files"].update({"../bundle.json": "0" * 64}))


FAULTS = {
    "corrupt_tokenizer": (corrupt_tokenizer, TOKENIZER_UNREADABLE),
    "tokenizer_checksum_mismatch": (tokenizer_checksum_mismatch, CHECKSUM_MISMATCH),
    "bundle_json_missing_a_key": (bundle_json_missing_a_key, BUNDLE_INVALID),
    "bundle_json_not_json": (bundle_json_not_json, BUNDLE_INVALID),
    "bundle_json_wrong_type": (bundle_json_wrong_type, BUNDLE_INVALID),
    "garbage_model_with_checksum": (garbage_model_with_checksum, CHECKSUM_MISMATCH),
    "garbage_model_without_checksum": (garbage_model_without_checksum, MODEL_UNREADABLE),
    "tokenizer_missing": (tokenizer_missing, BUNDLE_INCOMPLETE),
    "card_missing": (card_missing, BUNDLE_INCOMPLETE),
    "card_edited": (card_edited, CHECKSUM_MISMATCH),
    "bundle_folder_missing": (bundle_folder_missing, BUNDLE_MISSING),
    "checksum_outside_the_bundle": (checksum_outside_the_bundle, BUNDLE_INVALID),
}


@pytest.fixture()
def bundle_copy(tiny_bundle, tmp_path) -> Path:
    copy = tmp_path / "secret-location" / "bundle"
    shutil.copytree(tiny_bundle, copy)
    return copy


@pytest.fixture()
def start_app(settings, keys):
    """Start the app (lifespan included) on a bundle folder; yields the started clients."""
    from fastapi.testclient import TestClient

    from triage.service.app import create_app

    clients = []

    def start(bundle_dir: Path) -> TestClient:
        app = create_app(settings.model_copy(update={"bundle_dir": bundle_dir}))
        client = TestClient(app, headers=bearer(keys["admin"]))
        clients.append(client.__enter__())
        return client

    yield start
    for client in clients:
        client.__exit__(None, None, None)


def _assert_names_the_fault(response, status: int, kind: str, folder: Path) -> None:
    error = assert_error_shape(response, status, "model")
    assert [d["found"] for d in error["details"] if d["field"] == "model"] == [kind]
    assert FAULT_HINTS[kind] in error["message"]
    for where in (str(folder), folder.parent.name, "/tmp", "pytest-"):
        assert where not in response.text, f"{where!r} leaked: {response.text}"


@pytest.mark.parametrize("fault", FAULTS)
def test_a_broken_bundle_leaves_the_service_up(fault, bundle_copy, start_app, caplog):
    make_fault, kind = FAULTS[fault]
    make_fault(bundle_copy)
    with caplog.at_level(logging.ERROR, logger="triage.service.app"):
        client = start_app(bundle_copy)
    assert f"model not loaded ({kind})" in caplog.text  # the full error is logged server-side

    health = client.get("/healthz")
    assert health.status_code == 200 and health.json()["model"] is None
    _assert_names_the_fault(client.get("/readyz"), 503, kind, bundle_copy)
    score = client.post("/v1/score", json={"items": [{"id": "a", "text": "hello"}]})
    _assert_names_the_fault(score, 503, kind, bundle_copy)

    ingest = client.post("/v1/items", json={"items": [{"id": "p1", "text": "I feel low"}]})
    assert ingest.status_code == 200, ingest.text
    [result] = ingest.json()["results"]
    assert result["created"] and result["scoring"] == "unscored"
    item = client.get(f"/v1/items/{result['item_id']}").json()
    assert item["scoring_error"] == f"the model is not loaded ({kind})"


def test_any_other_load_failure_leaves_the_service_up(bundle_copy, start_app, monkeypatch):
    from triage.service import app as app_module

    def refuse(*args, **kwargs):
        raise RuntimeError(f"cannot start a session for {bundle_copy}")

    monkeypatch.setattr(app_module, "OnnxScorer", refuse)
    client = start_app(bundle_copy)
    assert client.get("/healthz").status_code == 200
    _assert_names_the_fault(client.get("/readyz"), 503, LOAD_FAILED, bundle_copy)
    ingest = client.post("/v1/items", json={"items": [{"id": "p1", "text": "I feel low"}]})
    assert ingest.json()["results"][0]["scoring"] == "unscored"


def test_healthz_names_the_loaded_model(tiny_bundle, start_app):
    client = start_app(tiny_bundle)
    health = client.get("/healthz")
    assert health.status_code == 200
    model = {"name": "tiny-bundle", "version": "0.0.1-test"}
    assert health.json() == {"status": "ok", "model": model}


@pytest.mark.parametrize("fault", FAULTS)
def test_load_bundle_says_the_kind_and_the_cli_keeps_the_path(fault, bundle_copy):
    make_fault, kind = FAULTS[fault]
    make_fault(bundle_copy)
    if kind in (MODEL_UNREADABLE, TOKENIZER_UNREADABLE):  # found when the scorer opens them
        from triage.scoring.scorer import OnnxScorer
        from triage.settings import Settings

        with pytest.raises(BundleError) as raised:
            OnnxScorer(load_bundle(bundle_copy), Settings().tier_rules)
    else:
        with pytest.raises(BundleError) as raised:
            load_bundle(bundle_copy)
    assert raised.value.kind == kind
    assert str(bundle_copy) in str(raised.value)  # logs and the CLI still say where


def test_export_checksums_every_file_but_bundle_json(tiny_bundle):
    files = json.loads((tiny_bundle / "bundle.json").read_text())["files"]
    checksums = {k: v for k, v in files.items() if k not in DESCRIPTIVE_FILE_KEYS}
    assert set(checksums) == {"model.onnx", "tokenizer.json", "MODEL_CARD.md"}  # all it writes
    assert all(sha256(tiny_bundle / name) == sha for name, sha in checksums.items())
    assert files["model_sha256"] == checksums["model.onnx"]  # still there for older readers


def test_a_bundle_of_the_first_layout_still_loads_and_checks_its_model(bundle_copy):
    def first_layout(info: dict) -> None:
        info["files"] = {k: v for k, v in info["files"].items() if k in DESCRIPTIVE_FILE_KEYS}

    _edit_info(bundle_copy, first_layout)
    assert load_bundle(bundle_copy).version == "0.0.1-test"
    with (bundle_copy / "model.onnx").open("ab") as handle:
        handle.write(b"\0")
    with pytest.raises(BundleError) as raised:
        load_bundle(bundle_copy)
    assert raised.value.kind == CHECKSUM_MISMATCH
