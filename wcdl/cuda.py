"""numba CUDA kernels on any laptop: a checking simulator, counted memory traffic.

Module 03 writes GPU kernels with `numba.cuda`. Without a GPU they run in
numba's CUDA simulator (`NUMBA_ENABLE_CUDASIM=1`, set before numba is
imported); with a GPU the same code runs for real. This module adds what a
learner (and the grader) needs on top:

* `gpu_present()`: is there an NVIDIA GPU? Answers without importing numba,
  so a notebook can decide on the simulator first.
* `setup()`: call once after `from numba import cuda`. In simulator mode it
  routes every kernel launch through the checking simulator below, so a
  mistake is reported as the GPU programmer would want to hear it.
* `trace()`: a context manager that runs every kernel launched inside it in
  the checking simulator (also on a machine with a GPU) and records each
  launch: grid, block, and for every array argument the global-memory reads
  and writes per thread and per element (the way GPU-Puzzles shows counts);
  for every shared array the same counts (per thread of the grid, per element
  summed over blocks), and the `syncthreads()` phases per block. Efficiency
  and algorithms (a tree is log2(n) barrier-separated steps of O(1) work per
  thread, a serial loop is not) are graded with these counts, never a clock.
* The checking simulator runs the threads of a block one after another, up
  to each `cuda.syncthreads()`, so results are deterministic. It raises a
  `KernelError` that names the kernel line, the block and thread, the array
  and the index for: out-of-bounds and negative indices, reads of shared
  memory no thread has written, data races (two threads touching the same
  element, at least one writing, with no `syncthreads()` between them, or
  from different blocks without an atomic), `syncthreads()` calls that not
  all threads reach, and grids of zero or fractional size.
* GPU measurement helpers for the notebooks and `bench_gpu.py`: timing with
  device synchronisation, device copy bandwidth, and reading the committed
  `gpu_results.json`.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import linecache
import math
import os
import re
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from .checks import CheckFailed

SIM_ENV = "NUMBA_ENABLE_CUDASIM"
FORCE_SIM_ENV = "WCDL_FORCE_CUDASIM"   # "1": use the simulator even where a GPU is present
MAX_THREADS_PER_BLOCK = 1024


class KernelError(CheckFailed):
    """A kernel did something a real GPU would not forgive (or would hide)."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message + (f"\n  hint: {hint}" if hint else ""))


# ====================================================================== where kernels run

def gpu_present() -> bool:
    """True when an NVIDIA GPU answers `nvidia-smi -L`. Never imports numba.

    `WCDL_FORCE_CUDASIM=1` makes it answer False (to try the simulator on a
    GPU machine).
    """
    if os.environ.get(FORCE_SIM_ENV, "") not in ("", "0"):
        return False
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return False
    try:
        out = subprocess.run([exe, "-L"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0 and "GPU" in out.stdout


def simulating() -> bool:
    """True when `numba.cuda` is numba's CUDA simulator (imports numba)."""
    from numba import config
    return bool(config.ENABLE_CUDASIM)


def setup() -> str:
    """Install the checking simulator (simulator mode only); say where kernels run."""
    from numba import cuda

    if simulating():
        _install_simulator_hook()
        return ("kernels run in numba's CUDA simulator on the CPU (no GPU in use): the threads of a block run "
                "one after another, so keep sizes tiny. Out-of-bounds indices, data races and missing "
                "syncthreads() are reported with the thread and the index.")
    try:
        name = cuda.get_current_device().name
        name = name.decode() if isinstance(name, bytes) else name
    except Exception as e:  # a driver problem: say so, do not hide it
        return f"a GPU was found but numba could not open it ({type(e).__name__}: {e})"
    return (f"kernels run on the GPU: {name}. Graded checks still run your kernels in the checking "
            f"simulator (wcdl.cuda.trace) to count memory reads and catch races.")


# ====================================================================== records

@dataclass
class ArrayTraffic:
    """Global-memory traffic of one array argument during one launch."""

    name: str
    shape: tuple
    dtype: str
    reads_per_thread: np.ndarray = field(repr=False)
    writes_per_thread: np.ndarray = field(repr=False)
    atomics_per_thread: np.ndarray = field(repr=False)
    reads_per_element: np.ndarray = field(repr=False)
    writes_per_element: np.ndarray = field(repr=False)

    @property
    def reads(self) -> int:
        return int(self.reads_per_thread.sum())

    @property
    def writes(self) -> int:
        return int(self.writes_per_thread.sum())

    @property
    def atomics(self) -> int:
        return int(self.atomics_per_thread.sum())

    @property
    def max_reads_per_thread(self) -> int:
        return int(self.reads_per_thread.max()) if self.reads_per_thread.size else 0

    @property
    def max_reads_per_element(self) -> int:
        return int(self.reads_per_element.max()) if self.reads_per_element.size else 0

    @property
    def max_writes_per_element(self) -> int:
        return int(self.writes_per_element.max()) if self.writes_per_element.size else 0


@dataclass
class Launch:
    """One kernel launch seen by the checking simulator."""

    kernel: str
    grid: tuple
    block: tuple
    arrays: dict[str, ArrayTraffic]
    shared: dict[str, tuple]          # shared-memory arrays: name -> shape
    barriers: int                     # syncthreads() phases per block (the most any block had)
    ndim: int = 1                     # dimensions of the launch as written (1, 2 or 3)
    # traffic of each shared array: per thread of the grid (global thread id), per element summed over blocks
    shared_arrays: dict[str, ArrayTraffic] = field(default_factory=dict)
    min_barriers: int | None = None   # the fewest syncthreads() phases any block had

    @property
    def grid_str(self) -> str:
        return _dims(self.grid, self.ndim)

    @property
    def block_str(self) -> str:
        return _dims(self.block, self.ndim)

    @property
    def blocks(self) -> int:
        return int(np.prod(self.grid))

    @property
    def threads_per_block(self) -> int:
        return int(np.prod(self.block))

    @property
    def threads(self) -> int:
        return self.blocks * self.threads_per_block

    def array(self, key: str | int) -> ArrayTraffic:
        """An array argument by parameter name or position."""
        if isinstance(key, int):
            return list(self.arrays.values())[key]
        if key not in self.arrays:
            raise KernelError(f"{self.kernel} has no array parameter named {key!r} "
                              f"(its array parameters: {', '.join(self.arrays) or 'none'}).",
                              "keep the kernel's parameter names as given in the notebook.")
        return self.arrays[key]

    @property
    def reads(self) -> int:
        return sum(a.reads for a in self.arrays.values())

    @property
    def writes(self) -> int:
        return sum(a.writes for a in self.arrays.values())

    def reads_per_thread(self) -> np.ndarray:
        return sum((a.reads_per_thread for a in self.arrays.values()), np.zeros(self.threads, np.int64))

    def shared_reads_per_thread(self) -> np.ndarray:
        """Reads of shared memory (all shared arrays) by each thread of the grid."""
        return sum((a.reads_per_thread for a in self.shared_arrays.values()), np.zeros(self.threads, np.int64))

    @property
    def max_shared_reads_per_thread(self) -> int:
        r = self.shared_reads_per_thread()
        return int(r.max()) if r.size else 0

    @property
    def atomics(self) -> int:
        """Atomic operations on global and shared arrays together."""
        return sum(a.atomics for a in [*self.arrays.values(), *self.shared_arrays.values()])

    def summary(self) -> str:
        lines = [f"{self.kernel}[grid={self.grid_str}, block={self.block_str}]: "
                 f"{self.blocks} block(s) x {self.threads_per_block} thread(s) = {self.threads} threads"
                 + (f", {self.barriers} syncthreads() per block" if self.barriers else "")]
        width = max([len(n) for n in self.arrays] + [5])
        lines.append(f"  {'array'.ljust(width)}  {'shape':>12}  {'reads':>8}  {'writes':>7}  "
                     f"{'atomics':>7}  {'max reads/thread':>16}  {'max reads/element':>17}")
        for a in self.arrays.values():
            lines.append(f"  {a.name.ljust(width)}  {str(a.shape):>12}  {a.reads:>8}  {a.writes:>7}  "
                         f"{a.atomics:>7}  {a.max_reads_per_thread:>16}  {a.max_reads_per_element:>17}")
        if self.shared:
            lines.append("  shared memory per block: " + ", ".join(f"{k} {v}" for k, v in self.shared.items()))
        if self.shared_arrays:
            lines.append("  shared reads/writes: " + ", ".join(
                f"{a.name} {a.reads}/{a.writes} (max {a.max_reads_per_thread} reads by one thread)"
                for a in self.shared_arrays.values()))
        return "\n".join(lines)


class Trace:
    """The launches recorded inside one `with trace() as t:` block."""

    def __init__(self) -> None:
        self.launches: list[Launch] = []

    def __len__(self) -> int:
        return len(self.launches)

    def __getitem__(self, i: int) -> Launch:
        return self.launches[i]

    @property
    def last(self) -> Launch:
        if not self.launches:
            raise KernelError("no kernel was launched: did your function call kernel[blocks, threads](...)?")
        return self.launches[-1]

    def summary(self) -> str:
        if not self.launches:
            return "no kernel launches"
        return "\n".join(f"launch {i}: " + l.summary() for i, l in enumerate(self.launches))


# ====================================================================== the checking simulator

def _dims(d: tuple, ndim: int = 1) -> str:
    d = tuple(d)
    while len(d) > max(ndim, 1) and d[-1] == 1:
        d = d[:-1]
    return str(d[0]) if len(d) == 1 else str(d)


class _Dim3:
    __slots__ = ("x", "y", "z")

    def __init__(self, x: int, y: int = 1, z: int = 1) -> None:
        self.x, self.y, self.z = x, y, z

    def __iter__(self):
        yield self.x
        yield self.y
        yield self.z

    def __repr__(self) -> str:
        return f"Dim3({self.x}, {self.y}, {self.z})"


class _Abort(BaseException):
    """Stops the other threads of a block after one of them failed."""


def _normalize_dims(value: Any, what: str, kernel: str) -> tuple[int, int, int]:
    vals = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    if not 1 <= len(vals) <= 3:
        raise KernelError(f"{kernel}: the {what} must have 1 to 3 dimensions, got {value!r}.")
    out = []
    for v in vals:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
            hint = ("use integer division: blocks = (n + threads - 1) // threads"
                    if isinstance(v, (float, np.floating)) else None)
            raise KernelError(f"{kernel}: the {what} must be whole numbers, got {value!r} "
                              f"({type(v).__name__}).", hint)
        if v < 1:
            hint = ("n // threads is 0 when n < threads: round up with (n + threads - 1) // threads"
                    if what == "grid" else None)
            raise KernelError(f"{kernel}: the {what} has a dimension of size {int(v)} in {value!r}; "
                              "a real GPU refuses to launch that (every dimension must be >= 1).", hint)
        out.append(int(v))
    out += [1] * (3 - len(out))
    return out[0], out[1], out[2]


class _Ctx:
    """One CUDA thread of a block (reused for the same thread index of every block)."""

    def __init__(self, engine: "_Engine", tid: int, tidx: tuple[int, int, int]) -> None:
        self.engine = engine
        self.tid = tid
        self.threadIdx = _Dim3(*tidx)
        self.blockIdx = _Dim3(0)
        self.bid = 0
        self.gid = 0
        self.epoch = 0
        self.site: int | None = None

    def syncthreads(self, site: int) -> None:
        raise KernelError("cuda.syncthreads() was reached in a way the course simulator did not expect "
                          "(from a device function?). Call it directly in the kernel's body.")


class _Thread(_Ctx, threading.Thread):
    """A CUDA thread run by a real Python thread (fallback for unusual syncthreads() calls)."""

    def __init__(self, engine: "_Engine", tid: int, tidx: tuple[int, int, int]) -> None:
        _Ctx.__init__(self, engine, tid, tidx)
        threading.Thread.__init__(self, daemon=True, name=f"cuda-thread-{tid}")
        self.state = "idle"
        self.exc: BaseException | None = None
        self.go = threading.Semaphore(0)

    def run(self) -> None:
        eng = self.engine
        while True:
            self.go.acquire()
            if eng.job is None:
                return
            try:
                eng.job()
                self.state = "done"
            except _Abort:
                self.state = "aborted"
            except BaseException as e:  # reported by the scheduler, in the main thread
                self.state, self.exc = "error", e
            eng.back.release()

    def syncthreads(self, site: int) -> None:
        eng = self.engine
        self.state, self.site = "barrier", site
        eng.back.release()
        self.go.acquire()
        if eng.aborting:
            raise _Abort()
        self.epoch += 1


_current: _Ctx | None = None


def _me() -> _Ctx:
    if _current is None:
        raise KernelError("cuda.threadIdx, cuda.grid and friends only exist inside a running kernel.")
    return _current


def _caller_line(depth: int = 2) -> tuple[str, int, str, str]:
    """(filename, line number, function name, source text) of a kernel frame."""
    f = sys._getframe(depth)
    here = __file__
    while f is not None and f.f_code.co_filename == here:
        f = f.f_back
    if f is None:  # pragma: no cover
        return ("?", 0, "?", "")
    text = linecache.getline(f.f_code.co_filename, f.f_lineno, f.f_globals).strip()
    return f.f_code.co_filename, f.f_lineno, f.f_code.co_name, text


class _Tracked:
    """Bookkeeping for one array (a global argument or a block's shared array)."""

    def __init__(self, engine: "_Engine", name: str, data: np.ndarray, shared: bool) -> None:
        self.engine, self.name, self.data, self.shared = engine, name, data, shared
        n_threads = engine.threads_per_block if shared else engine.n_threads
        # plain lists: incrementing them is several times faster than numpy scalars
        self.reads = [0] * n_threads
        self.writes = [0] * n_threads
        self.atomics = [0] * n_threads
        self.elem_reads = [0] * data.size
        self.elem_writes = [0] * data.size
        self.flat = data.reshape(-1) if data.flags.c_contiguous else data.flat
        self.last_write: dict[int, tuple] = {}    # flat -> (gid, bid, epoch, atomic)
        self.readers: dict[int, dict] = {}        # flat -> {gid: (bid, epoch)}
        self.written = np.zeros(data.size, bool) if shared else None
        self.strides = [int(np.prod(data.shape[d + 1:])) for d in range(data.ndim)]

    def traffic(self) -> ArrayTraffic:
        shape = self.data.shape
        return ArrayTraffic(self.name, tuple(shape), str(self.data.dtype), np.array(self.reads, np.int64),
                            np.array(self.writes, np.int64), np.array(self.atomics, np.int64),
                            np.array(self.elem_reads, np.int64).reshape(shape),
                            np.array(self.elem_writes, np.int64).reshape(shape))


class TracedArray:
    """What a kernel sees instead of an array in the checking simulator."""

    __slots__ = ("_t", "_map", "shape", "ndim", "size", "dtype")

    def __init__(self, tracked: _Tracked, index_map: np.ndarray | None = None) -> None:
        self._t = tracked
        self._map = index_map
        shape = tracked.data.shape if index_map is None else index_map.shape
        self.shape = tuple(int(s) for s in shape)
        self.ndim = len(self.shape)
        self.size = int(np.prod(self.shape)) if self.shape else 1
        self.dtype = tracked.data.dtype

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        kind = "shared" if self._t.shared else "global"
        return f"<{kind} array {self._t.name} shape={self.shape} dtype={self.dtype}>"

    # -- indexing
    def _describe_access(self, what: str, idx: Any) -> str:
        shown = idx if not (isinstance(idx, tuple) and len(idx) == 1) else idx[0]
        return f"{what} {self._t.name}[{_fmt_index(shown)}]"

    def _locate(self, idx: Any, what: str) -> int | TracedArray:
        """Flat index into the base array, or a view for partial indexing."""
        if self._map is None:   # fast paths: in-bounds Python ints on a whole array
            if type(idx) is int:
                if self.ndim == 1 and 0 <= idx < self.shape[0]:
                    return idx
            elif type(idx) is tuple and len(idx) == 2 and self.ndim == 2:
                i, j = idx
                if (type(i) is int and type(j) is int and 0 <= i < self.shape[0]
                        and 0 <= j < self.shape[1]):
                    return i * self.shape[1] + j
        key = idx if isinstance(idx, tuple) else (idx,)
        ints = []
        for d, k in enumerate(key):
            if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)):
                if isinstance(k, slice) and d < self.ndim:
                    return self._view(key)
                raise self._error(f"{self._describe_access(what, idx)}: index {k!r} is a "
                                  f"{type(k).__name__}, not an integer.",
                                  "indices must be whole numbers: use // for division, int() to convert.")
            ints.append(int(k))
        if len(ints) > self.ndim:
            raise self._error(f"{self._describe_access(what, idx)}: {len(ints)} indices for an array with "
                              f"{self.ndim} dimension(s) (shape {self.shape}).")
        for d, i in enumerate(ints):
            if i < 0 or i >= self.shape[d]:
                raise self._oob(what, idx, d, i)
        if len(ints) < self.ndim:
            return self._view(tuple(ints))
        if self._map is not None:
            return int(self._map[tuple(ints)])
        flat = 0
        for i, s in zip(ints, self._t.strides):
            flat += i * s
        return flat

    def _view(self, key: tuple) -> "TracedArray":
        base = self._map if self._map is not None else np.arange(self._t.data.size).reshape(self._t.data.shape)
        try:
            sub = base[key]
        except IndexError as e:
            raise self._error(f"slicing {self._t.name}[{_fmt_index(key)}] failed: {e}")
        return TracedArray(self._t, np.asarray(sub))

    def _oob(self, what: str, idx: Any, dim: int, i: int) -> KernelError:
        t = self._t
        kind = "shared array" if t.shared else "array"
        where = f"axis {dim} of " if self.ndim > 1 else ""
        if i < 0:
            msg = (f"{self._describe_access(what, idx)}: negative index {i} on {where}{kind} "
                   f"{t.name} (shape {self.shape}).")
            hint = ("numba would silently wrap a negative index around to the end of the array, which in a "
                    "kernel is almost always a missing guard; the course simulator stops here instead.")
        else:
            msg = (f"{self._describe_access(what, idx)}: index {i} is out of bounds for {where}{kind} "
                   f"{t.name} with shape {self.shape} (valid: 0..{self.shape[dim] - 1}).")
            hint = (f"the grid has {t.engine.n_threads} threads; those past the end of the data must do "
                    f"nothing: guard the access, e.g. `if i < {t.name}.shape[{dim}]:`."
                    if not t.shared else "check the size of the shared array and the index arithmetic.")
        return self._error(msg, hint)

    def _error(self, msg: str, hint: str | None = None) -> KernelError:
        return self._t.engine.error(msg, hint)

    # -- race detection
    def _race(self, flat: int, kind: str, me: _Thread, other_gid: int, other_is_write: bool) -> KernelError:
        t, eng = self._t, self._t.engine
        shape = t.data.shape
        pos = np.unravel_index(flat, shape) if len(shape) > 1 else (flat,)
        elem = f"{t.name}[{_fmt_index(tuple(int(p) for p in pos))}]"
        other = eng.thread_name(other_gid, shared=t.shared)
        mine = eng.thread_name(me.tid if t.shared else me.gid, shared=t.shared)
        first = "wrote" if other_is_write else "read"
        if t.shared:
            msg = (f"data race on shared array {elem} (block {_fmt_idx(tuple(me.blockIdx), eng.grid)}): {other} {first} it "
                   f"and {mine} {kind} it, with no cuda.syncthreads() between the two.")
            hint = ("threads of a block run in any order: put cuda.syncthreads() between writing shared memory "
                    "and reading what other threads wrote (and before overwriting what they still read).")
        else:
            msg = (f"data race on {elem}: {other} {first} it and {mine} {kind} it, and nothing orders the two "
                   f"(different blocks, or no cuda.syncthreads() between them).")
            hint = ("when many threads add into the same element use cuda.atomic.add(array, index, value); "
                    "plain `+=` loses updates on a real GPU.")
        return eng.error(msg, hint)

    def _check_read(self, flat: int, me: _Thread) -> None:
        t = self._t
        w = t.last_write.get(flat)
        me_id = me.tid if t.shared else me.gid
        if w is not None and w[0] != me_id and (w[1] != me.bid or w[2] == me.epoch):
            raise self._race(flat, "read", me, w[0], True)
        r = t.readers.get(flat)
        if r is None:
            t.readers[flat] = {me_id: (me.bid, me.epoch)}
        else:
            r[me_id] = (me.bid, me.epoch)

    def _check_write(self, flat: int, me: _Thread, atomic: bool) -> None:
        t = self._t
        me_id = me.tid if t.shared else me.gid
        w = t.last_write.get(flat)
        if (w is not None and w[0] != me_id and (w[1] != me.bid or w[2] == me.epoch)
                and not (atomic and w[3])):
            raise self._race(flat, "atomically updated" if atomic else "wrote", me, w[0], True)
        r = t.readers.get(flat)
        if r:
            for gid, (bid, epoch) in r.items():
                if gid != me_id and (bid != me.bid or epoch == me.epoch):
                    raise self._race(flat, "atomically updated" if atomic else "wrote", me, gid, False)
        if w is None or w[0] != me_id or w[2] != me.epoch or w[3] != atomic:
            t.last_write[flat] = (me_id, me.bid, me.epoch, atomic)

    # -- element access
    def __getitem__(self, idx: Any) -> Any:
        flat = self._locate(idx, "read")
        if isinstance(flat, TracedArray):
            return flat
        me, t = _me(), self._t
        if t.shared and not t.written[flat]:
            raise self._error(f"{self._describe_access('read', idx)}: no thread of this block has written "
                              f"this element of shared array {t.name} yet; its content is garbage.",
                              "shared memory starts uninitialised in every block. If another thread "
                              "writes this element, a cuda.syncthreads() must come between its write "
                              "and this read; elements nobody loads (padding) must be set, e.g. to 0.")
        self._check_read(flat, me)
        t.reads[me.tid if t.shared else me.gid] += 1
        t.elem_reads[flat] += 1
        return t.flat[flat]

    def __setitem__(self, idx: Any, value: Any) -> None:
        flat = self._locate(idx, "write")
        if isinstance(flat, TracedArray):
            raise self._error(f"write {self._t.name}[{_fmt_index(idx)}]: assigning to a whole row or slice "
                              "is not supported in a kernel; write one element at a time.")
        me, t = _me(), self._t
        self._check_write(flat, me, atomic=False)
        t.writes[me.tid if t.shared else me.gid] += 1
        t.elem_writes[flat] += 1
        t.flat[flat] = value
        if t.shared:
            t.written[flat] = True

    def _atomic(self, idx: Any, update: Callable[[Any], Any]) -> Any:
        flat = self._locate(idx, "atomic update of")
        if isinstance(flat, TracedArray):
            raise self._error(f"atomic on {self._t.name}[{_fmt_index(idx)}]: give one element's index.")
        me, t = _me(), self._t
        self._check_write(flat, me, atomic=True)
        t.atomics[me.tid if t.shared else me.gid] += 1
        old = t.flat[flat]
        t.flat[flat] = update(old)
        if t.shared:
            t.written[flat] = True
        return old


def _fmt_index(idx: Any) -> str:
    if isinstance(idx, tuple):
        return ", ".join(_fmt_index(i) for i in idx)
    if isinstance(idx, slice):
        return (f"{'' if idx.start is None else idx.start}:{'' if idx.stop is None else idx.stop}"
                + ("" if idx.step is None else f":{idx.step}"))
    if isinstance(idx, (int, np.integer)):
        return str(int(idx))
    return repr(idx)


class _Shared:
    def __init__(self, engine: "_Engine") -> None:
        self.engine = engine

    def array(self, shape: Any, dtype: Any) -> TracedArray:
        eng = self.engine
        fname, line, _, text = _caller_line(2)
        key = (fname, line)
        arrays = eng.block_shared
        if key not in arrays:
            if isinstance(shape, (int, np.integer)) and int(shape) == 0:
                raise eng.error("dynamic shared memory (shape 0) is not supported by the course simulator; "
                                "give the shared array a fixed size.")
            name = eng.shared_names.get(key)
            if name is None:
                m = re.match(r"\s*([A-Za-z_]\w*)\s*=", text)
                name = m.group(1) if m else f"shared@line{line}"
                if name in eng.shared_names.values():
                    name = f"{name}@line{line}"
                eng.shared_names[key] = name
            data = np.empty(shape, dtype=_np_dtype(dtype))
            if data.dtype.kind == "f":
                data.fill(np.nan)
            arrays[key] = TracedArray(_Tracked(eng, name, data, shared=True))
            eng.shared_shapes.setdefault(name, tuple(data.shape))
        return arrays[key]


class _Local:
    def array(self, shape: Any, dtype: Any) -> np.ndarray:
        return np.zeros(shape, dtype=_np_dtype(dtype))


class _Const:
    def array_like(self, ary: Any) -> Any:
        return ary


def _np_dtype(dtype: Any) -> np.dtype:
    try:
        return np.dtype(dtype)
    except TypeError:
        from numba.np import numpy_support
        return numpy_support.as_dtype(dtype)


class _Atomic:
    @staticmethod
    def _arr(array: Any) -> TracedArray:
        if not isinstance(array, TracedArray):
            raise KernelError("cuda.atomic.* needs an array argument of the kernel or a shared array.")
        return array

    def add(self, array, idx, val):
        return self._arr(array)._atomic(idx, lambda old: old + val)

    def sub(self, array, idx, val):
        return self._arr(array)._atomic(idx, lambda old: old - val)

    def max(self, array, idx, val):
        return self._arr(array)._atomic(idx, lambda old: max(old, val))

    def min(self, array, idx, val):
        return self._arr(array)._atomic(idx, lambda old: min(old, val))

    def exch(self, array, idx, val):
        return self._arr(array)._atomic(idx, lambda old: val)

    def cas(self, array, idx, old_expected, val):
        return self._arr(array)._atomic(idx, lambda old: val if old == old_expected else old)

    def compare_and_swap(self, array, old_expected, val):
        return self.cas(array, 0, old_expected, val)


class _FakeCuda:
    """Stands in for the `cuda` module inside a kernel run by the checking simulator."""

    def __init__(self, engine: "_Engine") -> None:
        self._engine = engine
        self.gridDim = _Dim3(*engine.grid)
        self.blockDim = _Dim3(*engine.block)
        self.shared = _Shared(engine)
        self.local = _Local()
        self.const = _Const()
        self.atomic = _Atomic()
        self.warpsize = 32

    @property
    def threadIdx(self) -> _Dim3:
        return _me().threadIdx

    @property
    def blockIdx(self) -> _Dim3:
        return _me().blockIdx

    @property
    def laneid(self) -> int:
        return _me().tid % 32

    def syncthreads(self) -> None:
        _me().syncthreads(_caller_line(2)[1])

    def threadfence(self) -> None:
        pass

    threadfence_block = threadfence_system = threadfence

    def grid(self, ndim: int):
        me, b = _me(), self.blockDim
        x = me.blockIdx.x * b.x + me.threadIdx.x
        if ndim == 1:
            return x
        y = me.blockIdx.y * b.y + me.threadIdx.y
        if ndim == 2:
            return x, y
        return x, y, me.blockIdx.z * b.z + me.threadIdx.z

    def gridsize(self, ndim: int):
        g, b = self.gridDim, self.blockDim
        sizes = (g.x * b.x, g.y * b.y, g.z * b.z)
        return sizes[0] if ndim == 1 else sizes[:ndim]

    def fma(self, a, b, c):
        return a * b + c

    def selp(self, cond, a, b):
        return a if cond else b

    def __getattr__(self, name: str) -> Any:
        from numba import cuda
        try:
            return getattr(cuda, name)
        except AttributeError:
            raise AttributeError(f"cuda.{name} is not available in the course simulator") from None


_lock = threading.Lock()
_recorders: list[Trace] = []


class _Engine:
    """Runs one launch: block after block, threads in order up to each barrier."""

    def __init__(self, fn: Callable, grid: Any, block: Any, name: str | None = None) -> None:
        self.fn = fn
        self.name = name or getattr(fn, "__name__", "kernel")
        self.grid = _normalize_dims(grid, "grid", self.name)
        self.block = _normalize_dims(block, "block", self.name)
        self.ndim = max(len(v) if isinstance(v, (tuple, list)) else 1 for v in (grid, block))
        self.threads_per_block = int(np.prod(self.block))
        if self.threads_per_block > MAX_THREADS_PER_BLOCK:
            raise KernelError(f"{self.name}: a block of {_dims(self.block)} = {self.threads_per_block} threads; "
                              f"GPUs allow at most {MAX_THREADS_PER_BLOCK} threads per block.",
                              "use more blocks of fewer threads.")
        self.n_blocks = int(np.prod(self.grid))
        self.n_threads = self.n_blocks * self.threads_per_block
        self.job: Callable | None = None
        self.back = threading.Semaphore(0)
        self.aborting = False
        self.block_shared: dict = {}
        self.shared_shapes: dict[str, tuple] = {}
        self.shared_names: dict[tuple, str] = {}      # (file, line) of cuda.shared.array -> array name
        self.shared_traffic: dict[str, ArrayTraffic] = {}   # shared array name -> counts over all blocks
        self.cur_bid = 0
        self.min_barriers: int | None = None

    # -- naming things for messages
    def thread_name(self, ident: int, shared: bool = False) -> str:
        """'thread 3 of block 1 (global index 35)', 'thread (2, 0) of block (1, 1)', 'thread 5'."""
        bid, tid = (None, ident) if shared else divmod(ident, self.threads_per_block)
        t = _fmt_idx(_unflatten(tid, self.block), self.block)
        if bid is None:
            return f"thread {t}"
        b = _fmt_idx(_unflatten(bid, self.grid), self.grid)
        if self.grid[1:] == (1, 1) and self.block[1:] == (1, 1):
            return f"thread {t} of block {b} (global index {bid * self.block[0] + tid})"
        return f"thread {t} of block {b}"

    def error(self, msg: str, hint: str | None = None) -> KernelError:
        try:
            me = _me()
            who = self.thread_name(me.gid)
        except KernelError:
            who = "?"
        fname, line, func, text = _caller_line(1)
        where = f"{self.name}, {who}, line {line}" + (f": `{text}`" if text else "")
        return KernelError(f"{where}\n  {msg}", hint)

    # -- running
    def run(self, args: tuple) -> Launch:
        params = _param_names(self.fn, len(args))
        tracked: dict[str, _Tracked] = {}
        kargs = []
        for pname, a in zip(params, args):
            if isinstance(a, np.ndarray) and a.ndim > 0:
                t = _Tracked(self, pname, a, shared=False)
                tracked[pname] = t
                kargs.append(TracedArray(t))
            else:
                kargs.append(a)
        fake = _FakeCuda(self)
        mode, gen_fn = _plan(self.fn)
        with _swapped_cuda(self.fn, fake):
            if mode == "threads":
                barriers = self._run_threads(kargs)
            else:
                barriers = self._run_inline(kargs, gen_fn if mode == "generator" else None)
        self._flush_shared()
        arrays = {name: t.traffic() for name, t in tracked.items()}
        return Launch(self.name, self.grid, self.block, arrays, dict(self.shared_shapes), barriers, self.ndim,
                      dict(self.shared_traffic), self.min_barriers)

    def _flush_shared(self) -> None:
        """Add the shared-memory traffic of the block that just ran to the launch's totals."""
        lo, hi = self.cur_bid * self.threads_per_block, (self.cur_bid + 1) * self.threads_per_block
        for ta in self.block_shared.values():
            t = ta._t
            acc = self.shared_traffic.get(t.name)
            if acc is None:
                shape = t.data.shape
                acc = self.shared_traffic[t.name] = ArrayTraffic(
                    t.name, tuple(shape), str(t.data.dtype), *(np.zeros(self.n_threads, np.int64) for _ in range(3)),
                    np.zeros(shape, np.int64), np.zeros(shape, np.int64))
            acc.reads_per_thread[lo:hi] += t.reads
            acc.writes_per_thread[lo:hi] += t.writes
            acc.atomics_per_thread[lo:hi] += t.atomics
            acc.reads_per_element += np.reshape(t.elem_reads, acc.reads_per_element.shape)
            acc.writes_per_element += np.reshape(t.elem_writes, acc.writes_per_element.shape)
        self.block_shared = {}

    def _note_phases(self, phases: int) -> None:
        self.min_barriers = phases if self.min_barriers is None else min(self.min_barriers, phases)

    def _start_block(self, ctxs: list, bid: int, bidx: tuple) -> None:
        self._flush_shared()
        self.cur_bid = bid
        for c in ctxs:
            c.blockIdx = _Dim3(*bidx)
            c.bid = bid
            c.gid = bid * self.threads_per_block + c.tid
            c.epoch = 0

    def _check_sites(self, sites: set, bidx: tuple, finished: list[int] | None = None,
                     waiting: list[int] | None = None) -> None:
        if finished and waiting:
            line = min(sites)
            raise KernelError(
                f"{self.name}, block {_fmt_idx(bidx, self.grid)}: {_id_ranges(finished)} finished without "
                f"reaching the cuda.syncthreads() at line {line} that {_id_ranges(waiting)} wait(s) at.",
                "every thread of a block must reach the same syncthreads(): do not return early or put it "
                "inside an `if` that only some threads take; guard the work instead.")
        if len(sites) > 1:
            raise KernelError(
                f"{self.name}, block {_fmt_idx(bidx, self.grid)}: threads wait at different "
                f"cuda.syncthreads() calls (lines {', '.join(map(str, sorted(sites)))}).",
                "every thread of a block must reach the same syncthreads(): never put it "
                "inside an `if` that only some threads take.")

    def _run_inline(self, kargs: list, gen_fn: Callable | None) -> int:
        """All CUDA threads in this Python thread: plain calls, or generators that yield at barriers."""
        global _current
        ctxs = [_Ctx(self, tid, tidx) for tid, tidx in enumerate(_ordered(self.block))]
        fn = self.fn
        barriers = 0
        try:
            for bid, bidx in enumerate(_ordered(self.grid)):
                self._start_block(ctxs, bid, bidx)
                if gen_fn is None:
                    self._note_phases(0)
                    for c in ctxs:
                        _current = c
                        try:
                            fn(*kargs)
                        except KernelError:
                            raise
                        except Exception as e:
                            raise self._translate(c, e) from None
                    continue
                pending = []
                for c in ctxs:
                    _current = c
                    pending.append((c, gen_fn(*kargs)))
                phases = 0
                while pending:
                    waiting, finished = [], []
                    for c, g in pending:
                        _current = c
                        try:
                            c.site = next(g)
                        except StopIteration:
                            finished.append(c.tid)
                            continue
                        except KernelError:
                            raise
                        except Exception as e:
                            raise self._translate(c, e) from None
                        c.epoch += 1
                        waiting.append((c, g))
                    if waiting:
                        phases += 1
                        self._check_sites({c.site for c, _ in waiting}, bidx, finished, [c.tid for c, _ in waiting])
                    pending = waiting
                barriers = max(barriers, phases)
                self._note_phases(phases)
        finally:
            _current = None
        return barriers

    def _run_threads(self, kargs: list) -> int:
        """Fallback: one Python thread per CUDA thread, handed control one at a time."""
        global _current
        threads = []
        for tid, tidx in enumerate(_ordered(self.block)):
            th = _Thread(self, tid, tidx)
            th.start()
            threads.append(th)
        fn = self.fn
        barriers = 0

        def job():
            fn(*kargs)
        self.job = job
        try:
            for bid, bidx in enumerate(_ordered(self.grid)):
                self._start_block(threads, bid, bidx)
                pending = threads
                phases = 0
                while pending:
                    waiting, finished = [], []
                    for th in pending:
                        _current = th
                        th.go.release()
                        self.back.acquire()
                        if th.state == "error":
                            self._abort(waiting + [w for w in pending if w.state == "barrier"])
                            e = th.exc
                            raise (e if isinstance(e, KernelError) else self._translate(th, e))
                        if th.state == "barrier":
                            waiting.append(th)
                        else:
                            finished.append(th.tid)
                    if waiting:
                        phases += 1
                        sites = {th.site for th in waiting}
                        if len(sites) > 1 or finished:
                            self._abort(waiting)
                        self._check_sites(sites, bidx, finished, [th.tid for th in waiting])
                    pending = waiting
                barriers = max(barriers, phases)
                self._note_phases(phases)
        finally:
            _current = None
            self.job = None
            for th in threads:
                th.go.release()
        return barriers

    def _abort(self, waiting: list[_Thread]) -> None:
        self.aborting = True
        for th in waiting:
            if th.state == "barrier":
                th.go.release()
                self.back.acquire()
        self.aborting = False

    def _translate(self, c: _Ctx, e: BaseException) -> BaseException:
        if isinstance(e, NotImplementedError):
            return e
        tb = e.__traceback__
        frames = [f for f in _tb_frames(tb) if f.f_code.co_filename != __file__]
        line = ""
        if frames:
            f, lineno = frames[-1], _tb_lineno(tb, frames[-1])
            text = linecache.getline(f.f_code.co_filename, lineno, f.f_globals).strip()
            line = f", line {lineno}" + (f": `{text}`" if text else "")
        return KernelError(f"{self.name}, {self.thread_name(c.gid)}{line}\n  {type(e).__name__}: {e}")


def _id_ranges(ids: list[int]) -> str:
    """'thread 3', 'threads 2..3', 'threads 0..1, 5' for thread ids of a block."""
    ids = sorted(ids)
    parts, start = [], ids[0]
    for prev, cur in zip(ids, ids[1:] + [None]):
        if cur != prev + 1 if cur is not None else True:
            parts.append(str(start) if start == prev else f"{start}..{prev}")
            start = cur
    return ("thread " if len(ids) == 1 else "threads ") + ", ".join(parts)


def _unflatten(i: int, dims: tuple[int, int, int]) -> tuple[int, int, int]:
    return i % dims[0], (i // dims[0]) % dims[1], i // (dims[0] * dims[1])


def _fmt_idx(idx: tuple[int, int, int], dims: tuple[int, int, int]) -> str:
    n = 3 if dims[2] > 1 else 2 if dims[1] > 1 else 1
    return str(idx[0]) if n == 1 else "(" + ", ".join(str(v) for v in idx[:n]) + ")"


def _tb_frames(tb) -> list:
    out = []
    while tb is not None:
        out.append(tb.tb_frame)
        tb = tb.tb_next
    return out


def _tb_lineno(tb, frame) -> int:
    lineno = frame.f_lineno
    while tb is not None:
        if tb.tb_frame is frame:
            lineno = tb.tb_lineno
        tb = tb.tb_next
    return lineno


def _ordered(dims: tuple[int, int, int]) -> Iterator[tuple[int, int, int]]:
    """Indices with x varying fastest, as CUDA numbers threads and blocks."""
    for z in range(dims[2]):
        for y in range(dims[1]):
            for x in range(dims[0]):
                yield (x, y, z)


def _param_names(fn: Callable, n: int) -> list[str]:
    try:
        names = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        names = []
    return (names + [f"arg{i}" for i in range(len(names), n)])[:n]


_plans: dict = {}


def _code_names(code) -> set[str]:
    names = set(code.co_names)
    for c in code.co_consts:
        if hasattr(c, "co_names"):
            names |= _code_names(c)
    return names


def _plan(fn: Callable) -> tuple[str, Callable | None]:
    """How to run `fn`: "direct" (no barriers), "generator" (barriers become yields) or "threads"."""
    key = (fn.__code__, id(fn.__globals__))
    if key in _plans:
        return _plans[key]
    plan: tuple[str, Callable | None] = ("threads", None)
    needs_barrier = "syncthreads" in _code_names(fn.__code__)
    in_device_fn = any("syncthreads" in _code_names(py.__code__)
                       for py in (_device_function(v) for v in fn.__globals__.values()) if py is not None)
    if not needs_barrier and not in_device_fn:
        plan = ("direct", None)
    elif not in_device_fn:
        gen = _as_generator(fn)
        if gen is not None:
            plan = ("generator", gen)
    _plans[key] = plan
    return plan


def _as_generator(fn: Callable) -> Callable | None:
    """Recompile a kernel with each `cuda.syncthreads()` statement replaced by `yield <line>`."""
    import ast
    import textwrap

    try:
        src = textwrap.dedent(inspect.getsource(fn))
        tree = ast.parse(src)
    except (OSError, TypeError, SyntaxError, IndentationError):
        return None
    if not tree.body or not isinstance(tree.body[0], ast.FunctionDef):
        return None
    fdef = tree.body[0]
    fdef.decorator_list = []
    globs = fn.__globals__
    found = 0

    class Barriers(ast.NodeTransformer):
        def visit_Expr(self, node):
            nonlocal found
            v = node.value
            if (isinstance(v, ast.Call) and not v.args and not v.keywords
                    and isinstance(v.func, ast.Attribute) and v.func.attr == "syncthreads"
                    and isinstance(v.func.value, ast.Name) and _is_cuda_module(globs.get(v.func.value.id))):
                found += 1
                return ast.copy_location(ast.Expr(ast.Yield(ast.Constant(node.lineno))), node)
            return node

        def visit_FunctionDef(self, node):   # do not touch nested functions
            return node if node is not fdef else self.generic_visit(node)

    Barriers().visit(fdef)
    left = [n for n in ast.walk(fdef) if isinstance(n, ast.Attribute) and n.attr.startswith("syncthreads")]
    if not found or left:
        return None
    ast.increment_lineno(tree, fn.__code__.co_firstlineno - 1)
    free = fn.__code__.co_freevars
    if free:   # a kernel made by a factory: rebuild its closure around the new function
        outer = ast.FunctionDef(
            name="_wcdl_closure", args=ast.arguments(posonlyargs=[], args=[ast.arg(arg=v) for v in free],
                                                     kwonlyargs=[], kw_defaults=[], defaults=[]),
            body=[fdef, ast.Return(ast.Name(id=fdef.name, ctx=ast.Load()))], decorator_list=[])
        ast.copy_location(outer, fdef)
        tree = ast.Module(body=[outer], type_ignores=[])
    ast.fix_missing_locations(tree)
    ns: dict = {}
    try:
        exec(compile(tree, fn.__code__.co_filename, "exec"), globs, ns)
        if free:
            gen = ns["_wcdl_closure"](*[c.cell_contents for c in fn.__closure__])
        else:
            gen = ns.get(fdef.name)
    except Exception:
        return None
    return gen if inspect.isgeneratorfunction(gen) else None


def _is_cuda_module(v: Any) -> bool:
    return isinstance(v, type(sys)) and getattr(v, "__name__", "") == "numba.cuda"


def _device_function(v: Any) -> Callable | None:
    """The Python function behind a @cuda.jit(device=True) function, if `v` is one."""
    if getattr(v, "_device", False) and hasattr(v, "fn"):           # simulator's FakeCUDAKernel
        return v.fn
    opts = getattr(v, "targetoptions", None)
    if isinstance(opts, dict) and opts.get("device") and hasattr(v, "py_func"):   # real CUDADispatcher
        return v.py_func
    return None


@contextlib.contextmanager
def _swapped_cuda(fn: Callable, fake: _FakeCuda):
    """Inside the kernel's globals (and its device functions'), `cuda` is the fake module."""
    saved: list[tuple[dict, str, Any]] = []
    seen: set[int] = set()

    def swap(globs: dict) -> None:
        if id(globs) in seen:
            return
        seen.add(id(globs))
        for k, v in list(globs.items()):
            if _is_cuda_module(v):
                saved.append((globs, k, v))
                globs[k] = fake
            else:
                py = _device_function(v)
                if py is not None:
                    saved.append((globs, k, v))
                    globs[k] = py
                    swap(py.__globals__)

    try:
        swap(fn.__globals__)
        yield
    finally:
        for globs, k, v in reversed(saved):
            globs[k] = v


def _to_host(arg: Any) -> tuple[Any, Callable[[], None] | None]:
    """A numpy array the simulator can run on, and how to copy results back."""
    if isinstance(arg, np.ndarray):
        return arg, None
    inner = getattr(arg, "_ary", None)                   # simulator's FakeCUDAArray
    if isinstance(inner, np.ndarray):
        return inner, None
    if hasattr(arg, "copy_to_host") and hasattr(arg, "copy_to_device"):   # real DeviceNDArray
        host = arg.copy_to_host()
        return host, lambda: arg.copy_to_device(host)
    if hasattr(arg, "__cuda_array_interface__"):         # e.g. a torch CUDA tensor
        from numba import cuda
        dev = cuda.as_cuda_array(arg)
        host = dev.copy_to_host()
        return host, lambda: dev.copy_to_device(host)
    return arg, None


def simulate(fn: Callable, grid: Any, block: Any, *args: Any) -> Launch:
    """Run the Python function of a kernel in the checking simulator; return its Launch.

    `fn` may be a `@cuda.jit` kernel (real or simulated) or a plain function.
    Array arguments are numpy arrays (device arrays are copied to the host and
    back). The launch is also recorded by every active `trace()`.
    """
    py = getattr(fn, "py_func", None) or getattr(fn, "fn", None) or fn
    name = getattr(py, "__name__", "kernel")
    host_args, writebacks = [], []
    for a in args:
        h, wb = _to_host(a)
        host_args.append(h)
        if wb is not None:
            writebacks.append(wb)
    with _lock:
        launch = _Engine(py, grid, block, name).run(tuple(host_args))
    for wb in writebacks:
        wb()
    for rec in list(_recorders):
        rec.launches.append(launch)
    return launch


class _SimConfigured:
    """`kernel[grid, block]` while tracing on a GPU machine: runs in the simulator."""

    def __init__(self, fn: Callable, grid: Any, block: Any) -> None:
        self.fn, self.grid, self.block = fn, grid, block

    def __call__(self, *args: Any) -> None:
        simulate(self.fn, self.grid, self.block, *args)


def _config_of(key: Any) -> tuple[Any, Any]:
    if not isinstance(key, tuple) or len(key) < 2:
        raise KernelError(f"launch a kernel as kernel[blocks, threads_per_block](...), got kernel[{key!r}].")
    return key[0], key[1]


_installed = False


def _install_simulator_hook() -> None:
    """Simulator mode: every launch of a @cuda.jit kernel goes through the checking simulator."""
    global _installed
    if _installed:
        return
    from numba.cuda.simulator.kernel import FakeCUDAKernel

    def call(self, *args):
        if self._device:
            return FakeCUDAKernel._wcdl_original_call(self, *args)
        if self.grid_dim is None:
            raise KernelError(f"{self.fn.__name__} was called without a launch configuration: "
                              f"write {self.fn.__name__}[blocks, threads_per_block](...).")
        simulate(self.fn, self._wcdl_config[0], self._wcdl_config[1], *args)

    def getitem(self, configuration):
        grid, block = _config_of(configuration)
        FakeCUDAKernel._wcdl_original_getitem(self, (1, 1) + tuple(configuration[2:]))
        self._wcdl_config = (grid, block)
        return self

    FakeCUDAKernel._wcdl_original_call = FakeCUDAKernel.__call__
    FakeCUDAKernel._wcdl_original_getitem = FakeCUDAKernel.__getitem__
    FakeCUDAKernel.__call__ = call
    FakeCUDAKernel.__getitem__ = getitem
    _installed = True


@contextlib.contextmanager
def _gpu_launches_simulated() -> Iterator[None]:
    """On a real-CUDA numba: route kernel[grid, block](...) to the simulator for a while."""
    from numba.cuda import dispatcher as nd

    cls = nd.CUDADispatcher
    orig_getitem = cls.__dict__.get("__getitem__")
    orig_configure = cls.__dict__.get("configure")

    def getitem(self, key):
        grid, block = _config_of(key)
        return _SimConfigured(self.py_func, grid, block)

    def configure(self, griddim, blockdim, *rest, **kw):
        return _SimConfigured(self.py_func, griddim, blockdim)

    cls.__getitem__ = getitem
    cls.configure = configure
    try:
        yield
    finally:
        for attr, orig in (("__getitem__", orig_getitem), ("configure", orig_configure)):
            if orig is None:
                delattr(cls, attr)
            else:
                setattr(cls, attr, orig)


@contextlib.contextmanager
def trace() -> Iterator[Trace]:
    """Record every kernel launched inside: grid, block, reads and writes per array.

    Launches run in the checking simulator, also on a machine with a GPU
    (keep sizes small), so out-of-bounds accesses and races raise KernelError.
    """
    from numba import cuda  # noqa: F401

    rec = Trace()
    _recorders.append(rec)
    try:
        if simulating():
            _install_simulator_hook()
            yield rec
        else:
            with _gpu_launches_simulated():
                yield rec
    finally:
        _recorders.remove(rec)


def traced(fn: Callable, *args: Any, **kwargs: Any) -> tuple[Any, Trace]:
    """Call `fn(*args, **kwargs)` under `trace()`; return its result and the Trace."""
    with trace() as t:
        out = fn(*args, **kwargs)
    return out, t


# ====================================================================== measuring on a GPU

def time_gpu(fn: Callable[[], Any], *, warmup: int = 3, repeat: int = 10, number: int = 10) -> float:
    """Median seconds per call of `fn` on the GPU (device synchronised around the clock)."""
    import time

    from numba import cuda

    for _ in range(warmup):
        fn()
    cuda.synchronize()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        cuda.synchronize()
        times.append((time.perf_counter() - start) / number)
    return float(np.median(times))


def copy_bandwidth(nbytes: int = 1 << 30, **kw: Any) -> float:
    """Device-to-device copy bandwidth in bytes/s (bytes read + bytes written), via torch."""
    import torch

    src = torch.empty(nbytes // 4, dtype=torch.float32, device="cuda")
    dst = torch.empty_like(src)
    t = time_gpu(lambda: dst.copy_(src), **kw)
    return 2 * src.numel() * 4 / t


RESULTS_FILE = "gpu_results.json"


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


# ====================================================================== checks for test cells

def _first(mask: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argwhere(mask)[0])


def _fmt_elem(name: str, idx: tuple[int, ...]) -> str:
    return f"{name}[{', '.join(map(str, idx))}]"


def _launch_list(t: Trace) -> str:
    return ", ".join(f"{l.kernel}[{l.grid_str}, {l.block_str}]" for l in t.launches)


def expect_launches(t: Trace, n: int | tuple[int, ...], what: str = "your function", hint: str | None = None) -> None:
    """Fail unless `t` recorded `n` kernel launches (or one of the counts in a tuple)."""
    ok = (n,) if isinstance(n, int) else tuple(n)
    if len(t) in ok:
        return
    want = " or ".join(map(str, ok))
    msg = f"{what} launched {len(t)} kernel(s); expected {want}."
    if len(t):
        msg += f"\n  launches: {_launch_list(t)}"
    raise CheckFailed(msg + (f"\n  hint: {hint}" if hint else
                             "\n  hint: launch a kernel with kernel[blocks, threads_per_block](args)." if not len(t) else ""))


def expect_one_write_per_element(launch: Launch, name: str | int) -> None:
    """Every element of array `name` written by exactly one thread (no gaps, no duplicates)."""
    a = launch.array(name)
    w = a.writes_per_element
    if (w == 0).any():
        idx = _first(w == 0)
        raise CheckFailed(
            f"{launch.kernel}: {int((w == 0).sum())} of {w.size} elements of {a.name} were never written "
            f"(first: {_fmt_elem(a.name, idx)}); the launch had {launch.blocks} block(s) x "
            f"{launch.threads_per_block} thread(s) for an array of shape {a.shape}.\n"
            "  hint: the grid must cover every element (round the number of blocks up), and each thread "
            "must compute its own global index.")
    if (w > 1).any():
        idx = _first(w > 1)
        raise CheckFailed(
            f"{launch.kernel}: {_fmt_elem(a.name, idx)} was written {int(w[idx])} times; "
            f"{int((w > 1).sum())} element(s) of {a.name} were written more than once.\n"
            "  hint: each thread should own exactly one output element: is the global index "
            "blockIdx * blockDim + threadIdx (per axis)?")


def expect_reads_per_element(launch: Launch, name: str | int, at_most: int, why: str = "",
                             hint: str | None = None) -> None:
    """No element of array `name` read more than `at_most` times (across all threads)."""
    a = launch.array(name)
    got = a.max_reads_per_element
    if got > at_most:
        idx = _first(a.reads_per_element == got)
        raise CheckFailed(
            f"{launch.kernel}: {_fmt_elem(a.name, idx)} was read {got} times from global memory; "
            f"expected at most {at_most}{(' ' + why) if why else ''}.\n"
            f"  all reads of {a.name}: {a.reads} for {a.reads_per_element.size} elements."
            + (f"\n  hint: {hint}" if hint else ""))


def expect_launch_shape(launch: Launch, grid: Any, block: Any, what: str, hint: str | None = None) -> None:
    """Fail unless the launch had exactly this grid and block (1 to 3 dimensions, trailing 1s ignored)."""
    want_g, want_b = (_normalize_dims(v, w, launch.kernel) for v, w in ((grid, "grid"), (block, "block")))
    if tuple(launch.grid) == want_g and tuple(launch.block) == want_b:
        return
    nd = max(launch.ndim, *(len(v) if isinstance(v, (tuple, list)) else 1 for v in (grid, block)))
    raise CheckFailed(f"{what}: launched {launch.kernel}[grid={launch.grid_str}, block={launch.block_str}]; "
                      f"expected grid={_dims(want_g, nd)}, block={_dims(want_b, nd)}."
                      + (f"\n  hint: {hint}" if hint else ""))


def expect_reads_per_thread(launch: Launch, name: str | int, at_most: int, why: str = "",
                            hint: str | None = None) -> None:
    """No thread read more than `at_most` elements of global array `name`."""
    a = launch.array(name)
    got = a.max_reads_per_thread
    if got > at_most:
        gid = int(np.argmax(a.reads_per_thread))
        who = _thread_of(launch, gid)
        raise CheckFailed(f"{launch.kernel}: {who} read {got} elements of {a.name} from global memory; "
                          f"expected at most {at_most} per thread{(' ' + why) if why else ''}."
                          + (f"\n  hint: {hint}" if hint else ""))


def expect_shared_reads_per_thread(launch: Launch, at_most: int, why: str = "", hint: str | None = None) -> None:
    """No thread read more than `at_most` values of shared memory (all shared arrays together).

    The work one thread does: a tree reduction of n values costs each thread
    O(log n) shared reads, a loop over the block's values in one thread O(n).
    """
    r = launch.shared_reads_per_thread()
    got = int(r.max()) if r.size else 0
    if got > at_most:
        who = _thread_of(launch, int(np.argmax(r)))
        per = ", ".join(f"{a.name}: {int(a.reads_per_thread[int(np.argmax(r))])}"
                        for a in launch.shared_arrays.values())
        raise CheckFailed(f"{launch.kernel}: {who} read {got} values from shared memory ({per}); "
                          f"expected at most {at_most} per thread{(' ' + why) if why else ''}."
                          + (f"\n  hint: {hint}" if hint else ""))


def expect_barriers(launch: Launch, at_least: int, why: str = "", hint: str | None = None) -> None:
    """Every block went through at least `at_least` cuda.syncthreads() phases."""
    got = launch.min_barriers if launch.min_barriers is not None else launch.barriers
    if got < at_least:
        raise CheckFailed(f"{launch.kernel}: a block went through {got} cuda.syncthreads() phase(s); "
                          f"expected at least {at_least}{(' ' + why) if why else ''}."
                          + (f"\n  hint: {hint}" if hint else ""))


def expect_no_atomics(launch: Launch, why: str = "", hint: str | None = None) -> None:
    """No atomic operation on any global or shared array."""
    used = {a.name: a.atomics for a in [*launch.arrays.values(), *launch.shared_arrays.values()] if a.atomics}
    if used:
        raise CheckFailed(f"{launch.kernel}: {sum(used.values())} atomic operation(s) on "
                          f"{', '.join(used)}; expected none{(' ' + why) if why else ''}."
                          + (f"\n  hint: {hint}" if hint else ""))


def expect_tree(launch: Launch, n: int, *, trees: int = 1, extra_reads: int = 0, what: str = "the reduction") -> None:
    """`trees` tree reductions over `n` values per block, as the exercises describe them.

    A tree is log2(n) steps separated by cuda.syncthreads(), in which each thread
    reads O(1) shared values: at least trees * log2(n) barrier phases per block,
    at most trees * (2 * log2(n) + 2) + extra_reads shared reads per thread
    (`extra_reads`: the kernel's other shared reads, e.g. a row buffer), and no
    atomics. A loop over the n values in one thread, or atomics into one slot,
    fail it.
    """
    steps = max(1, math.ceil(math.log2(n)))
    hint = (f"{what} should halve the number of active values in each step (n, n/2, ..., 1), with "
            "cuda.syncthreads() between steps; no thread should loop over all of them.")
    expect_no_atomics(launch, f"in {what} (a tree needs none)", hint)
    expect_barriers(launch, trees * steps, f"for {what} over {n} values: a tree takes log2({n}) = {steps} "
                    "synchronised steps", hint)
    expect_shared_reads_per_thread(launch, trees * (2 * steps + 2) + extra_reads,
                                   f"for {what} over {n} values (a tree costs each thread O(log2 n) reads)", hint)


def _thread_of(launch: Launch, gid: int) -> str:
    bid, tid = divmod(gid, launch.threads_per_block)
    return (f"thread {_fmt_idx(_unflatten(tid, launch.block), launch.block)} of block "
            f"{_fmt_idx(_unflatten(bid, launch.grid), launch.grid)}")
