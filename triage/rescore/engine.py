"""`triage rescore` on Ray Data: the only module of triage that imports ray.

The pending parts (parts.py) become a Ray dataset of one block per part, and `map_batches` runs
PartRescorer, a callable class, on a pool of actors: each actor loads the ONNX scorer once, in
its constructor, then reads, scores and writes whole parts (batch_size=1). The input is read and
the output written by the actors, not the driver; what comes back to the driver is one small
summary per part, which drives the progress bar. An actor takes one part at a time, so an idle
one always gets the next. Ray retries a part whose actor died, and a rerun skips every part
already written.

Local Ray (the default) is started for the run with `workers x threads` CPUs and stopped after;
with `address` the run joins that cluster, whose nodes must have triage[scale], the bundle and
the input and output folders at the same paths (a shared filesystem).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import ray
import ray.data
from tqdm.auto import tqdm

from triage.rescore import DEFAULT_PART_SIZE
from triage.rescore.part_scorer import PartScorer, ScorerOptions, model_version_of
from triage.rescore.parts import (
    Format,
    Manifest,
    Part,
    RescoreError,
    done_parts,
    open_output,
    plan_parts,
)
from triage.scoring.score_file import load_scorer

# Only part descriptions and summaries pass through Ray's object store: a small one will do.
LOCAL_OBJECT_STORE_BYTES = 256 * 1024**2


@dataclass(frozen=True)
class RescoreJob:
    input_path: Path
    out_dir: Path
    scorer: ScorerOptions
    output_format: Format = "parquet"
    part_size: int = DEFAULT_PART_SIZE
    workers: int | None = None  # actors; None: one per `threads` CPUs of this machine or cluster
    threads: int = 1  # ONNX threads per actor, and the CPUs Ray reserves for each
    address: str | None = None  # a Ray cluster; None: a local Ray for this run
    max_parts: int | None = None  # stop after this many parts (a rerun goes on)
    progress: bool = True


@dataclass(frozen=True)
class RunSummary:
    model_version: str
    parts: int  # in the input
    already_done: int  # parts an earlier run had written
    scored_parts: int  # parts this run wrote
    lines: int  # non-blank lines (rows) in the parts this run wrote
    failed: int  # of those, lines written as errors
    seconds: float  # the whole run: planning, starting Ray and the actors, scoring
    workers: int = 0  # actors this run used
    ray_start_seconds: float = 0.0  # starting (or joining) Ray
    busy_seconds: float = 0.0  # the actors' time on parts (read, score, write), added up

    @property
    def remaining(self) -> int:
        return self.parts - self.already_done - self.scored_parts

    @property
    def lines_per_second(self) -> float:
        return self.lines / self.seconds if self.seconds else 0.0

    @property
    def lines_per_busy_second(self) -> float:
        """One actor's rate while it works: what a bigger run scales with."""
        return self.lines / self.busy_seconds if self.busy_seconds else 0.0


@dataclass(frozen=True)
class _RayRun:
    workers: int
    parts: list[dict[str, Any]]  # per part: part, lines, failed, seconds
    start_seconds: float


def run(job: RescoreJob) -> RunSummary:
    """Score every part of the input not yet written to job.out_dir (at most job.max_parts)."""
    started = time.perf_counter()
    model_version = model_version_of(Path(job.scorer.bundle_dir))
    parts = plan_parts(job.input_path, job.part_size)
    manifest = Manifest.of(
        job.input_path, job.part_size, len(parts), model_version, job.output_format
    )
    open_output(job.out_dir, manifest)
    done = done_parts(job.out_dir, job.output_format)
    pending = [part for part in parts if part.index not in done]
    if job.max_parts is not None:
        pending = pending[: job.max_parts]
    ray_run = _score_on_ray(job, pending, model_version) if pending else _RayRun(0, [], 0.0)
    return RunSummary(
        model_version,
        len(parts),
        len(done),
        len(ray_run.parts),
        sum(p["lines"] for p in ray_run.parts),
        sum(p["failed"] for p in ray_run.parts),
        time.perf_counter() - started,
        ray_run.workers,
        ray_run.start_seconds,
        sum(p["seconds"] for p in ray_run.parts),
    )


def _score_on_ray(job: RescoreJob, pending: list[Part], model_version: str) -> _RayRun:
    connecting = time.perf_counter()
    started_here = _connect(job)
    start_seconds = time.perf_counter() - connecting
    try:
        ray.data.DataContext.get_current().enable_progress_bars = job.progress
        workers = min(job.workers or _cpus() // job.threads or 1, len(pending))
        rows = [part.as_row() for part in pending]
        summaries = ray.data.from_items(rows, override_num_blocks=len(rows)).map_batches(
            PartRescorer,
            batch_size=1,
            compute=ray.data.ActorPoolStrategy(size=workers, max_tasks_in_flight_per_actor=1),
            num_cpus=job.threads,
            fn_constructor_kwargs={
                "scorer": asdict(job.scorer),
                "threads": job.threads,
                "out_dir": str(job.out_dir.resolve()),
                "output_format": job.output_format,
                "model_version": model_version,
            },
        )
        results = []
        total = sum(part.rows for part in pending)
        with tqdm(
            total=total, unit="line", file=sys.stderr, disable=None if job.progress else True
        ) as bar:
            for summary in summaries.iter_rows():
                results.append(
                    {
                        **{key: int(summary[key]) for key in ("part", "lines", "failed")},
                        "seconds": float(summary["seconds"]),
                    }
                )
                bar.update(int(summary["lines"]))
        return _RayRun(workers, results, start_seconds)
    finally:
        if started_here:
            ray.shutdown()


def _connect(job: RescoreJob) -> bool:
    """Start (or join) Ray unless this process already has; True when this run started it."""
    if ray.is_initialized():
        return False
    address = job.address or os.environ.get("RAY_ADDRESS")  # as `ray.init()` itself reads it
    if address:
        ray.init(address=address, logging_level=logging.WARNING)
    else:
        cpus = (job.workers or max((os.cpu_count() or 1) // job.threads, 1)) * job.threads
        ray.init(
            num_cpus=cpus,
            include_dashboard=False,
            object_store_memory=LOCAL_OBJECT_STORE_BYTES,
            logging_level=logging.WARNING,
        )
    return True


def _cpus() -> int:
    return int(ray.cluster_resources().get("CPU", 1))


class PartRescorer:
    """Ray Data's callable class: one per actor, so each actor loads the scorer once."""

    def __init__(
        self,
        scorer: dict[str, Any],
        threads: int,
        out_dir: str,
        output_format: Format,
        model_version: str,
    ) -> None:
        loaded = load_scorer(ScorerOptions(**scorer).settings(threads))
        found = f"{loaded.bundle.name}:{loaded.bundle.version}"
        if found != model_version:  # e.g. a cluster node with another bundle at that path
            raise RescoreError(f"this worker's bundle is {found}, the run's is {model_version}")
        self.parts = PartScorer(loaded, Path(out_dir), output_format, model_version)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list[float]]:
        summary: dict[str, list[float]] = {"part": [], "lines": [], "failed": [], "seconds": []}
        for n in range(len(batch["index"])):
            part = Part.from_row({name: values[n] for name, values in batch.items()})
            started = time.perf_counter()
            lines, failed = self.parts.rescore(part)
            for key, value in zip(
                summary, (part.index, lines, failed, time.perf_counter() - started), strict=True
            ):
                summary[key].append(value)
        return summary
