"""Re-encode an int8 model's signed weights as unsigned ones, exactly, so every x86 CPU computes
the same integer products.

ONNX Runtime multiplies uint8 activations by int8 weights (U8S8) with `vpmaddubsw` on CPUs
without AVX-512 VNNI (AVX2 only, as on some of the machines this project runs on): that
instruction adds two u8 x s8 products into a saturating int16, so large activations lose part of
their sum. On a VNNI CPU the same model is exact. Measured on 1.1.0 (docs/benchmarks.md,
"int8 on CPUs without VNNI"): up to 0.09 in a served probability on an AVX2-only AMD EPYC, and a
post moved from crisis to amber, while the figures of its evaluation report were measured on a
VNNI CPU.

Unsigned weights (U8U8) go through kernels that widen to 16 bits before multiplying, which never
saturate. The re-encoding is exact: w_u8 = w_s8 + 128 and zero_point_u8 = zero_point_s8 + 128
leave every (w - zero_point) unchanged, so the model computes what the int8 model computes on a
VNNI CPU, on every CPU.
"""

from __future__ import annotations

from pathlib import Path

from triage.scoring.int8_weights import int8_flips, with_int8_weights


def portable_int8(src: Path, dst: Path) -> int:
    """Write `src` with every int8 weight of WEIGHT_INPUTS (and its zero point) re-encoded as
    uint8 to `dst`; return how many weight tensors were re-encoded. The serving scorer's own
    flip (scoring/int8_weights.py), so the file and what the scorer runs cannot disagree."""
    model = src.read_bytes()
    weights = len(int8_flips(model, signed=False))
    dst.write_bytes(with_int8_weights(model, signed=False))
    return weights


def reencode_bundle(folder: Path, version: str) -> int:
    """Re-encode a bundle's model.onnx in place (exact: the same integers, unsigned), give the
    bundle `version`, say so in bundle.json and the model card, and refresh its checksums;
    return how many weight tensors were re-encoded. A bundle already unsigned is refused."""
    import json
    import tempfile

    from triage.scoring.bundle import BUNDLE_FILE, file_checksums, sha256
    from triage.training.export.bundle_writer import write_json

    info = json.loads((folder / BUNDLE_FILE).read_text(encoding="utf-8"))
    previous = info["version"]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "model.onnx"
        weights = portable_int8(folder / "model.onnx", out)
        if weights == 0:
            raise ValueError(f"{folder}: no signed int8 weights (already portable?)")
        out.replace(folder / "model.onnx")
    info["version"] = version
    info["quantisation"] += f"; weights stored as uint8 (re-encoded from {previous}, exact)"
    card = folder / "MODEL_CARD.md"
    text = card.read_text(encoding="utf-8").replace(f" {previous}\n", f" {version}\n", 1)
    card.write_text(text + REENCODED.format(version=version, previous=previous), "utf-8")
    current = file_checksums(folder)  # only the files bundle.json already names are checked
    info["files"] = {name: current.get(name, sha) for name, sha in info["files"].items()}
    if "model_sha256" in info["files"]:  # a bundle of the first layout names the model too
        info["files"]["model_sha256"] = sha256(folder / "model.onnx")
        info["files"]["model_bytes"] = (folder / "model.onnx").stat().st_size
    write_json(folder / BUNDLE_FILE, info)
    return weights


REENCODED = """
## {version}: portable int8 weights

{version} is {previous} with its int8 weights stored unsigned (`triage reencode-int8`,
triage/training/export/portable_int8.py): every weight and its zero point shifted by 128, so the
model computes the same integers. Signed weights saturate in ONNX Runtime's int8 kernels on CPUs
without AVX-512 VNNI (AVX2 only): on such a CPU, 300 test posts scored by triage-minilm 1.1.0
and triage-minilm-l3 0.5.0 moved by up to 0.08 and 0.10, and a few changed flag or tier
(bench/int8_portability.py, docs/benchmarks.md). The figures above were measured on a VNNI CPU,
where both encodings give the same scores; {version} gives those scores on every CPU.
"""
