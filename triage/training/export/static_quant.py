"""Static int8 quantisation (QDQ) of the classifier, calibrated on training texts.

Dynamic int8 (the shipped export) picks activation scales from each call's own tensors, so a
post's scores change with whatever else shares its batch. Static quantisation fixes every
activation scale once, from a calibration set, so a row's arithmetic no longer depends on the
other rows: batching becomes safe, at the price of scales that fit this model's typical
activations rather than each input's. bench/inference.py measures both its speed and how far
its scores move from the fp32 model.

Only MatMuls with a constant weight are quantised (`MatMulConstBOnly`): the attention products
of two activations keep fp32. The ORT optimizer runs first with attention fusion switched off,
because the QDQ quantiser does not quantise the fused Attention operator; layer norm, GELU and
embedding fusions are kept.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from triage.scoring.encoding import PairEncoder, pad
from triage.training.export.onnx import export_fp32, quiet_info_logs
from triage.training.fit.model import MultiLabelModel

log = logging.getLogger(__name__)

CALIBRATION_METHODS = ("minmax", "percentile", "entropy")


def optimise_without_attention_fusion(src: Path, dst: Path, num_heads: int, hidden: int) -> None:
    from onnxruntime.transformers import optimizer
    from onnxruntime.transformers.fusion_options import FusionOptions

    options = FusionOptions("bert")
    options.enable_attention = False
    optimised = optimizer.optimize_model(
        str(src),
        model_type="bert",
        num_heads=num_heads,
        hidden_size=hidden,
        opt_level=1,
        optimization_options=options,
    )
    optimised.save_model_to_file(str(dst))


class EncodedReader:
    """onnxruntime's CalibrationDataReader over encoded texts, one item per call (batch of one,
    as served).

    The histogram calibrators (percentile, entropy) stack every run's tensors, so they need one
    shape: `fixed_length` pads each item to it (masked, so real tokens' results are unchanged;
    the pad positions' activations join the statistics).
    """

    def __init__(
        self,
        encoder: PairEncoder,
        texts: Sequence[str],
        parents: Sequence[str | None],
        fixed_length: int | None = None,
    ) -> None:
        self._batches = [
            _pad_to(pad([e]), fixed_length)
            for e in encoder.encode_batch(list(texts), list(parents))
        ]
        self._iter: Iterator[dict[str, np.ndarray]] = iter(self._batches)

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._iter, None)

    def rewind(self) -> None:
        self._iter = iter(self._batches)


def _pad_to(batch: dict[str, np.ndarray], length: int | None) -> dict[str, np.ndarray]:
    if length is None:
        return batch
    width = batch["input_ids"].shape[1]
    return {k: np.pad(v, ((0, 0), (0, length - width))) for k, v in batch.items()}


def quantise_static_int8(
    src: Path, dst: Path, reader: EncodedReader, method: str = "percentile"
) -> None:
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    if method not in CALIBRATION_METHODS:
        raise ValueError(
            f"calibration method must be one of {CALIBRATION_METHODS}, found {method!r}"
        )
    calibrate = {
        "minmax": CalibrationMethod.MinMax,
        "percentile": CalibrationMethod.Percentile,
        "entropy": CalibrationMethod.Entropy,
    }[method]
    quantize_static(
        str(src),
        str(dst),
        reader,
        quant_format=QuantFormat.QDQ,
        op_types_to_quantize=["MatMul"],
        per_channel=True,
        activation_type=QuantType.QUInt8,  # u8 x s8: the VNNI fast path on x86
        weight_type=QuantType.QInt8,
        calibrate_method=calibrate,
        extra_options={
            "DefaultTensorType": onnx.TensorProto.FLOAT,
            "MatMulConstBOnly": True,
            "CalibPercentile": 99.999,
        },
    )


def build_static_int8(
    model: MultiLabelModel,
    encoder: PairEncoder,
    texts: Sequence[str],
    parents: Sequence[str | None],
    work_dir: Path,
    method: str = "percentile",
) -> Path:
    """fp32 export -> optimised (attention unfused) -> static QDQ int8; returns the int8 path."""
    config = model.encoder.config
    fp32, optimised, int8 = (
        work_dir / n for n in ("fp32.onnx", "optimised-unfused.onnx", f"static-{method}.onnx")
    )
    if not fp32.exists():
        export_fp32(model, fp32)
    with quiet_info_logs():
        optimise_without_attention_fusion(
            fp32, optimised, config.num_attention_heads, config.hidden_size
        )
        fixed = None if method == "minmax" else encoder.max_length
        reader = EncodedReader(encoder, texts, parents, fixed)
        quantise_static_int8(optimised, int8, reader, method)
    log.info("static int8 (%s calibration, %d texts) written to %s", method, len(texts), int8)
    return int8
