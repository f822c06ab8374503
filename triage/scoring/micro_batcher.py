"""A micro-batching executor: concurrent scoring calls that arrive within a short window are
merged into one call of the scorer, and each caller gets back only its own results.

It is a `concurrent.futures.Executor`, so the service hands it to the same code that would use a
thread pool (`executor.submit(scorer.score, items)`): ingest, the background retry and
POST /v1/score. Only calls of one function with one list argument can be merged.

Merging is only correct for a function whose output for an item does not depend on the other
items in the list. OnnxScorer.score is such a function: it runs every item through the model
on its own (dynamic int8 would otherwise make a score depend on its neighbours), so a merged
call returns the same scores as separate calls. What merging saves is per-call overhead
(thread hand-offs, one scorer call per request) and the threads of many concurrent requests
fighting over 2 cores; it does not make the model run items in one tensor.

One worker thread scores one merged batch at a time. While it does, new calls queue up and form
the next batch; when it is idle, the first call waits at most `window_s` for company.
If a merged call raises, every request in it is retried alone, so an error reaches the request
that caused it and not its neighbours.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

log = logging.getLogger(__name__)

ListFunction = Callable[[list[Any]], Sequence[Any]]


@dataclass
class _Call:
    fn: ListFunction
    items: list[Any]
    future: Future = field(default_factory=Future)


_STOP = object()


class MicroBatcher(Executor):
    def __init__(self, window_s: float, max_items: int, name: str = "micro-batcher") -> None:
        if window_s < 0:
            raise ValueError(f"window_s must be >= 0, found {window_s}")
        if max_items < 1:
            raise ValueError(f"max_items must be >= 1, found {max_items}")
        self.window_s = window_s
        self.max_items = max_items
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._closed = False
        self._lock = threading.Lock()
        self._worker = threading.Thread(target=self._work, name=name, daemon=True)
        self._worker.start()
        self.batches = 0  # merged calls made (for tests and benchmarks)

    # -- Executor ---------------------------------------------------------------------------
    # typed as Executor.submit's any-callable so it can stand in for a thread pool; the check
    # below refuses anything but one list argument
    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        if len(args) != 1 or kwargs or not isinstance(args[0], list | tuple):
            raise TypeError(
                "MicroBatcher.submit expects fn and one list of items, found "
                f"{len(args)} positional and {len(kwargs)} keyword arguments"
            )
        call = _Call(fn, list(args[0]))
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot submit to a MicroBatcher that has been shut down")
            self._queue.put(call)
        return call.future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if cancel_futures:
                self._cancel_queued()
            self._queue.put(_STOP)
        if wait:
            self._worker.join()

    # -- worker -----------------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                self._cancel_queued()
                return
            batch, stop = self._collect(first)
            self._run(batch)
            if stop:
                self._cancel_queued()
                return

    def _collect(self, first: _Call) -> tuple[list[_Call], bool]:
        """`first` plus the calls that arrive within the window, up to max_items items."""
        batch, count = [first], len(first.items)
        deadline = time.monotonic() + self.window_s
        while count < self.max_items:
            remaining = deadline - time.monotonic()
            try:
                call = (
                    self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get(False)
                )
            except queue.Empty:
                break
            if call is _STOP:
                return batch, True
            batch.append(call)
            count += len(call.items)
        return batch, False

    def _run(self, batch: list[_Call]) -> None:
        live = [call for call in batch if call.future.set_running_or_notify_cancel()]
        for _, group in groupby(live, key=lambda call: call.fn):
            self._run_merged(list(group))

    def _run_merged(self, calls: list[_Call]) -> None:
        merged = [item for call in calls for item in call.items]
        self.batches += 1
        try:
            results = list(calls[0].fn(merged))
            if len(results) != len(merged):
                raise ValueError(f"{len(results)} results for {len(merged)} items")
        except BaseException as error:
            if len(calls) == 1:
                calls[0].future.set_exception(error)
            else:  # find out whose items fail: each request alone
                for call in calls:
                    self._run_alone(call)
            return
        start = 0
        for call in calls:
            call.future.set_result(results[start : start + len(call.items)])
            start += len(call.items)

    def _run_alone(self, call: _Call) -> None:
        try:
            results = list(call.fn(call.items))
            if len(results) != len(call.items):
                raise ValueError(f"{len(results)} results for {len(call.items)} items")
        except BaseException as error:
            call.future.set_exception(error)
            return
        call.future.set_result(results)

    def _cancel_queued(self) -> None:
        while True:
            try:
                call = self._queue.get_nowait()
            except queue.Empty:
                return
            if call is not _STOP:
                call.future.cancel()
