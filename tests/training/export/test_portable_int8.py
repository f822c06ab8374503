"""portable_int8: signed int8 weights stored unsigned compute the same integers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from triage.scoring.bundle import file_checksums, sha256  # noqa: E402
from triage.training.export.portable_int8 import portable_int8, reencode_bundle  # noqa: E402

RNG = np.random.default_rng(0)
WEIGHT = RNG.integers(-127, 128, size=(8, 4)).astype(np.int8)
ZERO_POINT = np.zeros(4, dtype=np.int8)  # per output column, as quantize_dynamic writes them


def tiny_model(path: Path) -> None:
    """x (float) -> DynamicQuantizeLinear -> MatMulInteger with int8 weights -> float."""
    nodes = [
        helper.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"]),
        helper.make_node("MatMulInteger", ["xq", "w", "xz", "wz"], ["acc"]),
        helper.make_node("Cast", ["acc"], ["accf"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["accf", "xs"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 4])],
        [numpy_helper.from_array(WEIGHT, "w"), numpy_helper.from_array(ZERO_POINT, "wz")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))


def exact(x: np.ndarray) -> np.ndarray:
    """The tiny model computed in numpy: DynamicQuantizeLinear as the ONNX spec defines it, then
    integer products in int64 (nothing can saturate)."""
    low, high = min(0.0, float(x.min())), max(0.0, float(x.max()))
    scale = np.float32((high - low) / 255)
    zero = int(np.clip(np.rint(-low / scale), 0, 255))
    xq = np.clip(np.rint(x / scale) + zero, 0, 255).astype(np.int64)
    return ((xq - zero) @ WEIGHT.astype(np.int64)).astype(np.float32) * scale


def run(path: Path, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(["y"], {"x": x})[0]


def test_reencoded_weights_are_unsigned_and_compute_the_same(tmp_path):
    signed, unsigned = tmp_path / "signed.onnx", tmp_path / "unsigned.onnx"
    tiny_model(signed)
    assert portable_int8(signed, unsigned) == 1
    stored = {i.name: numpy_helper.to_array(i) for i in onnx.load(str(unsigned)).graph.initializer}
    assert stored["w"].dtype == np.uint8 and stored["wz"].dtype == np.uint8
    assert np.array_equal(stored["w"].astype(int) - stored["wz"].astype(int), WEIGHT.astype(int))
    x = RNG.normal(0, 0.1, size=(5, 8)).astype(np.float32)
    # the unsigned model gives the exact integer result on any CPU; the signed one does only on
    # CPUs with AVX-512 VNNI (elsewhere u8 x s8 pairs saturate int16), so it is not compared here
    assert np.allclose(run(unsigned, x), exact(x), rtol=1e-5, atol=1e-5)
    assert portable_int8(unsigned, tmp_path / "again.onnx") == 0  # nothing signed is left


def test_reencode_bundle_names_the_new_version_and_refreshes_checksums(tmp_path):
    bundle = tmp_path / "triage-tiny"
    bundle.mkdir()
    tiny_model(bundle / "model.onnx")
    (bundle / "tokenizer.json").write_text("{}")
    (bundle / "MODEL_CARD.md").write_text("# Model card: triage-tiny 1.0.0\n\nBody.\n")
    files = {"model": "model.onnx", "model_sha256": sha256(bundle / "model.onnx")}
    info = {"version": "1.0.0", "quantisation": "int8 dynamic", "files": files}
    info["files"].update(file_checksums(bundle))
    (bundle / "bundle.json").write_text(json.dumps(info))

    assert reencode_bundle(bundle, "1.0.1") == 1
    after = json.loads((bundle / "bundle.json").read_text())
    card = (bundle / "MODEL_CARD.md").read_text()
    assert after["version"] == "1.0.1" and "re-encoded from 1.0.0" in after["quantisation"]
    assert card.startswith("# Model card: triage-tiny 1.0.1\n") and "## 1.0.1: portable" in card
    assert {k: v for k, v in after["files"].items() if k in file_checksums(bundle)} == (
        file_checksums(bundle)
    )
    (bundle / "evaluation").mkdir()  # reports written later are not checksummed
    (bundle / "evaluation" / "EVALUATION.md").write_text("figures")
    assert after["files"]["model_sha256"] == sha256(bundle / "model.onnx")
    with pytest.raises(ValueError, match="already portable"):
        reencode_bundle(bundle, "1.0.2")
    tiny_model(bundle / "model.onnx")  # signed again
    reencode_bundle(bundle, "1.0.2")
    named = json.loads((bundle / "bundle.json").read_text())["files"]
    assert "evaluation/EVALUATION.md" not in named
