"""Where does a model's time go? Profile it and say: `wcdl.audit(model, example_inputs)`.

Two layers:

* Profiles as plain data. `profile_events(fn)` runs `fn()` under
  `torch.profiler` and returns a list of `Event`s, a small structure the
  course's exercises read (m02_5): one per host op, code region, DataLoader
  fetch or device kernel, with its start, duration, self time, nesting
  depth and, for ops, estimated FLOPs and bytes. `plot_timeline` draws one as
  a flame chart (time left to right, callers above callees).
* The audit. `audit(model, example_inputs)` profiles one forward pass of any
  `torch.nn.Module`, groups the time by op and by regime (compute, memory,
  overhead), places the ops on this machine's measured roofline (cached in
  `~/.cache/wcdl/`), states the overhead share and measures what-ifs in one
  interleaved run (a bigger batch, another thread count, int8 dynamic
  quantization, `torch.compile` where a C compiler exists) as speed ratios.
  The returned `Audit` prints as a table and draws its picture with `.plot()`.
  The command `wcdl audit MODULE:FACTORY --shape ...` does the same for a
  model factory (see `add_arguments`).

torch is imported inside the functions, so `import wcdl` stays light.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import importlib
import importlib.util
import json
import math
import os
import shutil
import statistics
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, NamedTuple, Sequence

REGIMES = ("compute", "memory", "overhead")
KINDS = ("op", "region", "data", "kernel")


class Event(NamedTuple):
    """One stretch of time in a profile (times in microseconds from the profile's start).

    kind: "op"     a torch op on the host (`aten::mm`);
          "region" a named stretch of host code that is not an op: a `record_function`
                   block, an autograd engine node, `Optimizer.step`; its self time is
                   Python and framework code running between ops;
          "data"   a DataLoader fetch (its inner ops are not listed: all of it is data loading);
          "kernel" work on an accelerator (a CUDA kernel or copy), on the device's own clock.
    self_us: duration minus the time of the events nested in it (for kernels: the duration).
    depth:   0 for a host event nothing encloses, its children 1, ...; kernels 0.
    flops, bytes: estimated work of an op (0 where unknown); see `profile_events`.
    """

    name: str
    kind: str
    start_us: float
    duration_us: float
    self_us: float
    depth: int = 0
    flops: float = 0.0
    bytes: float = 0.0

    @property
    def end_us(self) -> float:
        return self.start_us + self.duration_us


# ------------------------------------------------------------------ profiles as data

# ops that only make views or allocate: they move no data
_NO_TRAFFIC = {
    "aten::view", "aten::_unsafe_view", "aten::reshape", "aten::_reshape_alias", "aten::as_strided",
    "aten::expand", "aten::t", "aten::transpose", "aten::permute", "aten::slice", "aten::select",
    "aten::unsqueeze", "aten::squeeze", "aten::detach", "aten::alias", "aten::empty", "aten::empty_like",
    "aten::empty_strided", "aten::resolve_conj", "aten::resolve_neg", "aten::lift_fresh", "aten::split",
    "aten::chunk", "aten::unbind", "aten::narrow", "aten::numpy_T", "aten::unflatten", "aten::flatten",
}
_ITEMSIZE = {"double": 8, "long int": 8, "long": 8, "int": 4, "float": 4, "c10::Half": 2, "c10::BFloat16": 2,
             "short int": 2, "bool": 1, "unsigned char": 1, "signed char": 1, "c10::complex<float>": 8,
             "c10::complex<double>": 16, "c10::qint8": 1, "c10::quint8": 1, "c10::qint32": 4}
DATA_PREFIX = "enumerate(DataLoader)"


_MATMULS = {"aten::mm": (0, 1), "aten::addmm": (1, 2), "aten::bmm": (0, 1), "aten::baddbmm": (1, 2),
            "aten::_addmm_activation": (1, 2)}


def _matmul_flops(name: str, shapes: Sequence[Any]) -> float:
    """2 M K N (times the batch) from a matmul's input shapes; 0 if they do not say."""
    if name not in _MATMULS or len(shapes) <= max(_MATMULS[name]):
        return 0.0
    a, b = (shapes[i] for i in _MATMULS[name])
    if not (isinstance(a, list) and isinstance(b, list) and len(a) == len(b) >= 2):
        return 0.0
    return 2.0 * math.prod(a) * b[-1]


def _bytes_estimate(name: str, shapes: Sequence[Any], dtypes: Sequence[str]) -> float:
    """Inputs read plus the output written: for matmuls its real size, for other ops the size of
    the largest input (exact for elementwise ops)."""
    sizes = []
    for shape, dtype in zip(shapes, dtypes):
        if isinstance(shape, (list, tuple)) and shape and all(isinstance(s, int) for s in shape):
            sizes.append(math.prod(shape) * _ITEMSIZE.get(dtype, 4))
        elif isinstance(shape, (list, tuple)) and not shape and dtype in _ITEMSIZE:
            sizes.append(_ITEMSIZE[dtype])   # a 0-d tensor
    out = max(sizes, default=0)
    if name == "aten::index_select" and len(shapes) >= 3 and shapes[0] and isinstance(shapes[2], list):
        # a lookup (an embedding): reads the index and the rows it picks, not the whole table
        row = math.prod(shapes[0][1:]) * _ITEMSIZE.get(dtypes[0], 4)
        picked = math.prod(shapes[2]) if shapes[2] else 1
        return float(picked * _ITEMSIZE.get(dtypes[2], 8) + 2 * picked * row)
    if name in _MATMULS and len(shapes) > max(_MATMULS[name]):
        a, b = (shapes[i] for i in _MATMULS[name])
        if isinstance(a, list) and isinstance(b, list) and len(a) == len(b) >= 2:
            out = math.prod(a[:-1]) * b[-1] * _ITEMSIZE.get(dtypes[_MATMULS[name][0]], 4)
    return float(sum(sizes) + out)


def _calls_a_mover(e: Any) -> bool:
    """Whether an op (a FunctionEvent) calls, at any depth, an op that is not a view or allocation."""
    return any((c.name.startswith("aten::") and c.name not in _NO_TRAFFIC) or _calls_a_mover(c)
               for c in e.cpu_children)


def events_from_profiler(prof: Any) -> list[Event]:
    """Turn a finished `torch.profiler.profile` into a list of `Event`s, sorted by start.

    FLOPs come from the profiler (`with_flops=True`: matmuls, convolutions,
    add and mul; fused matmul + activation from its shapes); bytes are
    estimated from the recorded input shapes (`record_shapes=True`) for ops
    that did the work themselves (FLOPs of their own, or no nested op that
    moves data): inputs read plus the output written (a
    matmul's from its shapes, any other op's the size of its largest input).
    Views and allocations move no bytes.
    """
    raw = list(prof.events())
    if not raw:
        return []
    t0 = min(e.time_range.start for e in raw)
    out = []
    for e in raw:
        start, dur = e.time_range.start - t0, e.time_range.elapsed_us()
        if getattr(e.device_type, "name", "CPU") != "CPU":
            out.append(Event(e.name, "kernel", start, dur, dur))
            continue
        depth, parent, in_data = 0, e.cpu_parent, False
        while parent is not None:
            depth += 1
            in_data |= parent.name.startswith(DATA_PREFIX)
            parent = parent.cpu_parent
        if in_data:
            continue
        if e.name.startswith(DATA_PREFIX):
            out.append(Event(e.name, "data", start, dur, dur, depth))
            continue
        is_op = e.name.startswith("aten::") and not e.is_user_annotation
        flops = float(e.flops or 0) or _matmul_flops(e.name, e.input_shapes or []) if is_op else 0.0
        nbytes = 0.0
        # an op that calls ops which move data is a wrapper (linear, relu -> clamp_min): the bytes
        # are theirs; an op with FLOPs of its own (addmm, which copies its bias) moves its own too
        if is_op and e.name not in _NO_TRAFFIC and (flops > 0 or not _calls_a_mover(e)):
            nbytes = _bytes_estimate(e.name, e.input_shapes or [], e.input_dtypes or [])
        out.append(Event(e.name, "op" if is_op else "region", start, dur, max(0.0, e.self_cpu_time_total),
                         depth, flops, nbytes))
    out.sort(key=lambda ev: (ev.start_us, ev.depth))
    return out


def profile_events(fn: Callable[[], Any], *, warmup: int = 1, trace_path: str | Path | None = None):
    """Run `fn()` `warmup` times, then once under `torch.profiler`; return `(events, prof)`.

    `events` is the list of `Event`s (see `events_from_profiler`), `prof` the
    torch profiler (for `prof.key_averages().table(...)`). With `trace_path`,
    the Chrome trace is written there (open it in https://ui.perfetto.dev or
    chrome://tracing). On a GPU, CUDA kernels are recorded too and the device
    is synchronised before the profile ends.
    """
    import torch
    from torch.profiler import ProfilerActivity, profile

    for _ in range(warmup):
        fn()
    cuda = torch.cuda.is_available()
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    if cuda:
        torch.cuda.synchronize()
    with profile(activities=activities, record_shapes=True, with_flops=True) as prof:
        fn()
        if cuda:
            torch.cuda.synchronize()
    if trace_path is not None:
        prof.export_chrome_trace(str(trace_path))
    return events_from_profiler(prof), prof


def measure_floor_us(calls: int = 50) -> float:
    """Median profiled self time of `x + 1` on one element: this machine's cost of an op that does no work."""
    import torch

    x = torch.ones(1)

    def tiny():
        for _ in range(calls):
            x + 1

    events, _ = profile_events(tiny)
    times = [e.self_us for e in events if e.name == "aten::add"]
    return float(statistics.median(times)) if times else 0.0


def plot_timeline(events: Sequence[Event], *, ax: Any = None, color: Callable[[Event], str] | None = None,
                  title: str | None = None, min_label_frac: float = 0.04):
    """Draw events as a flame chart: time on x, nesting depth downwards, one bar per event.

    Host events are drawn by depth; kernels on a row of their own below. Bars
    wider than `min_label_frac` of the span get their name. `color(event)`
    picks a colour (default: by kind). Returns the matplotlib Axes.
    """
    import matplotlib.pyplot as plt

    events = list(events)
    if ax is None:
        _, ax = plt.subplots(figsize=(10, 3.6))
    if not events:
        ax.set_title(title or "empty profile")
        return ax
    kind_colors = {"op": "tab:blue", "region": "tab:gray", "data": "tab:orange", "kernel": "tab:green"}
    color = color or (lambda ev: kind_colors.get(ev.kind, "tab:purple"))
    t0 = min(e.start_us for e in events)
    span = max(e.end_us for e in events) - t0 or 1.0
    host_rows = max([e.depth for e in events if e.kind != "kernel"], default=-1) + 1
    rows = [host_rows if e.kind == "kernel" else e.depth for e in events]
    ax.barh(rows, [e.duration_us / 1e3 for e in events], left=[(e.start_us - t0) / 1e3 for e in events],
            height=0.9, color=[color(e) for e in events], edgecolor="white", linewidth=0.3)
    for e, row in zip(events, rows):
        if e.duration_us >= min_label_frac * span:
            ax.text((e.start_us - t0 + e.duration_us / 2) / 1e3, row, e.name.replace("aten::", "")[:24],
                    ha="center", va="center", fontsize=7, clip_on=True)
    ax.set_ylim(host_rows + (0.6 if any(e.kind == "kernel" for e in events) else -0.4), -0.6)
    ax.set_yticks(range(host_rows + any(e.kind == "kernel" for e in events)))
    ax.set_xlim(0, span / 1e3)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("depth (callers above callees)")
    ax.set_title(title or "Flame chart of the profile")
    return ax


# ------------------------------------------------------------------ the machine's roofline, cached

def _cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "wcdl"


def machine_roofline(device: Any = None, *, cache: Path | None = None, refresh: bool = False):
    """This machine's measured roofline (fp32), measured once and kept in `~/.cache/wcdl/roofline.json`.

    Keyed by device name, thread count and torch version. A cache that cannot
    be read or written (a read-only home, a sandbox) only costs a new measurement.
    """
    import torch

    from .roofline import Roofline, device_name, measure_roofline

    dev = torch.device(device if device is not None else ("cuda" if torch.cuda.is_available() else "cpu"))
    path = Path(cache) if cache is not None else _cache_dir() / "roofline.json"
    key = f"{device_name(dev)} | torch {torch.__version__}"
    data: dict = {}
    with contextlib.suppress(Exception):
        data = json.loads(path.read_text())
    if not refresh and isinstance(data.get(key), dict):
        with contextlib.suppress(TypeError):
            return Roofline(**data[key])
    roof = measure_roofline(dev, repeat=5)
    data[key] = asdict(roof)
    with contextlib.suppress(Exception):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2) + "\n")
    return roof


# ------------------------------------------------------------------ timing variants in one run

def compare(fns: dict[str, Callable[[], Any]], *, rounds: int = 5, warmup: int = 1,
            timer: Callable[[], float] = time.perf_counter, sync: Callable[[], None] = lambda: None,
            settings: dict[str, Callable[[], Any]] | None = None,
            progress: bool = False) -> dict[str, list[float]]:
    """Time several callables in one run: `warmup` untimed rounds, then `rounds` interleaved rounds.

    Round r calls every fn once (in order), each timed alone, so a burst of
    load elsewhere on the machine hits one round of every variant instead of
    every repeat of one. `settings[name]()` is a context manager a variant
    runs in (another thread count): entered before its call, with one untimed
    call first, so switching costs nothing on the clock. Returns each name's
    list of seconds.
    """
    settings = settings or {}
    if rounds < 1:
        raise ValueError("rounds must be >= 1")
    times: dict[str, list[float]] = {name: [] for name in fns}
    it = range(warmup + rounds)
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(it, desc="what-ifs", leave=False)
    for r in it:
        for name, fn in fns.items():
            with settings[name]() if name in settings else contextlib.nullcontext():
                if name in settings:
                    fn()
                sync()
                start = timer()
                fn()
                sync()
                if r >= warmup:
                    times[name].append(timer() - start)
    return times


# ------------------------------------------------------------------ the audit

@dataclass
class OpRow:
    """One op kind of the audited forward pass."""

    name: str
    calls: int
    self_us: float
    overhead_us: float
    flops: float
    bytes: float
    regime: str            # where most of its time goes

    @property
    def intensity(self) -> float:
        return self.flops / self.bytes if self.bytes else (math.inf if self.flops else 0.0)


@dataclass
class WhatIf:
    """A variant of the forward pass, timed in the same run as the baseline."""

    name: str
    ratio: float | None    # baseline seconds per sample / variant's; > 1 is faster; None: not run
    note: str = ""
    seconds: list[float] = field(default_factory=list, repr=False)


@dataclass
class Audit:
    """What `audit()` found; `print(a)` or `a.table()` reads it, `a.plot()` draws it."""

    model: str
    device: str
    roofline: Any
    floor_us: float
    wall_us: float
    by_regime: dict[str, float]
    ops: list[OpRow]
    whatifs: list[WhatIf]
    baseline_seconds: list[float] = field(repr=False, default_factory=list)
    events: list[Event] = field(repr=False, default_factory=list)

    @property
    def overhead_share(self) -> float:
        return self.by_regime["overhead"] / self.wall_us if self.wall_us else 0.0

    @property
    def regime(self) -> str:
        """The regime that takes most of the time."""
        return max(REGIMES, key=lambda r: self.by_regime[r])

    def table(self, top: int = 12) -> str:
        r = self.roofline
        ridge = r.peak_flops / r.bandwidth
        lines = [
            f"audit of {self.model} on {self.device}",
            f"roofline ({r.name}): {r.peak_flops / 1e9:.3g} GFLOP/s, {r.bandwidth / 1e9:.3g} GB/s, "
            f"ridge {ridge:.3g} FLOP/B; an op that does no work costs {self.floor_us:.1f} us here",
            f"one forward pass, profiled: {self.wall_us / 1e3:.3g} ms; "
            + ", ".join(f"{k} {100 * v / self.wall_us:.0f}%" for k, v in self.by_regime.items())
            + f"  ->  {self.regime}-bound",
            "",
            f"{'op':<28}{'calls':>6}{'self ms':>9}{'share':>7}{'FLOP/B':>9}{'GFLOP/s':>9}  regime",
        ]
        for row in self.ops[:top]:
            inten = "-" if not row.flops else ("inf" if math.isinf(row.intensity) else f"{row.intensity:.3g}")
            rate = f"{row.flops / (row.self_us * 1e-6) / 1e9:.3g}" if row.flops and row.self_us else "-"
            lines.append(f"{row.name[:27]:<28}{row.calls:>6}{row.self_us / 1e3:>9.3f}"
                         f"{100 * row.self_us / self.wall_us:>6.1f}%{inten:>9}{rate:>9}  {row.regime}")
        if len(self.ops) > top:
            lines.append(f"... and {len(self.ops) - top} more op kinds")
        lines += ["", "what-ifs, measured in one interleaved run (speed per sample against the model as given):"]
        for w in self.whatifs:
            got = f"{w.ratio:.2f}x" if w.ratio is not None else "n/a"
            lines.append(f"  {w.name:<22}{got:>8}  {w.note}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()

    def as_dict(self) -> dict:
        return {"model": self.model, "device": self.device, "roofline": asdict(self.roofline),
                "floor_us": self.floor_us, "wall_us": self.wall_us, "by_regime": self.by_regime,
                "overhead_share": self.overhead_share, "regime": self.regime,
                "ops": [asdict(o) for o in self.ops],
                "whatifs": [{"name": w.name, "ratio": w.ratio, "note": w.note} for w in self.whatifs]}

    def plot(self):
        """Flame chart of the forward pass (coloured by regime), the ops on the roofline, the what-ifs."""
        import matplotlib.pyplot as plt

        from .roofline import plot_roofline

        fig = plt.figure(figsize=(12, 7.5))
        grid = fig.add_gridspec(2, 2, height_ratios=[1, 1.15])
        regime_of = {o.name: o.regime for o in self.ops}
        colors = {"compute": "tab:red", "memory": "tab:blue", "overhead": "tab:gray"}
        plot_timeline(self.events, ax=fig.add_subplot(grid[0, :]),
                      color=lambda e: colors.get(regime_of.get(e.name, "overhead"), "tab:gray"),
                      title=f"{self.model}: one forward pass (red compute, blue memory, gray overhead); "
                            f"overhead {100 * self.overhead_share:.0f}%")
        points = [(o.name.replace("aten::", ""), o.intensity, o.flops / (o.self_us * 1e-6))
                  for o in self.ops if o.flops and o.bytes and o.self_us][:8]
        plot_roofline([self.roofline], points, ax=fig.add_subplot(grid[1, 0]), title="ops on this machine's roofline")
        ax = fig.add_subplot(grid[1, 1])
        done = [w for w in self.whatifs if w.ratio is not None]
        ax.barh([w.name for w in done], [w.ratio for w in done],
                color=["tab:green" if w.ratio >= 1 else "tab:red" for w in done])
        ax.axvline(1.0, color="k", lw=1)
        ax.invert_yaxis()
        ax.set_xlabel("speed per sample vs the model as given (x)")
        ax.set_title("what-ifs (one run)")
        fig.tight_layout()
        return fig


def _as_args(example_inputs: Any) -> tuple:
    import torch

    args = example_inputs if isinstance(example_inputs, tuple) else (example_inputs,)
    if not args or not all(isinstance(a, torch.Tensor) for a in args):
        raise TypeError("example_inputs must be a tensor or a tuple of tensors (the forward's positional "
                        f"arguments), got {type(example_inputs).__name__}")
    return args


def split_time(events: Sequence[Event], floor_us: float, ridge: float) -> tuple[dict[str, float], list[OpRow], float]:
    """Group a host profile by op kind and regime: `(microseconds by regime, rows, wall)`.

    Each op pays up to `floor_us` of its self time as overhead (dispatch,
    allocation), an op with neither FLOPs nor bytes all of it; the rest is work, compute-bound where its intensity reaches
    the ridge point, memory-bound below it. Host time outside every op (gaps
    between top-level events, regions' self time) is overhead too.
    """
    host = [e for e in events if e.kind in ("op", "region", "data")]      # what ran on the host
    if not host:
        return {r: 0.0 for r in REGIMES}, [], 0.0
    t0, t1 = min(e.start_us for e in host), max(e.end_us for e in host)
    covered, reach = 0.0, t0
    for e in sorted((e for e in host if e.depth == 0), key=lambda e: e.start_us):
        covered += max(0.0, e.end_us - max(reach, e.start_us))
        reach = max(reach, e.end_us)
    totals = {r: 0.0 for r in REGIMES}
    totals["overhead"] = (t1 - t0) - covered
    rows: dict[str, dict] = {}
    for e in host:
        if e.kind != "op":
            totals["overhead"] += e.self_us
            continue
        # an op that moves no data and does no arithmetic (a view, a wrapper that only calls
        # other ops) is all overhead; one that works pays up to the floor for being called
        over = min(e.self_us, floor_us) if (e.flops or e.bytes) else e.self_us
        work = e.self_us - over
        kind = "compute" if e.flops > 0 and e.flops >= ridge * e.bytes else "memory"
        totals["overhead"] += over
        totals[kind] += work
        row = rows.setdefault(e.name, {"calls": 0, "self": 0.0, "over": 0.0, "flops": 0.0, "bytes": 0.0,
                                       "compute": 0.0, "memory": 0.0})
        row["calls"] += 1
        row["self"] += e.self_us
        row["over"] += over
        row["flops"] += e.flops
        row["bytes"] += e.bytes
        row[kind] += work
    out = [OpRow(name, r["calls"], r["self"], r["over"], r["flops"], r["bytes"],
                 max(REGIMES, key=lambda k: r["over"] if k == "overhead" else r[k]))
           for name, r in rows.items()]
    out.sort(key=lambda o: (-o.self_us, o.name))
    return totals, out, t1 - t0


def audit(model: Any, example_inputs: Any, *, whatifs: Sequence[str] = ("batch", "threads", "int8", "compile"),
          batch: int = 8, rounds: int = 5, passes: int = 5, roofline: Any = None, trace_path: str | Path | None = None,
          timer: Callable[[], float] = time.perf_counter, progress: bool = False) -> Audit:
    """Profile one forward pass of `model(*example_inputs)` and say where its time goes.

    `example_inputs`: a tensor or a tuple of tensors (positional arguments;
    the first dimension is the batch). Runs under `torch.no_grad()`, in the
    mode the model is in (call `model.eval()` first for inference), and
    leaves the model as it was (what-ifs work on copies). `whatifs` picks
    from "batch" (the inputs repeated `batch` times along dim 0), "threads"
    (all cores if torch uses one thread, else one), "int8"
    (`quantize_dynamic` of the Linear layers) and "compile" (`torch.compile`,
    only where a C compiler exists); each is timed interleaved with the
    baseline in one run of `rounds` rounds and reported as a ratio of speed
    per sample. `roofline`: a `wcdl.roofline.Roofline` (default: this
    machine's, measured once and cached). The profile shown is the fastest
    of `passes` profiled passes (the least disturbed by other programs);
    `trace_path` gets its Chrome trace.
    """
    import torch

    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    args = _as_args(example_inputs)
    unknown = sorted(set(whatifs) - {"batch", "threads", "int8", "compile"})
    if unknown:
        raise ValueError(f"unknown what-ifs {unknown}; choose from batch, threads, int8, compile")
    if batch < 2:
        raise ValueError("batch must be at least 2")
    device = next((p.device for p in model.parameters()), args[0].device)
    roof = roofline if roofline is not None else machine_roofline(device)
    floor = measure_floor_us()

    def forward(m=model, a=args):
        with torch.no_grad():
            return m(*a)

    # profile a few passes and keep the fastest: on a busy machine a pass can lose the CPU for
    # milliseconds inside one op, which would then look like the bottleneck; the least disturbed
    # pass shows the model's own costs (the what-ifs below use medians: they compare speeds)
    ridge = roof.peak_flops / roof.bandwidth
    runs = []
    for _ in range(max(1, passes)):
        events, prof = profile_events(forward, warmup=1 if not runs else 0)
        runs.append((split_time(events, floor, ridge), events, prof))
    (by_regime, rows, wall), events, prof = min(runs, key=lambda run: run[0][2])
    if trace_path is not None:
        prof.export_chrome_trace(str(trace_path))

    n = args[0].shape[0] if args[0].dim() else 1
    fns: dict[str, Callable[[], Any]] = {"baseline": forward}
    per_sample = {"baseline": n}
    notes: dict[str, str] = {}
    skipped: dict[str, str] = {}
    settings: dict[str, Callable[[], Any]] = {}
    threads = torch.get_num_threads()
    if "batch" in whatifs:
        if args[0].dim() == 0:
            skipped["batch"] = "inputs have no batch dimension"
        else:
            big = tuple(torch.cat([a] * batch) if a.dim() else a for a in args)
            fns[f"batch x{batch}"] = lambda: forward(model, big)
            per_sample[f"batch x{batch}"] = n * batch
            notes[f"batch x{batch}"] = f"{n * batch} samples per call instead of {n}"
    if "threads" in whatifs:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        other = cores if threads == 1 else 1
        name = f"{other} thread{'s' if other > 1 else ''}"
        if other == threads:
            skipped[name] = "this machine has one core"
        else:
            @contextlib.contextmanager
            def with_threads(k=other):
                torch.set_num_threads(k)
                try:
                    yield
                finally:
                    torch.set_num_threads(threads)
            fns[name], per_sample[name], settings[name] = forward, n, with_threads
            notes[name] = f"torch uses {threads} now"
    if "int8" in whatifs:
        if not any(isinstance(m, torch.nn.Linear) for m in model.modules()) or device.type != "cpu":
            skipped["int8 dynamic"] = "no nn.Linear layers" if device.type == "cpu" else "CPU only"
        else:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    qmodel = torch.ao.quantization.quantize_dynamic(copy.deepcopy(model), {torch.nn.Linear},
                                                                    dtype=torch.qint8)
                err = _max_rel_diff(forward(qmodel), forward())
                fns["int8 dynamic"], per_sample["int8 dynamic"] = (lambda: forward(qmodel)), n
                notes["int8 dynamic"] = "Linear weights in int8" + (
                    f"; output max rel. diff {err:.2g}" if err is not None else "")
            except Exception as e:  # a model whose code reads the float weights: say so, keep the audit
                skipped["int8 dynamic"] = _failed(e)
    if "compile" in whatifs:
        if not (shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")):
            skipped["torch.compile"] = "no C compiler on this machine (inductor needs one)"
        else:
            cmodel = torch.compile(copy.deepcopy(model))
            start = time.perf_counter()
            try:
                forward(cmodel)
                fns["torch.compile"], per_sample["torch.compile"] = (lambda: forward(cmodel)), n
                notes["torch.compile"] = f"compiled in {time.perf_counter() - start:.1f} s (first call)"
            except Exception as e:  # a model inductor cannot compile: say so, keep the audit
                skipped["torch.compile"] = _failed(e)
    # the thread-count variant runs last in each round: the pool it wakes may keep spinning a while
    fns = dict(sorted(fns.items(), key=lambda kv: kv[0] in settings))
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    times = compare(fns, rounds=rounds, timer=timer, sync=sync, settings=settings, progress=progress)
    base = statistics.median(times["baseline"]) / per_sample["baseline"]
    results = []
    for name in fns:
        if name == "baseline":
            continue
        t = statistics.median(times[name]) / per_sample[name]
        results.append(WhatIf(name, base / t if t > 0 else None, notes.get(name, ""), times[name]))
    results += [WhatIf(name, None, why) for name, why in skipped.items()]
    return Audit(type(model).__name__, _device_label(device), roof, floor, wall, by_regime, rows, results,
                 times["baseline"], events)


def _failed(e: Exception) -> str:
    first = (str(e).splitlines() or [""])[0]
    return f"failed: {type(e).__name__}: {first[:80]}"


def _device_label(device: Any) -> str:
    from .roofline import device_name

    return f"{device.type} ({device_name(device)})"


def _max_rel_diff(a: Any, b: Any) -> float | None:
    import torch

    a = a[0] if isinstance(a, (tuple, list)) else getattr(a, "last_hidden_state", a)
    b = b[0] if isinstance(b, (tuple, list)) else getattr(b, "last_hidden_state", b)
    if not (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)) or a.shape != b.shape:
        return None
    return float((a.float() - b.float()).abs().max() / b.float().abs().max().clamp_min(1e-12))


# ------------------------------------------------------------------ the command

def add_arguments(p: argparse.ArgumentParser) -> None:
    """The arguments of `wcdl audit`."""
    p.add_argument("factory", help="MODULE:NAME or path/file.py:NAME of an nn.Module, a class or a function "
                                   "returning one (called with --kwargs)")
    p.add_argument("--shape", required=True, help="input shape, e.g. 8,128 (first dimension: batch)")
    p.add_argument("--dtype", default="float32", help="input dtype: float32 (randn) or int64 (token ids)")
    p.add_argument("--high", type=int, default=1000, help="int64 inputs are drawn from [0, HIGH) (default 1000)")
    p.add_argument("--kwargs", default="{}", help='JSON keyword arguments of the factory, e.g. \'{"d_model": 256}\'')
    p.add_argument("--whatif", action="append", choices=["batch", "threads", "int8", "compile"],
                   help="what-ifs to measure (repeatable; default: all)")
    p.add_argument("--batch", type=int, default=8, help="how many times the batch what-if repeats the input")
    p.add_argument("--rounds", type=int, default=5, help="interleaved timing rounds (default 5)")
    p.add_argument("--plot", default=None, help="write the picture to this file (png, svg, pdf)")
    p.add_argument("--trace", default=None, help="write the Chrome trace of the profiled pass to this file")
    p.add_argument("--json", action="store_true", help="print the results as JSON")


def load_factory(spec: str) -> Any:
    """`MODULE:NAME` or `path/file.py:NAME` -> the object it names."""
    target, sep, attr = spec.rpartition(":")
    if not sep or not target or not attr:
        raise ValueError(f"expected MODULE:NAME or FILE.py:NAME, got {spec!r}")
    if target.endswith(".py"):
        path = Path(target)
        if not path.is_file():
            raise ValueError(f"no such file: {target}")
        module_spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
    else:
        module = importlib.import_module(target)
    obj = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ValueError(f"{target} has no attribute {attr!r}")
        obj = getattr(obj, part)
    return obj


def main(args: argparse.Namespace) -> int:
    """`wcdl audit`: build the model, audit it, print the table (or JSON); 0 on success, 1 on bad input."""
    import torch

    try:
        kwargs = json.loads(args.kwargs)
        if not isinstance(kwargs, dict):
            raise ValueError("--kwargs must be a JSON object")
        shape = tuple(int(s) for s in args.shape.replace("x", ",").split(",") if s.strip())
        if not shape or min(shape) < 1:
            raise ValueError(f"--shape needs positive sizes, got {args.shape!r}")
        obj = load_factory(args.factory)
        model = obj if isinstance(obj, torch.nn.Module) else obj(**kwargs)
        if not isinstance(model, torch.nn.Module):
            raise ValueError(f"{args.factory} gave a {type(model).__name__}, not a torch.nn.Module")
        if args.dtype in ("int64", "long"):
            x = torch.randint(0, args.high, shape)
        elif args.dtype in ("float32", "float"):
            x = torch.randn(shape)
        else:
            raise ValueError(f"--dtype must be float32 or int64, got {args.dtype!r}")
    except (ValueError, ImportError, TypeError, json.JSONDecodeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    torch.manual_seed(0)
    model.eval()
    result = audit(model, x, whatifs=args.whatif or ("batch", "threads", "int8", "compile"),
                   batch=args.batch, rounds=args.rounds, trace_path=args.trace)
    print(json.dumps(result.as_dict(), indent=2, default=float) if args.json else result.table())
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        result.plot().savefig(args.plot, dpi=110)
        print(f"picture written to {args.plot}", file=sys.stderr)
    if args.trace:
        print(f"Chrome trace written to {args.trace} (open it in https://ui.perfetto.dev)", file=sys.stderr)
    return 0
