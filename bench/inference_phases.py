"""The phases of bench/inference.py, each run in its own child process so that its peak RSS is
its own: `python bench/inference.py --phase NAME --work DIR ...` writes DIR/NAME.npz.

Each timed phase scores the same posts one at a time (or in batches) and saves per-call
latencies, the wall time, the peak RSS, and the calibrated probabilities it produced, so the
parent can compare every backend with the fp32 torch model on identical inputs.
"""

from __future__ import annotations

import json
import os
import resource
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from triage.domain.labels import LABELS
from triage.scoring.bundle import Bundle, load_bundle
from triage.scoring.encoding import pad
from triage.scoring.probabilities import label_probabilities
from triage.scoring.results import ScoreInput
from triage.scoring.scorer import OnnxScorer
from triage.settings import Settings


@dataclass(frozen=True)
class Post:
    id: str
    text: str
    labels: dict[str, int | None]


def read_posts(path: Path) -> list[Post]:
    return [Post(**json.loads(line)) for line in path.read_text().split("\n") if line]


def peak_rss_mib() -> float:
    """This process's peak resident memory. VmHWM, not getrusage: Linux carries ru_maxrss over
    exec from the forked parent, so a child would report the parent's size."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine_busy_s() -> float:
    """CPU seconds all processes have used since boot (/proc/stat, every CPU)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def own_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


OTHERS: list[float] = []  # cores other processes used during each timed run of this phase


class Contention:
    """Cores used by other processes while a timed run lasts: a number that says whether the
    figures it brackets can be trusted on a shared machine."""

    def __enter__(self) -> Contention:
        self.wall, self.busy, self.own = time.perf_counter(), machine_busy_s(), own_cpu_s()
        return self

    def __exit__(self, *_) -> None:
        wall = time.perf_counter() - self.wall
        others = (machine_busy_s() - self.busy) - (own_cpu_s() - self.own)
        OTHERS.append(max(0.0, others / wall))


def time_each(fn: Callable[[Post], np.ndarray], posts: Sequence[Post]) -> tuple:
    """Calls fn once per post; (latencies s, wall s, stacked outputs)."""
    latencies, outputs = [], []
    with Contention():
        started = time.perf_counter()
        for post in posts:
            t0 = time.perf_counter()
            outputs.append(fn(post))
            latencies.append(time.perf_counter() - t0)
        wall = time.perf_counter() - started
    return np.array(latencies), wall, np.stack(outputs)


def time_batches(fn: Callable[[list[Post]], np.ndarray], posts: Sequence[Post], size: int):
    """Length-sorted batches of `size`; an item's latency is its batch's. Outputs in input
    order."""
    order = sorted(range(len(posts)), key=lambda i: len(posts[i].text))
    latencies, outputs = [], [None] * len(posts)
    with Contention():
        started = time.perf_counter()
        for start in range(0, len(order), size):
            chunk = order[start : start + size]
            t0 = time.perf_counter()
            rows = fn([posts[i] for i in chunk])
            latencies.extend([time.perf_counter() - t0] * len(chunk))
            for i, row in zip(chunk, rows, strict=True):
                outputs[i] = row
        wall = time.perf_counter() - started
    return np.array(latencies), wall, np.stack(outputs)


def calibrate(logits: np.ndarray, bundle: Bundle) -> np.ndarray:
    probs = np.full((len(logits), len(LABELS)), np.nan)
    for j, label in enumerate(LABELS):
        if label in bundle.calibration:
            probs[:, j] = bundle.calibration[label].apply(logits[:, j])
    return probs


# --- torch (fp32) ----------------------------------------------------------------------------
def load_torch(checkpoint: Path, threads: int):
    import torch

    from triage.training.fit.model import load_checkpoint

    torch.set_num_threads(threads)
    model, meta = load_checkpoint(checkpoint)
    return model, meta


def hf_pipeline(checkpoint: Path, threads: int):
    """transformers' text-classification pipeline around the fine-tuned checkpoint.

    The triage model (encoder, mean pooling, linear head) is no stock architecture, so it is
    wrapped in a PreTrainedModel that returns SequenceClassifierOutput; transformers logs that
    it does not know the class and runs it anyway. Truncation is the pipeline's own (head
    only, 128 tokens), not triage's head+tail: part of what the agreement figures show.
    """
    import torch
    from transformers import BertConfig, PreTrainedModel, PreTrainedTokenizerFast, pipeline
    from transformers.modeling_outputs import SequenceClassifierOutput
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    model, meta = load_torch(checkpoint, threads)
    outputs = meta["outputs"]

    class TriageForSequenceClassification(PreTrainedModel):
        config_class = BertConfig
        base_model_prefix = "triage"

        def __init__(self, config, triage_model) -> None:
            super().__init__(config)
            self.triage = triage_model

        def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, **_):
            if token_type_ids is None:
                token_type_ids = torch.zeros_like(input_ids)
            logits = self.triage(input_ids, attention_mask, token_type_ids)
            return SequenceClassifierOutput(logits=logits)

    config = BertConfig.from_pretrained(
        checkpoint / "encoder",
        num_labels=len(outputs),
        id2label=dict(enumerate(outputs)),
        label2id={name: i for i, name in enumerate(outputs)},
        problem_type="multi_label_classification",
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_file=str(checkpoint / "tokenizer.json"),
        unk_token="[UNK]",
        sep_token="[SEP]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        mask_token="[MASK]",
        model_max_length=meta["max_length"],
    )
    wrapped = TriageForSequenceClassification(config, model).eval()
    pipe = pipeline("text-classification", model=wrapped, tokenizer=tokenizer, device="cpu")
    index = {name: i for i, name in enumerate(outputs)}

    def logits(post: Post) -> np.ndarray:
        found = pipe(post.text, top_k=None, function_to_apply="none", truncation=True)
        row = np.zeros(len(outputs), dtype=np.float32)
        for entry in found:
            row[index[entry["label"]]] = entry["score"]
        return row

    return logits


def phase_pipeline(args, posts: list[Post], bundle: Bundle) -> dict:
    import torch

    logits = hf_pipeline(args.checkpoint, args.threads)
    with torch.inference_mode():
        time_each(logits, posts[:20])  # warm-up
        latencies, wall, out = time_each(logits, posts)
    return {"latencies": latencies, "wall": wall, "probs": calibrate(out, bundle)}


def phase_torch(args, posts: list[Post], bundle: Bundle) -> dict:
    """Raw forward of the fp32 model on triage's own encoding: the reference for agreement."""
    import torch

    from triage.scoring.encoding import PairEncoder

    model, meta = load_torch(args.checkpoint, args.threads)
    encoder = PairEncoder.from_file(args.checkpoint / "tokenizer.json", meta["max_length"])

    def forward(batch: list[Post]) -> np.ndarray:
        encoded = pad(encoder.encode_batch([p.text for p in batch], [None] * len(batch)))
        tensors = {k: torch.from_numpy(v) for k, v in encoded.items()}
        return model(**tensors).numpy()

    with torch.inference_mode():
        time_each(lambda p: forward([p])[0], posts[:20])
        latencies, wall, out = time_each(lambda p: forward([p])[0], posts)
        rss = peak_rss_mib()  # before the batched agreement pass below
        agree = read_posts(args.work / "agree.jsonl")
        _, _, agree_logits = time_batches(forward, agree, 32)
    return {
        "latencies": latencies,
        "wall": wall,
        "probs": calibrate(out, bundle),
        "agree_probs": calibrate(agree_logits, bundle),
        "rss_mib": rss,
    }


# --- ONNX Runtime (the serving scorer) --------------------------------------------------------
@dataclass(frozen=True)
class SessionSpec:
    threads: int = 2
    spinning: bool = True
    level: str = "all"  # graph optimisation level at session load
    parallel_mode: bool = False


SESSION_SPECS = {
    "scorer": SessionSpec(),
    "scorer-threads1": SessionSpec(threads=1),
    "scorer-nospin": SessionSpec(spinning=False),
    "scorer-opt-basic": SessionSpec(level="basic"),
    "scorer-opt-extended": SessionSpec(level="extended"),
    "scorer-parallel-mode": SessionSpec(parallel_mode=True),
}


def make_session(model_path: Path, spec: SessionSpec):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = spec.threads
    options.inter_op_num_threads = 2 if spec.parallel_mode else 1
    options.execution_mode = (
        ort.ExecutionMode.ORT_PARALLEL if spec.parallel_mode else ort.ExecutionMode.ORT_SEQUENTIAL
    )
    options.graph_optimization_level = {
        "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
    }[spec.level]
    if not spec.spinning:  # idle intra-op threads sleep instead of busy-waiting
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])


def make_scorer(args, bundle: Bundle, spec: SessionSpec, model_path: Path | None = None):
    scorer = OnnxScorer(bundle, Settings().tier_rules, threads=spec.threads, evidence=False)
    if model_path is not None or spec != SessionSpec():
        scorer.model.session = make_session(model_path or bundle.model_path, spec)
    return scorer


def exact_probs(scorer: OnnxScorer, posts: Sequence[Post]) -> np.ndarray:
    """Unrounded probabilities, one item per call (API scores are rounded to 4 places)."""
    return np.concatenate([scorer.probabilities([p.text], [None]) for p in posts])


def phase_scorer(args, posts: list[Post], bundle: Bundle, name: str) -> dict:
    """The serving scorer end to end (tokenise, infer, calibrate, tier), evidence off."""
    spec = SESSION_SPECS[name]
    scorer = make_scorer(args, bundle, spec)
    one = lambda post: scorer.score([ScoreInput(post.id, post.text)])  # noqa: E731
    time_each(one, posts[:20])
    latencies, wall, _ = time_each(one, posts)
    result = {"latencies": latencies, "wall": wall}
    if name == "scorer":
        items = lambda batch: scorer.score([ScoreInput(p.id, p.text) for p in batch])  # noqa: E731
        b_lat, b_wall, _ = time_batches(items, posts, args.batch)
        result.update(batch_latencies=b_lat, batch_wall=b_wall, rss_mib=peak_rss_mib())
        result["probs"] = exact_probs(scorer, posts)
        result["agree_probs"] = exact_probs(scorer, read_posts(args.work / "agree.jsonl"))
    return result


def phase_lanes(args, posts: list[Post], bundle: Bundle) -> dict:
    """OnnxScorer(threads=1, lanes=2): the items of one call run two at once, each alone.
    Batch 1 cannot use the second lane; a call of `--batch` items (what the micro-batcher
    hands the scorer) can."""
    scorer = OnnxScorer(bundle, Settings().tier_rules, threads=1, evidence=False, lanes=2)
    items = lambda batch: scorer.score([ScoreInput(p.id, p.text) for p in batch])  # noqa: E731
    time_batches(items, posts[:32], args.batch)
    b_lat, b_wall, _ = time_batches(items, posts, args.batch)
    probs = exact_probs(scorer, posts[:64])
    reference = OnnxScorer(bundle, Settings().tier_rules, evidence=False)
    same = float(np.nanmax(np.abs(probs - exact_probs(reference, posts[:64]))))
    return {"batch_latencies": b_lat, "batch_wall": b_wall, "lanes_vs_one_lane": same}


# --- the distilled student (--student) ---------------------------------------------------------
def phase_student(args, posts: list[Post], _bundle: Bundle) -> dict:
    """The student bundle's scorer end to end, as `scorer` times the teacher: batch 1 on
    --threads threads and calls of --batch items; its probabilities for the agreement table
    (against the teacher's fp32 torch model)."""
    bundle = load_bundle(args.student)
    scorer = OnnxScorer(bundle, Settings().tier_rules, threads=args.threads, evidence=False)
    items = lambda batch: scorer.score([ScoreInput(p.id, p.text) for p in batch])  # noqa: E731
    return timed_with_agreement(args, scorer, posts, items)


def timed_with_agreement(args, scorer: OnnxScorer, posts: list[Post], batch_fn) -> dict:
    """Batch 1 (after 20 warm-up posts) and batches of --batch through `batch_fn`, peak RSS,
    and the unrounded probabilities for the agreement table."""
    one = lambda post: scorer.score([ScoreInput(post.id, post.text)])  # noqa: E731
    time_each(one, posts[:20])
    latencies, wall, _ = time_each(one, posts)
    b_lat, b_wall, _ = time_batches(batch_fn, posts, args.batch)
    return {
        "latencies": latencies,
        "wall": wall,
        "batch_latencies": b_lat,
        "batch_wall": b_wall,
        "rss_mib": peak_rss_mib(),
        "probs": exact_probs(scorer, posts),
        "agree_probs": exact_probs(scorer, read_posts(args.work / "agree.jsonl")),
    }


def phase_student_lanes(args, posts: list[Post], _bundle: Bundle) -> dict:
    """The student on 1 thread x 2 lanes: batch 1 (one lane idle) and calls of --batch items."""
    scorer = OnnxScorer(
        load_bundle(args.student), Settings().tier_rules, threads=1, evidence=False, lanes=2
    )
    one = lambda post: scorer.score([ScoreInput(post.id, post.text)])  # noqa: E731
    items = lambda batch: scorer.score([ScoreInput(p.id, p.text) for p in batch])  # noqa: E731
    time_batches(items, posts[:32], args.batch)
    latencies, wall, _ = time_each(one, posts)
    b_lat, b_wall, _ = time_batches(items, posts, args.batch)
    return {"latencies": latencies, "wall": wall, "batch_latencies": b_lat, "batch_wall": b_wall}


# --- static int8 -------------------------------------------------------------------------------
def phase_build_static(args, _posts, _bundle) -> dict:
    """Quantise the checkpoint statically, calibrated on training texts (needs torch)."""
    from triage.scoring.encoding import PairEncoder
    from triage.training.export.static_quant import build_static_int8

    model, meta = load_torch(args.checkpoint, args.threads)
    encoder = PairEncoder.from_file(args.checkpoint / "tokenizer.json", meta["max_length"])
    calibration = read_posts(args.work / "calibration.jsonl")
    started = time.perf_counter()
    path = build_static_int8(
        model,
        encoder,
        [p.text for p in calibration],
        [None] * len(calibration),
        args.work,
        args.static_method,
    )
    return {"wall": time.perf_counter() - started, "path": str(path)}


def batched_logits(scorer: OnnxScorer, batch: Sequence[Post]) -> np.ndarray:
    encoded = scorer.encoder.encode_batch([p.text for p in batch], [None] * len(batch))
    return scorer.model.session.run(["logits"], pad(encoded))[0]


def invariance_gap(scorer: OnnxScorer, posts: Sequence[Post], size: int) -> float:
    """Largest |probability| change of a post between scoring it alone and in a batch with
    `size - 1` others (arrival order, so lengths are mixed and padding is real)."""
    alone = np.concatenate(
        [label_probabilities(scorer.bundle, batched_logits(scorer, [p])) for p in posts]
    )
    crowded = np.concatenate(
        [
            label_probabilities(scorer.bundle, batched_logits(scorer, posts[s : s + size]))
            for s in range(0, len(posts), size)
        ]
    )
    return float(np.nanmax(np.abs(alone - crowded)))


def phase_static(args, posts: list[Post], bundle: Bundle) -> dict:
    path = args.work / f"static-{args.static_method}.onnx"
    scorer = make_scorer(args, bundle, SessionSpec(), model_path=path)
    result = timed_with_agreement(args, scorer, posts, lambda b: batched_logits(scorer, b))
    return {
        **result,
        "invariance_gap": invariance_gap(scorer, posts[:128], 16),
        "model_mib": path.stat().st_size / 2**20,
    }


def phase_dynamic_invariance(args, posts: list[Post], bundle: Bundle) -> dict:
    """The shipped dynamic int8 graph, if batched: how far a post's scores move."""
    scorer = make_scorer(args, bundle, SessionSpec())
    return {"invariance_gap": invariance_gap(scorer, posts[:128], 16)}


def phase_build_dynamic(args, _posts, _bundle) -> dict:
    """The dynamic int8 graph of the checkpoint, built exactly as `triage export` builds it,
    in a copy of --bundle (tokenizer, calibration, thresholds) whose outputs match the
    checkpoint. Used when the shipped bundle was exported from another run: PR-AUC does not
    depend on the (monotone) calibration, and both sides of every comparison share it."""
    import shutil

    from triage.training.export.onnx import build_int8

    model, meta = load_torch(args.checkpoint, args.threads)
    started = time.perf_counter()
    int8, _ = build_int8(model, args.work)
    target = args.work / "bundle"
    shutil.copytree(args.bundle, target, ignore=shutil.ignore_patterns("evaluation", "*.onnx"))
    shutil.copy(int8, target / "model.onnx")
    info = json.loads((target / "bundle.json").read_text())
    info["outputs"] = meta["outputs"]
    info.pop("tier_model", None)  # tiers are not compared here
    for stale in ("model_sha256", "model.onnx"):  # checksums of the shipped model, not this one
        info.get("files", {}).pop(stale, None)
    (target / "bundle.json").write_text(json.dumps(info))
    return {"wall": time.perf_counter() - started}


def served_bundle(args) -> Bundle:
    """The bundle built from the checkpoint (build-dynamic) if there is one, else --bundle."""
    built = args.work / "bundle"
    return load_bundle(built if built.exists() else args.bundle)


def run_phase(args) -> None:
    posts = read_posts(args.work / "posts.jsonl")
    bundle = served_bundle(args)
    name = args.phase
    if name in SESSION_SPECS:
        result = phase_scorer(args, posts, bundle, name)
    else:
        result = {
            "pipeline": phase_pipeline,
            "torch": phase_torch,
            "lanes": phase_lanes,
            "build-dynamic": phase_build_dynamic,
            "build-static": phase_build_static,
            "static": phase_static,
            "dynamic-invariance": phase_dynamic_invariance,
            "student": phase_student,
            "student-lanes": phase_student_lanes,
        }[name](args, posts, bundle)
    result.setdefault("rss_mib", peak_rss_mib())
    result["others_cores"] = max(OTHERS, default=0.0)
    np.savez(args.work / f"{name}.npz", **{k: np.asarray(v) for k, v in result.items()})
