"""Pick, when a model loads, the int8 weight encoding this CPU computes both exactly and fast.

An int8 bundle's weights can be stored signed (int8) or unsigned (uint8, every weight and its zero
point shifted by 128): the two give the same integers (w - zero_point), but ONNX Runtime runs them
through different kernels.

- Signed weights on a CPU without VNNI (AVX2 only) go through `vpmaddubsw`, which adds two
  u8 x s8 products into a saturating int16: scores move by up to 0.09 (docs/benchmarks.md).
- Unsigned weights are exact everywhere, but on a VNNI CPU they give up the u8 x s8 VNNI
  instruction: triage-minilm 1.1.1 scored 80-103 texts/s against 134-173 for the same model
  signed on an AVX-512 VNNI EPYC (docs/benchmarks.md, 2026-12-07).

`triage export` stores weights unsigned (portable for any reader of the file); the scorer flips
them in memory to signed on a CPU with AVX-512 VNNI or AVX-VNNI ("auto"). The flip is a byte
patch of the serialised model that changes no length (each weight's bytes XOR 0x80 and its
tensor's data type uint8 <-> int8), so only the few fields it touches are parsed: no `onnx`
package in serving.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import get_args

import numpy as np

from triage.settings import Int8Weights

INT8_WEIGHTS: tuple[Int8Weights, ...] = get_args(Int8Weights)

# Quantised-weight operators and the input positions of (weight, weight zero point).
WEIGHT_INPUTS = {"MatMulInteger": (1, 3), "QAttention": (1, 7)}
VNNI_FLAGS = ("avx512_vnni", "avx_vnni")

# ONNX protobuf field numbers (onnx/onnx.proto) and TensorProto data types.
MODEL_GRAPH = 7
GRAPH_NODE, GRAPH_INITIALIZER = 1, 5
NODE_INPUT, NODE_OP_TYPE = 1, 4
TENSOR_DATA_TYPE, TENSOR_NAME, TENSOR_RAW_DATA = 2, 8, 9
UINT8, INT8 = 2, 3
VARINT, FIXED64, LENGTH_DELIMITED, FIXED32 = 0, 1, 2, 5


def cpu_has_vnni(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether the CPU lists a VNNI instruction set (Linux); False where that cannot be read."""
    try:
        flags = set(cpuinfo.read_text(encoding="utf-8", errors="replace").split())
    except OSError:
        return False
    return any(flag in flags for flag in VNNI_FLAGS)


def wanted_signed(choice: Int8Weights, vnni: bool | None = None) -> bool:
    """Whether `choice` means signed weights on this CPU (`vnni`: None reads /proc/cpuinfo)."""
    if choice not in INT8_WEIGHTS:
        raise ValueError(f"int8 weights: expected one of {INT8_WEIGHTS}, found {choice!r}")
    if choice == "auto":
        return cpu_has_vnni() if vnni is None else vnni
    return choice == "signed"


def with_weights(model: bytes, signed: bool) -> bytes:
    """`model` (a serialised ONNX model) with every quantised weight of WEIGHT_INPUTS and its
    zero point stored signed (`signed`) or unsigned; the same bytes when nothing needs a flip."""
    targets = set(_weight_names(model))
    patched = bytearray(model)
    want, other = (INT8, UINT8) if signed else (UINT8, INT8)
    for tensor_start, tensor_end in _initializers(model):
        name, type_at, raw = _tensor_fields(model, tensor_start, tensor_end)
        if name not in targets or type_at is None or model[type_at] != other:
            continue
        if raw is None:
            raise ValueError(f"int8 weight {name!r} is not stored as raw bytes")
        patched[type_at] = want
        values = np.frombuffer(model, np.uint8, raw[1] - raw[0], raw[0])
        patched[raw[0] : raw[1]] = (values ^ 0x80).tobytes()
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
        yield field, wire, pos, value_end
        pos = value_end


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
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


def _initializers(model: bytes) -> Iterator[tuple[int, int]]:
    return _graph_parts(model, GRAPH_INITIALIZER)


def _weight_names(model: bytes) -> Iterator[str]:
    for node_start, node_end in _graph_parts(model, GRAPH_NODE):
        inputs: list[str] = []
        op_type = ""
        for field, _, start, end in _fields(model, node_start, node_end):
            if field == NODE_INPUT:
                inputs.append(model[start:end].decode("utf-8"))
            elif field == NODE_OP_TYPE:
                op_type = model[start:end].decode("utf-8")
        for position in WEIGHT_INPUTS.get(op_type, ()):
            if position < len(inputs) and inputs[position]:
                yield inputs[position]


def _tensor_fields(
    model: bytes, start: int, end: int
) -> tuple[str, int | None, tuple[int, int] | None]:
    """A TensorProto's name, the byte offset of its (one-byte) data type, its raw data span."""
    name, type_at, raw = "", None, None
    for field, wire, value_start, value_end in _fields(model, start, end):
        if field == TENSOR_NAME:
            name = model[value_start:value_end].decode("utf-8")
        elif field == TENSOR_DATA_TYPE and wire == VARINT and value_end == value_start + 1:
            type_at = value_start
        elif field == TENSOR_RAW_DATA:
            raw = (value_start, value_end)
    return name, type_at, raw
