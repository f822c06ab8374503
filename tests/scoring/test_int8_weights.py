"""int8_weights: the scorer runs int8 weights signed or unsigned, flipped in memory, exactly."""

from __future__ import annotations

import numpy as np
import pytest

from tests.training.export.test_portable_int8 import RNG, WEIGHT, exact, tiny_model
from triage.scoring.int8_weights import cpu_has_vnni, wanted_signed, with_weights
from triage.settings import Settings
from triage.training.export.portable_int8 import portable_int8

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from onnx import numpy_helper  # noqa: E402


def stored(model: bytes) -> dict[str, np.ndarray]:
    graph = onnx.load_from_string(model).graph
    return {i.name: numpy_helper.to_array(i) for i in graph.initializer}


@pytest.fixture
def models(tmp_path) -> tuple[bytes, bytes]:
    """The tiny MatMulInteger model with its weight stored signed, and re-encoded unsigned."""
    tiny_model(tmp_path / "signed.onnx")
    portable_int8(tmp_path / "signed.onnx", tmp_path / "unsigned.onnx")
    return (tmp_path / "signed.onnx").read_bytes(), (tmp_path / "unsigned.onnx").read_bytes()


def test_flip_gives_the_same_integers_both_ways(models):
    signed, unsigned = models
    flipped = stored(with_weights(unsigned, signed=True))
    assert flipped["w"].dtype == np.int8 and flipped["wz"].dtype == np.int8
    assert np.array_equal(flipped["w"], WEIGHT)
    assert np.array_equal(flipped["w"], stored(signed)["w"])
    assert stored(with_weights(signed, signed=False)).keys() == stored(unsigned).keys()
    for name, values in stored(with_weights(signed, signed=False)).items():
        assert values.dtype == stored(unsigned)[name].dtype
        assert np.array_equal(values, stored(unsigned)[name])
    assert with_weights(with_weights(unsigned, True), False) == unsigned
    assert with_weights(unsigned, signed=False) == unsigned  # nothing to flip: the same bytes


def test_auto_is_exact_on_this_cpu(models):
    """Whatever this CPU has, "auto" must give the exact integer result: signed weights only
    where VNNI computes them without saturating (the tiny weights saturate on AVX2 alone)."""
    _, unsigned = models
    x = RNG.normal(0, 0.1, size=(5, 8)).astype(np.float32)
    model = with_weights(unsigned, wanted_signed("auto"))
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    assert np.allclose(session.run(["y"], {"x": x})[0], exact(x), rtol=1e-5, atol=1e-5)


def test_choices(tmp_path):
    assert wanted_signed("auto", vnni=True) and not wanted_signed("auto", vnni=False)
    assert wanted_signed("signed", vnni=False) and not wanted_signed("unsigned", vnni=True)
    with pytest.raises(ValueError, match="expected one of"):
        wanted_signed("s8", vnni=True)  # type: ignore[arg-type]
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("flags\t\t: fpu sse2 avx2 fma\n")
    assert not cpu_has_vnni(cpuinfo)
    cpuinfo.write_text("flags\t\t: fpu sse2 avx2 avx512f avx512_vnni\n")
    assert cpu_has_vnni(cpuinfo)
    assert not cpu_has_vnni(tmp_path / "missing")
    assert Settings(int8_weights="unsigned").int8_weights == "unsigned"
    with pytest.raises(ValueError):
        Settings(int8_weights="fast")  # type: ignore[arg-type]


def test_not_a_model_is_refused():
    with pytest.raises((ValueError, IndexError)):
        with_weights(b"\x08\x07\x12\x03abc", signed=True)  # a message with no graph
