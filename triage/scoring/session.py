"""The bundle's ONNX graph and tokenizer: texts in, one model run per text out.

Each item is run through the model on its own (batch of one). Dynamic int8 quantisation picks
its activation scales per call, so in a shared batch one post's scores would shift with its
neighbours' (see ../shared/notes/onnx-cpu.md); a moderation score must not. On 2 CPU cores
batch 1 is also as fast as batching, so nothing is lost.

`lanes` > 1 runs that many items of one call at once, each still alone, on its own thread
(ONNX Runtime releases the GIL while it runs). With `threads=1` per run, two lanes keep both
cores busy on two items instead of splitting each item's small matrix products across two
threads: bench/inference.py measured about 1.3x the texts/s of one item on two threads.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import onnxruntime as ort

from triage.scoring.bundle import (
    MODEL_FILE,
    MODEL_UNREADABLE,
    TOKENIZER_FILE,
    TOKENIZER_UNREADABLE,
    Bundle,
    BundleError,
)
from triage.scoring.encoding import Encoded, PairEncoder, pad
from triage.scoring.int8_weights import wanted_signed, with_int8_weights
from triage.settings import Int8Weights

TOKEN_LOGITS = "token_logits"  # the graph's per-token output (training/export/onnx.py)


@dataclass(frozen=True)
class ModelRun:
    """One item's pass: its logits and, when asked for, its per-token logits (seq, outputs)."""

    logits: np.ndarray
    tokens: np.ndarray | None = None


class ModelSession:
    """Tokenizer and ONNX session of one bundle; `token_logits` asks for the per-token output,
    given only when the graph has it (older bundles do not); `int8_weights` says how the int8
    weights run (scoring/int8_weights.py)."""

    def __init__(
        self,
        bundle: Bundle,
        threads: int,
        lanes: int,
        token_logits: bool,
        int8_weights: Int8Weights = "auto",
    ) -> None:
        if threads < 1 or lanes < 1:
            raise ValueError(f"threads and lanes must be >= 1, found {threads} and {lanes}")
        self.bundle = bundle
        self.encoder = load_encoder(bundle)
        self.session = load_session(bundle, threads, wanted_signed(int8_weights))
        graph_outputs = {output.name for output in self.session.get_outputs()}
        if "logits" not in graph_outputs:
            raise BundleError(
                f"bundle {bundle.path}: {MODEL_FILE} has no `logits` output", MODEL_UNREADABLE
            )
        self.token_logits = token_logits and TOKEN_LOGITS in graph_outputs
        self.output_names = ["logits", *([TOKEN_LOGITS] if self.token_logits else [])]
        self._lanes = ThreadPoolExecutor(lanes, "scorer-lane") if lanes > 1 else None

    def logits(self, texts: Sequence[str], parents: Sequence[str | None]) -> np.ndarray:
        """(n, n_outputs) raw logits (labels, then tier cuts), each row computed alone."""
        return self.stack([run.logits for run in self.runs(texts, parents)])

    def stack(self, rows: list[np.ndarray]) -> np.ndarray:
        n = len(rows)
        return np.asarray(rows, dtype=np.float32).reshape(n, len(self.bundle.outputs))

    def runs(self, texts: Sequence[str], parents: Sequence[str | None]) -> list[ModelRun]:
        encoded = self.encoder.encode_batch(list(texts), list(parents))
        if self._lanes is not None and len(encoded) > 1:
            return list(self._lanes.map(self.run_alone, encoded))
        return [self.run_alone(enc) for enc in encoded]

    def run_alone(self, encoded: Encoded) -> ModelRun:
        outputs = self.session.run(self.output_names, pad([encoded]))
        return ModelRun(outputs[0][0], outputs[1][0] if len(outputs) > 1 else None)


def load_encoder(bundle: Bundle) -> PairEncoder:
    try:
        return PairEncoder.from_file(bundle.tokenizer_path, bundle.max_length)
    except Exception as error:  # tokenizers raises a bare Exception on a corrupt file
        raise BundleError(
            f"bundle {bundle.path}: {TOKENIZER_FILE} cannot be loaded ({error})",
            TOKENIZER_UNREADABLE,
        ) from error


def load_session(bundle: Bundle, threads: int, signed_weights: bool) -> ort.InferenceSession:
    """The bundle's graph with its int8 weights signed or unsigned (the same integers)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    try:
        model = with_int8_weights(bundle.model_path.read_bytes(), signed_weights)
        return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime's own types (InvalidProtobuf, Fail, ...)
        raise BundleError(
            f"bundle {bundle.path}: {MODEL_FILE} cannot be loaded ({error})", MODEL_UNREADABLE
        ) from error
