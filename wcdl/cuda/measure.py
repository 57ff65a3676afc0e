"""Measuring kernels on a real GPU, for the notebooks and `bench_gpu.py`.

Timing with the device synchronised, device copy bandwidth (the ceiling a
memory-bound kernel is compared with), and the committed `gpu_results.json`
that `bench_gpu.py` writes, shown where no GPU is at hand. Grades never hang
on these numbers.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable

RESULTS_FILE = "gpu_results.json"


def time_gpu(fn: Callable[[], Any], *, warmup: int = 3, repeat: int = 10, number: int = 10) -> float:
    """Median seconds per call of `fn` on the GPU (device synchronised around the clock)."""
    from numba import cuda

    from ..timing import bench   # imports torch: only when something is timed

    return bench(fn, warmup=warmup, repeat=repeat, number=number, sync=cuda.synchronize).median


def copy_bandwidth(nbytes: int = 1 << 30, **kw: Any) -> float:
    """Device-to-device copy bandwidth in bytes/s (bytes read + bytes written), via torch."""
    import torch

    src = torch.empty(nbytes // 4, dtype=torch.float32, device="cuda")
    dst = torch.empty_like(src)
    t = time_gpu(lambda: dst.copy_(src), **kw)
    return 2 * src.numel() * 4 / t


def load_gpu_results(path: str | os.PathLike = RESULTS_FILE) -> dict | None:
    """The figures bench_gpu.py measured on a real GPU, or None if the file is absent."""
    p = Path(path)
    if not p.is_file():
        return None
    return json.loads(p.read_text())


def format_gpu_results(results: dict | None, keys: list[str] | None = None) -> str:
    """A small table of measured figures (only `keys`, if given) and the device they came from."""
    if not results:
        return (f"no {RESULTS_FILE} here: run `python bench_gpu.py` on a machine with an NVIDIA GPU "
                "to measure these kernels for real.")
    lines = [f"measured on {results.get('device', '?')} ({results.get('date', 'date unknown')}; "
             f"numba {results.get('numba', '?')}, torch {results.get('torch', '?')}); "
             f"device copy bandwidth {results.get('copy_bandwidth_GBps', float('nan')):.0f} GB/s"]
    for name, r in results.get("kernels", {}).items():
        if keys and name not in keys:
            continue
        if "TFLOPs" in r:
            fig = f"{r['TFLOPs']:.2f} TFLOP/s = {r['vs_torch']:.0%} of torch's {r['torch_TFLOPs']:.1f}"
        else:
            fig = (f"{r['GBps']:.0f} GB/s = {r['vs_copy']:.0%} of copy bandwidth "
                   f"(torch: {r['torch_GBps']:.0f} GB/s, {r['torch_vs_copy']:.0%})")
        target = f"; target {r['target']}" if "target" in r else ""
        lines.append(f"  {name:<22} {r.get('size', '')}: {fig}{target}")
    return "\n".join(lines)

