"""Honest timing: warm-up, synchronise, median of repeats, ratios in one run.

Grades never hang on these numbers (a busy machine would fail a learner);
notebooks print them so every speed claim is measured where it is read.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import torch


@dataclass
class Timing:
    """Seconds per call: the median, and every repeat for a closer look."""

    median: float
    times: list[float] = field(repr=False)

    @property
    def spread(self) -> float:
        """Interquartile range of the repeats: how much to trust the median."""
        if len(self.times) < 2:
            return 0.0
        q = statistics.quantiles(self.times, n=4, method="inclusive")
        return q[2] - q[0]

    def __str__(self) -> str:
        return f"{format_seconds(self.median)} (IQR {format_seconds(self.spread)})"


def format_seconds(s: float) -> str:
    if s == 0:
        return "0 s"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if s >= scale:
            return f"{s / scale:.3g} {unit}"
    return f"{s / 1e-9:.3g} ns"


def _sync_for(device: Any) -> Callable[[], None]:
    if device is not None and torch.device(device).type == "cuda":
        return torch.cuda.synchronize
    return lambda: None


def bench(
    fn: Callable[[], Any],
    *,
    warmup: int = 2,
    repeat: int = 7,
    number: int = 1,
    device: Any = None,
    sync: Callable[[], Any] | None = None,
    timer: Callable[[], float] = time.perf_counter,
) -> Timing:
    """Time `fn()`; return the median seconds per call over `repeat` repeats.

    `number` calls are timed together per repeat (for very short calls);
    on CUDA the device is synchronised before reading the clock, because
    kernels are launched asynchronously: torch's synchronise for a CUDA
    `device`, or `sync` where the work is not torch's (numba's
    `cuda.synchronize`). `timer` is injectable for tests.
    """
    if repeat < 1 or number < 1:
        raise ValueError("repeat and number must be >= 1")
    if sync is None:
        sync = _sync_for(device)
    for _ in range(warmup):
        fn()
    sync()
    times = []
    for _ in range(repeat):
        start = timer()
        for _ in range(number):
            fn()
        sync()
        times.append((timer() - start) / number)
    return Timing(statistics.median(times), times)


def speedup(slow: Callable[[], Any], fast: Callable[[], Any], **bench_kwargs: Any) -> tuple[float, Timing, Timing]:
    """Measure both in one run (interleaved warm-up) and return slow/fast."""
    t_slow = bench(slow, **bench_kwargs)
    t_fast = bench(fast, **bench_kwargs)
    return t_slow.median / t_fast.median, t_slow, t_fast
