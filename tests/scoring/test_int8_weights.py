"""int8_weights: the scorer runs int8 weights signed or unsigned, flipped in memory, exactly."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from triage.scoring.int8_weights import (
    cpu_has_vnni,
    int8_flips,
    wanted_signed,
    with_int8_weights,
)
from triage.settings import Settings


@pytest.fixture
def onnx():
    return pytest.importorskip("onnx")


def stored(onnx, model: bytes) -> dict[str, np.ndarray]:
    from onnx import numpy_helper

    graph = onnx.load_from_string(model).graph
    return {i.name: numpy_helper.to_array(i) for i in graph.initializer}


@pytest.fixture
def models(tmp_path, onnx) -> tuple[bytes, bytes]:
    """The tiny MatMulInteger model with its weight stored signed, and re-encoded unsigned, both
    with a uint8 tensor that is no weight (it must never be flipped)."""
    from onnx import numpy_helper

    from tests.training.export.test_portable_int8 import tiny_model

    tiny_model(tmp_path / "signed.onnx")
    model = onnx.load(str(tmp_path / "signed.onnx"))
    model.graph.initializer.append(numpy_helper.from_array(np.array([200, 3], np.uint8), "other"))
    signed = model.SerializeToString()
    return signed, with_int8_weights(signed, signed=False)


def test_flip_gives_the_same_integers_both_ways(onnx, models):
    from tests.training.export.test_portable_int8 import WEIGHT

    signed, unsigned = models
    assert int8_flips(signed, signed=False) == {"w": "wz"}
    as_unsigned = stored(onnx, unsigned)
    assert as_unsigned["w"].dtype == np.uint8 and as_unsigned["wz"].dtype == np.uint8
    assert np.array_equal(as_unsigned["w"].astype(int) - 128, WEIGHT.astype(int))
    flipped = stored(onnx, with_int8_weights(unsigned, signed=True))
    assert flipped["w"].dtype == np.int8 and flipped["wz"].dtype == np.int8
    assert np.array_equal(flipped["w"], WEIGHT)
    for model in (unsigned, with_int8_weights(unsigned, signed=True)):
        assert np.array_equal(stored(onnx, model)["other"], [200, 3])  # not a weight: untouched
    assert with_int8_weights(with_int8_weights(unsigned, True), False) == unsigned
    assert with_int8_weights(unsigned, signed=False) is unsigned  # nothing to flip


def test_auto_is_exact_on_this_cpu(models):
    """Whatever this CPU has, "auto" must give the exact integer result: signed weights only
    where VNNI computes them without saturating (the tiny weights saturate on AVX2 alone)."""
    from tests.training.export.test_portable_int8 import RNG, exact

    ort = pytest.importorskip("onnxruntime")
    _, unsigned = models
    x = RNG.normal(0, 0.1, size=(5, 8)).astype(np.float32)
    model = with_int8_weights(unsigned, wanted_signed("auto"))
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    assert np.allclose(session.run(["y"], {"x": x})[0], exact(x), rtol=1e-5, atol=1e-5)


def qattention_model(onnx, zero_point: bool) -> bytes:
    """A graph with one QAttention node (not run): its weight is input 1, the weight's zero
    point input 7; input 6 is the activations' zero point, which is no weight."""
    from onnx import TensorProto, helper, numpy_helper

    weight = np.arange(24, dtype=np.uint8).reshape(4, 6)
    inits = [
        numpy_helper.from_array(weight, "w"),
        numpy_helper.from_array(np.array(128, np.uint8), "x_zp"),
        numpy_helper.from_array(np.array(130, np.uint8), "w_zp"),
    ]
    inputs = ["x", "w", "b", "xs", "ws", "", "x_zp", "w_zp" if zero_point else ""]
    node = helper.make_node("QAttention", inputs, ["y"], domain="com.microsoft", num_heads=1)
    graph = helper.make_graph(
        [node],
        "qattention",
        [helper.make_tensor_value_info("x", TensorProto.UINT8, [1, 2, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 2])],
        inits,
    )
    return helper.make_model(graph).SerializeToString()


def test_qattention_weight_and_its_zero_point_flip_and_nothing_else(onnx):
    model = qattention_model(onnx, zero_point=True)
    assert int8_flips(model, signed=True) == {"w": "w_zp"}
    flipped = stored(onnx, with_int8_weights(model, signed=True))
    assert flipped["w"].dtype == np.int8 and int(flipped["w_zp"]) == 2
    assert np.array_equal(flipped["w"].astype(int), np.arange(24).reshape(4, 6) - 128)
    assert flipped["x_zp"].dtype == np.uint8 and int(flipped["x_zp"]) == 128


def test_a_weight_without_a_stored_zero_point_is_left_as_stored(onnx, caplog):
    """Its zero point defaults to 0: flipping the weight alone would move every value by 128."""
    model = qattention_model(onnx, zero_point=False)
    with caplog.at_level(logging.WARNING):
        assert with_int8_weights(model, signed=True) is model
    assert "left as stored" in caplog.text


def test_choices(tmp_path):
    assert wanted_signed("auto", vnni=True) and not wanted_signed("auto", vnni=False)
    assert wanted_signed("signed", vnni=False) and not wanted_signed("unsigned", vnni=True)
    with pytest.raises(ValueError, match="expected one of"):
        wanted_signed("s8", vnni=True)  # type: ignore[arg-type]
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("flags\t\t: fpu sse2 avx2 fma\n")
    assert not cpu_has_vnni(cpuinfo)
    cpuinfo.write_text("flags\t\t: fpu avx2 avx512f avx512_vnni\n")  # without bw, dq, vl
    assert not cpu_has_vnni(cpuinfo)
    cpuinfo.write_text("flags\t\t: avx2 avx512f avx512bw avx512dq avx512vl avx512_vnni\n")
    assert cpu_has_vnni(cpuinfo)
    cpuinfo.write_text("flags\t\t: avx2 avx_vnni\n")
    assert cpu_has_vnni(cpuinfo)
    assert not cpu_has_vnni(tmp_path / "missing")
    assert Settings(int8_weights="unsigned").int8_weights == "unsigned"
    with pytest.raises(ValueError):
        Settings(int8_weights="fast")  # type: ignore[arg-type]


def test_not_a_model_or_a_cut_one_is_refused(models):
    with pytest.raises(ValueError, match="no graph"):
        with_int8_weights(b"\x08\x07\x12\x03abc", signed=True)
    _, unsigned = models
    with pytest.raises(ValueError, match="runs past"):
        with_int8_weights(unsigned[: len(unsigned) // 2], signed=True)
