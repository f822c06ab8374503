"""Serving scorer vs the transformers pipeline on the same real posts (issue 5, point 9).

    .venv/bin/python bench/inference.py [--n 512] [--levers] [--checkpoint runs/triage-minilm/best]
    .venv/bin/python bench/inference.py --bundle-model --phases pipeline,torch,scorer,lanes \
        --student models/triage-minilm-l3     # the run in docs/benchmarks.md (make bench-student)

The int8 model is built from the checkpoint exactly as `triage export` builds it (so the
checkpoint and the timed model are one model even when the shipped bundle comes from another
run); the bundle lends its tokenizer and calibration. --bundle-model times the bundle's own file.

One command, one child process per backend (so each peak RSS is that backend's own), run one
after the other on the same posts: top-level test posts (data/prepared/test.jsonl) of 20-120
words, drawn with a fixed seed.

  pipeline         transformers pipeline("text-classification") on torch, fp32, batch 1
  torch            raw fp32 forward on triage's own encoding, batch 1: the reference
  scorer           triage's OnnxScorer (int8, 2 threads) end to end, batch 1 and batched
  --student adds   a distilled student bundle's scorer, 2 threads and 1 thread x 2 lanes
  --levers adds    ORT session options (1 thread, no spinning, optimisation levels, parallel
                   mode), two items at once on single-threaded runs, and static int8 (QDQ,
                   calibrated on train posts) at batch 1 and batched, with its batch invariance

Agreement: max and mean |probability difference| from the fp32 torch model on the timed posts,
and every label's PR-AUC on all labelled test posts of the same kind (--agree-n), each model
against the fp32 torch model. The target (issue 5): scorer >= 8x the pipeline's texts/s with
every PR-AUC within 0.01 of fp32. Benchmarks on a busy machine mean nothing: the load average
is printed first.
"""

from __future__ import annotations

import sys

# bench/queue_views.py would shadow the standard library's queue (torch imports it): drop this
# folder
# from the import path and load the sibling module by its file name.
sys.path = [p for p in sys.path if not p.endswith("bench")]

import argparse
import importlib.util
import json
import os
import platform
import random
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from triage.domain.labels import LABELS
from triage.paths import DEFAULT_BUNDLE, DEFAULT_CHECKPOINT, DEFAULT_PREPARED
from triage.scoring.bundle import load_bundle
from triage.scoring.encoding import PairEncoder

_spec = importlib.util.spec_from_file_location(
    "inference_phases", Path(__file__).with_name("inference_phases.py")
)
phases_module = importlib.util.module_from_spec(_spec)
sys.modules["inference_phases"] = phases_module  # dataclasses look their module up here
_spec.loader.exec_module(phases_module)
SESSION_SPECS, read_posts, run_phase = (
    phases_module.SESSION_SPECS,
    phases_module.read_posts,
    phases_module.run_phase,
)

BASE_PHASES = ["build-dynamic", "pipeline", "torch", "scorer"]
LEVER_PHASES = [
    *[name for name in SESSION_SPECS if name != "scorer"],
    "lanes",
    "dynamic-invariance",
    "build-static",
    "static",
]
STUDENT_PHASES = ["student", "student-lanes"]
PR_AUC_TOL = 0.01


# --- posts -------------------------------------------------------------------------------------
def eligible(row: dict, min_words: int, max_words: int) -> bool:
    return not row.get("parent_text") and min_words <= len(row["text"].split()) <= max_words


def sample_rows(path: Path, n: int, seed: int, min_words: int, max_words: int) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text().split("\n") if line.strip()]
    rows = [r for r in rows if eligible(r, min_words, max_words)]
    random.Random(seed).shuffle(rows)
    return rows[:n] if n else rows


def write_posts(path: Path, rows: list[dict]) -> None:
    with path.open("w") as handle:
        for row in rows:
            post = {"id": row["id"], "text": row["text"], "labels": row.get("labels", {})}
            handle.write(json.dumps(post) + "\n")


# --- running phases ---------------------------------------------------------------------------
def others_busy_cores(seconds: float = 3.0) -> float:
    """Cores in use on the machine over a short sample (this process is idle meanwhile)."""
    before, started = phases_module.machine_busy_s(), time.perf_counter()
    time.sleep(seconds)
    return (phases_module.machine_busy_s() - before) / (time.perf_counter() - started)


def wait_until_quiet(limit_s: float, threshold: float = 0.3) -> float:
    """Wait (up to limit_s) until other processes use under `threshold` cores; return the
    last sample."""
    deadline = time.monotonic() + limit_s
    busy = others_busy_cores()
    while busy >= threshold and time.monotonic() < deadline:
        print(f"  machine busy ({busy:.1f} cores in use): waiting", file=sys.stderr, flush=True)
        time.sleep(20)
        busy = others_busy_cores()
    return busy


def run_child(phase: str, args) -> dict | None:
    command = [
        sys.executable,
        __file__,
        "--phase",
        phase,
        "--work",
        str(args.work),
        "--bundle",
        str(args.bundle),
        "--checkpoint",
        str(args.checkpoint),
        "--threads",
        str(args.threads),
        "--batch",
        str(args.batch),
        "--static-method",
        args.static_method,
        *(["--student", str(args.student)] if args.student else []),
    ]
    if args.wait_quiet:
        wait_until_quiet(args.wait_quiet)
    print(f"  running {phase} ...", file=sys.stderr, flush=True)
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        print(f"  {phase} failed:\n{done.stderr[-3000:]}", file=sys.stderr)
        return None
    with np.load(args.work / f"{phase}.npz") as data:
        return {key: data[key] for key in data.files}


# --- report ----------------------------------------------------------------------------------
def latency_row(name: str, r: dict, batched: bool, n: int, base: float | None) -> float:
    latencies, wall = (
        (r["batch_latencies"], r["batch_wall"]) if batched else (r["latencies"], r["wall"])
    )
    ms = np.sort(np.asarray(latencies)) * 1000
    rate = n / float(wall)
    speedup = f"{rate / base:5.1f}x" if base else "-"
    rss = "-" if batched and "latencies" in r else f"{float(r['rss_mib']):.0f}"
    print(
        f"| {name} | {rate:.1f} | {np.percentile(ms, 50):.1f} | {np.percentile(ms, 99):.1f} | "
        f"{rss} | {speedup} | {float(r['others_cores']):.2f} |"
    )
    return rate


def pr_auc(probs: np.ndarray, posts, label_index: int) -> tuple[float, int, int]:
    from sklearn.metrics import average_precision_score

    label = LABELS[label_index]
    known = [i for i, p in enumerate(posts) if p.labels.get(label) is not None]
    targets = np.array([posts[i].labels[label] for i in known])
    if len(known) == 0 or targets.min() == targets.max():
        return float("nan"), len(known), int(targets.sum()) if len(known) else 0
    return (
        float(average_precision_score(targets, probs[known, label_index])),
        len(known),
        int(targets.sum()),
    )


def agreement(results: dict, posts, agree, trained) -> None:
    reference = results["torch"]
    print("\nAgreement with the fp32 torch model (same posts, triage's encoding)")
    print(
        "| model | max abs diff (posts) | mean abs diff (posts) | "
        + " | ".join(f"PR-AUC {LABELS[j]} (gap)" for j in trained)
        + " |"
    )
    print("|---" * (3 + len(trained)) + "|")
    for name in ["torch", "pipeline", "scorer", "static", "student"]:
        result = results.get(name)
        if result is None or "probs" not in result:
            continue
        diff = np.abs(result["probs"][:, trained] - reference["probs"][:, trained])
        cells = []
        for j in trained:
            if "agree_probs" in result:
                value, _, _ = pr_auc(result["agree_probs"], agree, j)
                ref, _, _ = pr_auc(reference["agree_probs"], agree, j)
                cells.append(f"{value:.4f} ({value - ref:+.4f})")
            else:
                cells.append("-")
        print(
            f"| {name} | {np.nanmax(diff):.4f} | {np.nanmean(diff):.5f} | "
            + " | ".join(cells)
            + " |"
        )
    counts = [pr_auc(reference["agree_probs"], agree, j) for j in trained]
    print(
        f"PR-AUC on {len(agree)} labelled test posts: "
        + ", ".join(
            f"{LABELS[j]} {n} known / {pos} positive"
            for j, (_, n, pos) in zip(trained, counts, strict=True)
        )
    )


def report(results: dict, args, posts, agree, bundle) -> None:
    print(
        "\n| backend | texts/s | p50 ms | p99 ms | peak RSS MiB | vs pipeline "
        "| other processes (cores) |"
    )
    print("|---|---|---|---|---|---|---|")
    base = None
    if "pipeline" in results:
        base = latency_row(
            "transformers pipeline, torch fp32, b1", results["pipeline"], False, len(posts), None
        )
    rows = [
        ("torch", "raw torch forward fp32, b1"),
        *[
            (name, f"ORT int8 {name.removeprefix('scorer')[1:] or 'scorer'}, b1")
            for name in SESSION_SPECS
        ],
        ("lanes", "ORT int8, 1 thread x 2 lanes, b1"),
        ("student", f"student int8 ({args.student_layers} layers), {args.threads} threads, b1"),
        ("student-lanes", f"student int8 ({args.student_layers} layers), 1 thread x 2 lanes, b1"),
        ("static", f"ORT static int8 ({args.static_method}), b1"),
    ]
    for name, label in rows:
        r = results.get(name)
        if r is not None and "latencies" in r:
            latency_row(label, r, False, len(posts), base)
        if r is not None and "batch_latencies" in r:
            batched = f"{label[:-4]}, batches of {args.batch} (batch latency)"
            latency_row(batched, r, True, len(posts), base)
    trained = [j for j, label in enumerate(LABELS) if label in bundle.calibration]
    if "torch" in results:
        agreement(results, posts, agree, trained)
    for name in ("dynamic-invariance", "static"):
        if name in results and "invariance_gap" in results[name]:
            print(
                f"{name}: max |prob change| of a post alone vs in a batch of 16 "
                f"(128 posts): {float(results[name]['invariance_gap']):.2e}"
            )
    if "lanes" in results:
        gap = float(results["lanes"]["lanes_vs_one_lane"])
        print(f"lanes: max |prob diff| from one lane, 64 posts: {gap:.1e}")
    if "build-dynamic" in results:
        print(f"dynamic int8 build: {float(results['build-dynamic']['wall']):.0f} s")
    if "build-static" in results:
        print(f"static int8 build: {float(results['build-static']['wall']):.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bundle", type=Path, default=DEFAULT_BUNDLE)
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT)
    parser.add_argument("--data", type=Path, default=DEFAULT_PREPARED)
    parser.add_argument("--n", type=int, default=512, help="timed posts")
    parser.add_argument("--agree-n", type=int, default=0, help="labelled posts for PR-AUC; 0: all")
    parser.add_argument("--calibration-n", type=int, default=256, help="train posts (static)")
    parser.add_argument("--min-words", type=int, default=20)
    parser.add_argument("--max-words", type=int, default=120)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--levers", action="store_true", help="also measure the speed levers")
    parser.add_argument(
        "--bundle-model",
        action="store_true",
        help="time the bundle's own model.onnx instead of building int8 from the checkpoint",
    )
    parser.add_argument(
        "--student",
        type=Path,
        help="a distilled student bundle (e.g. models/triage-minilm-l3): timed as the scorer "
        "is, and compared with the fp32 torch model of --checkpoint (its teacher)",
    )
    parser.add_argument("--phases", help="comma-separated phases to run (default: all chosen)")
    parser.add_argument(
        "--static-method", default="percentile", choices=["minmax", "percentile", "entropy"]
    )
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=600,
        help="before each phase, wait up to this many seconds for other processes to use "
        "under 0.3 cores (0: do not wait)",
    )
    parser.add_argument("--keep", type=Path, help="work folder to keep (built models, results)")
    parser.add_argument("--phase", help=argparse.SUPPRESS)  # child mode
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        run_phase(args)
        return
    bundle = load_bundle(args.bundle)
    load = os.getloadavg()
    print(
        f"machine: {platform.machine()} {os.cpu_count()} CPUs, {platform.processor() or ''} "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; bundle {bundle.name} "
        f"{bundle.version}; checkpoint {args.checkpoint}"
    )
    phases = (
        args.phases.split(",")
        if args.phases
        else BASE_PHASES + (LEVER_PHASES if args.levers else [])
    )
    if args.bundle_model:
        phases = [p for p in phases if p != "build-dynamic"]
    args.student_layers = "?"
    if args.student:
        phases += [p for p in STUDENT_PHASES if p not in phases]
        config = json.loads((args.student / "bundle.json").read_text()).get("encoder", {})
        args.student_layers = config.get("layers", "?")
    with tempfile.TemporaryDirectory(prefix="triage-bench-") as folder:
        args.work = args.keep or Path(folder)
        args.work.mkdir(parents=True, exist_ok=True)
        test = args.data / "test.jsonl"
        posts_rows = sample_rows(test, args.n, args.seed, args.min_words, args.max_words)
        write_posts(args.work / "posts.jsonl", posts_rows)
        write_posts(
            args.work / "agree.jsonl",
            sample_rows(test, args.agree_n, args.seed, args.min_words, args.max_words),
        )
        write_posts(
            args.work / "calibration.jsonl",
            sample_rows(
                args.data / "train.jsonl",
                args.calibration_n,
                args.seed,
                args.min_words,
                args.max_words,
            ),
        )
        posts, agree = read_posts(args.work / "posts.jsonl"), read_posts(args.work / "agree.jsonl")
        encoder = PairEncoder.from_file(bundle.tokenizer_path, bundle.max_length)
        tokens = [
            len(e) for e in encoder.encode_batch([p.text for p in posts], [None] * len(posts))
        ]
        print(f"tokens per timed post: mean {np.mean(tokens):.0f}, median {np.median(tokens):.0f}")
        print(
            f"{len(posts)} timed posts ({args.min_words}-{args.max_words} words, no parent), "
            f"{len(agree)} labelled posts for PR-AUC, {args.threads} threads"
        )
        results = {}
        for phase in phases:
            result = run_child(phase, args)
            if result is not None:
                results[phase] = result
        report(results, args, posts, agree, bundle)


if __name__ == "__main__":
    main()
