"""Pick, when a model loads, the int8 weight encoding this CPU computes both exactly and fast.

An int8 bundle's weights can be stored signed (int8) or unsigned (uint8, every weight and its zero
point shifted by 128): the two give the same integers (w - zero_point), but ONNX Runtime runs them
through different kernels.

- Signed weights on a CPU without VNNI (AVX2 only) go through `vpmaddubsw`, which adds two
  u8 x s8 products into a saturating int16: scores moved by up to 0.08 (1.1.0) and 0.10 (the
  l3 student) on an AVX2-only EPYC (docs/benchmarks.md).
- Unsigned weights are exact everywhere, but on a VNNI CPU they give up the u8 x s8 VNNI
  instruction: triage-minilm 1.1.1 scored 80-103 texts/s against 134-173 for the same model
  signed on an AVX-512 VNNI EPYC (docs/benchmarks.md, 2026-12-07).

`triage export` stores weights unsigned (portable for any reader of the file); the scorer flips
them in memory to signed on a CPU with AVX-512 VNNI or AVX-VNNI ("auto"; where the CPU flags
cannot be read, as off Linux, "auto" keeps them unsigned: exact, slower). The flip is a byte
patch of the serialised model that changes no length (each weight's bytes XOR 0x80 and its
tensor's data type uint8 <-> int8), so only the few fields it touches are parsed: no `onnx`
package in serving. Static (QDQ) int8 models have no such weights and load unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

import numpy as np

from triage.settings import Int8Weights

log = logging.getLogger(__name__)

INT8_WEIGHTS: tuple[Int8Weights, ...] = get_args(Int8Weights)

# Quantised-weight operators and the input positions of (weight, weight zero point).
WEIGHT_INPUTS = {"MatMulInteger": (1, 3), "QAttention": (1, 7)}
# ONNX Runtime's AVX-512 VNNI kernel also needs these subsets (MLAS platform detection).
AVX512_VNNI = frozenset({"avx512_vnni", "avx512bw", "avx512dq", "avx512vl"})

# ONNX protobuf field numbers (onnx/onnx.proto) and TensorProto data types.
MODEL_GRAPH = 7
GRAPH_NODE, GRAPH_INITIALIZER = 1, 5
NODE_INPUT, NODE_OP_TYPE = 1, 4
TENSOR_DATA_TYPE, TENSOR_NAME, TENSOR_RAW_DATA = 2, 8, 9
UINT8, INT8 = 2, 3
VARINT, FIXED64, LENGTH_DELIMITED, FIXED32 = 0, 1, 2, 5


def cpu_has_vnni(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether ONNX Runtime will use a VNNI int8 kernel here: AVX-VNNI, or AVX-512 VNNI with the
    AVX-512 subsets its kernel needs. False where the flags cannot be read (not Linux)."""
    try:
        flags = set(cpuinfo.read_text(encoding="utf-8", errors="replace").split())
    except OSError:
        return False
    return "avx_vnni" in flags or AVX512_VNNI <= flags


def wanted_signed(choice: Int8Weights, vnni: bool | None = None) -> bool:
    """Whether `choice` means signed weights on this CPU (`vnni`: None reads /proc/cpuinfo)."""
    if choice not in INT8_WEIGHTS:
        raise ValueError(f"int8 weights: expected one of {INT8_WEIGHTS}, found {choice!r}")
    if choice == "auto":
        return cpu_has_vnni() if vnni is None else vnni
    return choice == "signed"


@dataclass(frozen=True)
class StoredTensor:
    type_at: int | None  # byte offset of its one-byte data type
    data_type: int | None
    raw: tuple[int, int] | None  # span of its raw bytes


def int8_flips(model: bytes, signed: bool) -> dict[str, str]:
    """The weights (name -> its zero point's name) that `with_int8_weights` flips.

    A weight is flipped only together with its zero point, both stored as raw bytes of the same
    type: a weight without a stored zero point (it defaults to 0) or one stored another way is
    left as it is (exact on a VNNI CPU), and logged."""
    return _flips(model, _initializers(model), signed)


def _flips(model: bytes, tensors: dict[str, StoredTensor], signed: bool) -> dict[str, str]:
    want, other = (INT8, UINT8) if signed else (UINT8, INT8)
    flips: dict[str, str] = {}
    for weight, zero_point in _weight_pairs(model):
        pair = (tensors.get(weight), tensors.get(zero_point))
        if pair[0] is None or pair[0].data_type == want:
            continue  # computed, not stored, or already as wanted
        if any(t is None or t.data_type != other or t.raw is None for t in pair):
            log.warning("int8 weight %s left as stored: no raw zero point of its type", weight)
            continue
        flips[weight] = zero_point
    return flips


def with_int8_weights(model: bytes, signed: bool) -> bytes:
    """`model` (a serialised ONNX model) with every quantised weight of WEIGHT_INPUTS and its zero
    point stored signed (`signed`) or unsigned; `model` itself when nothing needs a flip."""
    tensors = _initializers(model)  # parsed once: the flips and the patch both need them
    flips = _flips(model, tensors, signed)
    if not flips:
        return model
    patched = bytearray(model)
    for name in set(flips) | set(flips.values()):
        tensor = tensors[name]
        assert tensor.type_at is not None and tensor.raw is not None
        start, end = tensor.raw
        patched[tensor.type_at] = INT8 if signed else UINT8
        patched[start:end] = (np.frombuffer(model, np.uint8, end - start, start) ^ 0x80).tobytes()
    return bytes(patched)


def _fields(buf: bytes, start: int, end: int) -> Iterator[tuple[int, int, int, int]]:
    """(field number, wire type, value start, value end) of each field of one message."""
    pos = start
    while pos < end:
        key, pos = _varint(buf, pos)
        field, wire = key >> 3, key & 7
        if wire == VARINT:
            _, value_end = _varint(buf, pos)
        elif wire == LENGTH_DELIMITED:
            length, pos = _varint(buf, pos)
            value_end = pos + length
        elif wire in (FIXED64, FIXED32):
            value_end = pos + (8 if wire == FIXED64 else 4)
        else:
            raise ValueError(f"unsupported protobuf wire type {wire} at byte {pos}")
        if value_end > end:
            raise ValueError(f"protobuf field {field} runs past its message at byte {pos}")
        yield field, wire, pos, value_end
        pos = value_end


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if pos >= len(buf):
            raise ValueError("protobuf varint runs past the end of the model")
        byte = buf[pos]
        value |= (byte & 0x7F) << shift
        pos += 1
        if byte < 0x80:
            return value, pos
        shift += 7


def _graph(model: bytes) -> tuple[int, int]:
    for field, wire, start, end in _fields(model, 0, len(model)):
        if field == MODEL_GRAPH and wire == LENGTH_DELIMITED:
            return start, end
    raise ValueError("not an ONNX model: no graph")


def _graph_parts(model: bytes, part: int) -> Iterator[tuple[int, int]]:
    graph_start, graph_end = _graph(model)
    for field, wire, start, end in _fields(model, graph_start, graph_end):
        if field == part and wire == LENGTH_DELIMITED:
            yield start, end


def _initializers(model: bytes) -> dict[str, StoredTensor]:
    tensors = {}
    for start, end in _graph_parts(model, GRAPH_INITIALIZER):
        name, tensor = _tensor_fields(model, start, end)
        tensors[name] = tensor
    return tensors


def _weight_pairs(model: bytes) -> Iterator[tuple[str, str]]:
    """(weight, zero point) input names of each quantised-weight node ("" when not given)."""
    for node_start, node_end in _graph_parts(model, GRAPH_NODE):
        inputs: list[str] = []
        op_type = ""
        for field, _, start, end in _fields(model, node_start, node_end):
            if field == NODE_INPUT:
                inputs.append(model[start:end].decode("utf-8"))
            elif field == NODE_OP_TYPE:
                op_type = model[start:end].decode("utf-8")
        if op_type in WEIGHT_INPUTS:
            weight, zero_point = (
                inputs[i] if i < len(inputs) else "" for i in WEIGHT_INPUTS[op_type]
            )
            yield weight, zero_point


def _tensor_fields(model: bytes, start: int, end: int) -> tuple[str, StoredTensor]:
    """A TensorProto's name, and where its data type (when one byte) and raw data lie."""
    name, type_at, data_type, raw = "", None, None, None
    for field, wire, value_start, value_end in _fields(model, start, end):
        if field == TENSOR_NAME:
            name = model[value_start:value_end].decode("utf-8")
        elif field == TENSOR_DATA_TYPE and wire == VARINT:
            data_type, _ = _varint(model, value_start)
            type_at = value_start if value_end == value_start + 1 else None
        elif field == TENSOR_RAW_DATA:
            raw = (value_start, value_end)
    return name, StoredTensor(type_at, data_type, raw)
