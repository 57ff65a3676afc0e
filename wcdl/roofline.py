"""Roofline plumbing: measure a machine, trace the ops a function runs, plot.

A roofline has two numbers: the peak arithmetic rate (FLOP/s) and the memory
bandwidth (bytes/s). This module measures both on the machine at hand
(`measure_bandwidth`, `measure_matmul_flops`, `measure_roofline`), holds
published accelerator specs (`PUBLISHED`), records the tensors every aten op
reads and writes (`trace_ops`), and draws log-log roofline plots
(`plot_roofline`). The formulas themselves are the course's exercises.

Run it as a script on a machine with a GPU to record that machine's numbers:

    python -m wcdl.roofline --out gpu_roofline.json
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from .timing import bench


# ------------------------------------------------------------------ rooflines

@dataclass(frozen=True)
class Roofline:
    """A machine (or one dtype on it): peak FLOP/s and memory bandwidth in bytes/s."""

    name: str
    peak_flops: float
    bandwidth: float
    note: str = ""

    def __str__(self) -> str:
        return (f"{self.name}: {self.peak_flops / 1e12:.3g} TFLOP/s, "
                f"{self.bandwidth / 1e9:.3g} GB/s")


# Datasheet numbers, dense (no 2:4 sparsity), tensor cores where the dtype uses them.
PUBLISHED: dict[str, Roofline] = {
    "A100 80GB SXM bf16": Roofline("A100 80GB SXM bf16", 312e12, 2.039e12, "NVIDIA A100 datasheet"),
    "A100 40GB bf16": Roofline("A100 40GB bf16", 312e12, 1.555e12, "NVIDIA A100 datasheet"),
    "A100 fp32 (no tensor cores)": Roofline("A100 fp32 (no tensor cores)", 19.5e12, 2.039e12,
                                            "NVIDIA A100 datasheet"),
    "H100 SXM bf16": Roofline("H100 SXM bf16", 989e12, 3.35e12, "NVIDIA H100 datasheet"),
    "T4 fp16": Roofline("T4 fp16", 65e12, 320e9, "NVIDIA T4 datasheet (Colab's free GPU)"),
}


# ------------------------------------------------------------------ measuring

def _device(device: Any) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def device_name(device: Any = None) -> str:
    """A readable name for the CPU model or the GPU behind `device`."""
    dev = _device(device)
    if dev.type == "cuda":
        return torch.cuda.get_device_name(dev)
    n = torch.get_num_threads()
    threads = f" ({n} thread{'' if n == 1 else 's'})"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip() + threads
    except OSError:
        pass
    return (platform.processor() or platform.machine() or "cpu") + threads


STREAM_WORDS = {"copy": 2, "scale": 2, "add": 3, "triad": 3}   # elements read + written per index


def measure_bandwidth(device: Any = None, *, n: int | None = None, dtype: torch.dtype = torch.float32,
                      kernel: str = "triad", warmup: int = 2, repeat: int = 5,
                      timer: Callable[[], float] = time.perf_counter) -> float:
    """Memory bandwidth in bytes/s from a STREAM-style kernel on `n` elements.

    `kernel` is "copy" (a = b), "scale" (a = 2 b), "add" (a = b + c) or
    "triad" (a = b + 2 c); each writes into a preallocated `a`, so the timed
    call allocates nothing. Pick `n` so the arrays do not fit in cache
    (default: 2**23 elements per array on CPU, 2**26 on a GPU).
    """
    if kernel not in STREAM_WORDS:
        raise ValueError(f"kernel must be one of {sorted(STREAM_WORDS)}, got {kernel!r}")
    dev = _device(device)
    n = n if n is not None else (2**26 if dev.type == "cuda" else 2**23)
    b = torch.rand(n, dtype=dtype, device=dev)
    c = torch.rand(n, dtype=dtype, device=dev)
    a = torch.empty_like(b)
    fns = {
        "copy": lambda: a.copy_(b),
        "scale": lambda: torch.mul(b, 2.0, out=a),
        "add": lambda: torch.add(b, c, out=a),
        "triad": lambda: torch.add(b, c, alpha=2.0, out=a),
    }
    t = bench(fns[kernel], warmup=warmup, repeat=repeat, device=dev, timer=timer)
    return STREAM_WORDS[kernel] * n * b.element_size() / t.median


def measure_matmul_flops(device: Any = None, *, n: int | None = None, dtype: torch.dtype = torch.float32,
                         warmup: int = 2, repeat: int = 5,
                         timer: Callable[[], float] = time.perf_counter) -> float:
    """FLOP/s of one square `n x n` matmul (2 n^3 FLOPs), written into a preallocated output.

    Default `n`: 1024 on CPU, 8192 on a GPU (big enough to be compute-bound).
    """
    dev = _device(device)
    n = n if n is not None else (8192 if dev.type == "cuda" else 1024)
    a = torch.randn(n, n, device=dev).to(dtype)
    b = torch.randn(n, n, device=dev).to(dtype)
    out = torch.empty(n, n, device=dev, dtype=dtype)
    t = bench(lambda: torch.mm(a, b, out=out), warmup=warmup, repeat=repeat, device=dev, timer=timer)
    return 2 * n**3 / t.median


def measure_roofline(device: Any = None, *, dtype: torch.dtype = torch.float32, name: str | None = None,
                     n_bandwidth: int | None = None, n_matmul: int | None = None, **bench_kwargs: Any) -> Roofline:
    """Measure this machine's roofline for `dtype`: triad bandwidth and matmul FLOP/s."""
    dev = _device(device)
    bw = measure_bandwidth(dev, n=n_bandwidth, **bench_kwargs)
    flops = measure_matmul_flops(dev, n=n_matmul, dtype=dtype, **bench_kwargs)
    label = name or f"{device_name(dev)} {str(dtype).replace('torch.', '')}"
    return Roofline(label, flops, bw, "measured: triad bandwidth, square matmul")


# ------------------------------------------------------------------ results files

def save_results(path: str | Path, rooflines: Iterable[Roofline], **extra: Any) -> Path:
    """Write measured rooflines (and any extra fields) as JSON."""
    path = Path(path)
    data = {"rooflines": [asdict(r) for r in rooflines], **extra}
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def load_results(path: str | Path) -> tuple[list[Roofline], dict] | None:
    """Read a file written by `save_results`; None if it does not exist."""
    path = Path(path)
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    rooflines = [Roofline(**r) for r in data.pop("rooflines")]
    return rooflines, data


# ------------------------------------------------------------------ tracing ops

@dataclass(frozen=True)
class TensorInfo:
    """One tensor an op touched: shape, dtype, and the bytes of its distinct elements."""

    shape: tuple[int, ...]
    dtype: torch.dtype
    nbytes: int


@dataclass(frozen=True)
class OpRecord:
    """One dispatched aten op.

    `inputs`: the tensors it was given (an `out=` argument is not an input).
    `outputs`: the tensors it returned. `is_view`: the output is a view of an
    input (reshape, transpose, expand, ...): no data was read or written.
    `inplace`: it wrote into one of its inputs (`relu_`, `add_`) or an `out=` tensor.
    """

    name: str
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    is_view: bool = False
    inplace: bool = False

    def __str__(self) -> str:
        def fmt(ts):
            return ", ".join(f"{tuple(t.shape)} {str(t.dtype).replace('torch.', '')}" for t in ts)
        tag = " (view)" if self.is_view else " (in place)" if self.inplace else ""
        return f"{self.name}{tag}: [{fmt(self.inputs)}] -> [{fmt(self.outputs)}]"


def tensor_info(t: torch.Tensor) -> TensorInfo:
    """Shape, dtype and distinct bytes of `t` (a broadcast, stride-0 axis counts once)."""
    distinct = 1
    for size, stride in zip(t.shape, t.stride()):
        if stride != 0:
            distinct *= size
    if t.numel() == 0:
        distinct = 0
    return TensorInfo(tuple(t.shape), t.dtype, distinct * t.element_size())


def _tensors(tree: Any) -> list[torch.Tensor]:
    leaves, _ = tree_flatten(tree)
    return [x for x in leaves if isinstance(x, torch.Tensor)]


# Ops whose schema does not declare the alias but whose output shares the input's memory.
_UNDECLARED_VIEWS = {"_unsafe_view", "_reshape_alias"}


class _Tracer(TorchDispatchMode):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[OpRecord] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        schema = func._schema
        out_args = {a.name for a in schema.arguments if a.is_out}
        inputs = _tensors(args) + _tensors({k: v for k, v in kwargs.items() if k not in out_args})
        writes = any(a.alias_info is not None and a.alias_info.is_write for a in schema.arguments)
        self.records.append(OpRecord(
            name=func.overloadpacket.__name__,
            inputs=tuple(tensor_info(t) for t in inputs),
            outputs=tuple(tensor_info(t) for t in _tensors(out)),
            is_view=bool(getattr(func, "is_view", False)) or func.overloadpacket.__name__ in _UNDECLARED_VIEWS,
            inplace=writes,
        ))
        return out


def trace_ops(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, list[OpRecord]]:
    """Call `fn(*args, **kwargs)`; return its result and one OpRecord per aten op it dispatched.

    Ops run as usual (eager mode: each op is its own kernel). Under
    `torch.autocast` the records show the casts autocast inserts (`_to_copy`)
    and the dtype each op really ran in.
    """
    with _Tracer() as tracer:
        out = fn(*args, **kwargs)
    return out, tracer.records


# ------------------------------------------------------------------ plotting

def plot_roofline(rooflines: Sequence[Roofline], points: Iterable[tuple[str, float, float]] = (), *,
                  ax: Any = None, intensity_range: tuple[float, float] | None = None, title: str | None = None):
    """Draw rooflines on log-log axes; return the matplotlib Axes.

    `points` are `(label, arithmetic intensity in FLOP/byte, achieved FLOP/s)`:
    measured ops placed under the roofs. The dotted vertical line of each
    roofline marks its ridge point (peak / bandwidth).
    """
    import matplotlib.pyplot as plt
    import numpy as np

    points = list(points)
    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 4.8))
    ridges = [r.peak_flops / r.bandwidth for r in rooflines]
    if intensity_range is None:
        xs = ridges + [p[1] for p in points if p[1] > 0]
        lo = min([1 / 8] + [x / 4 for x in xs])
        hi = max([64.0] + [x * 8 for x in xs])
        intensity_range = (lo, hi)
    grid = np.logspace(math.log10(intensity_range[0]), math.log10(intensity_range[1]), 256)
    for r, ridge in zip(rooflines, ridges):
        (line,) = ax.loglog(grid, np.minimum(r.peak_flops, grid * r.bandwidth), lw=2,
                            label=f"{r.name}  (ridge {ridge:.3g} FLOP/B)")
        ax.axvline(ridge, color=line.get_color(), ls=":", lw=1)
    markers = "osD^v<>ph*"
    for i, (label, intensity, achieved) in enumerate(points):
        if intensity > 0 and achieved > 0:
            ax.loglog([intensity], [achieved], markers[i % len(markers)], color="k", ms=6)
            ax.annotate(label, (intensity, achieved), textcoords="offset points", xytext=(5, -11), fontsize=8)
    ax.set_xlabel("arithmetic intensity (FLOP / byte)")
    ax.set_ylabel("FLOP / s")
    ax.set_title(title or "Roofline")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    return ax


# ------------------------------------------------------------------ script

def main(argv: Sequence[str] | None = None) -> dict:
    """Measure this machine's roofline for several dtypes and write it as JSON."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="roofline_results.json")
    p.add_argument("--device", default=None)
    p.add_argument("--repeat", type=int, default=10)
    p.add_argument("--n-bandwidth", type=int, default=None, help="elements per array (default: by device)")
    p.add_argument("--n-matmul", type=int, default=None, help="matmul size (default: by device)")
    args = p.parse_args(argv)
    dev = _device(args.device)
    dtypes = [torch.float32, torch.bfloat16]
    if dev.type == "cuda":
        dtypes.append(torch.float16)
    bw = max(measure_bandwidth(dev, n=args.n_bandwidth, kernel=k, repeat=args.repeat) for k in ("copy", "triad"))
    rooflines = []
    for dt in dtypes:
        flops = measure_matmul_flops(dev, n=args.n_matmul, dtype=dt, repeat=args.repeat)
        rooflines.append(Roofline(f"{device_name(dev)} {str(dt).replace('torch.', '')}", flops, bw,
                                  "measured by python -m wcdl.roofline"))
        print(rooflines[-1])
    extra = {"device": device_name(dev), "torch": torch.__version__,
             "tf32_matmul": dev.type == "cuda" and torch.backends.cuda.matmul.allow_tf32}
    save_results(args.out, rooflines, **extra)
    print("wrote", args.out)
    return {"rooflines": rooflines, **extra}


if __name__ == "__main__":  # pragma: no cover
    main()
