"""The checking simulator: runs a kernel's Python function thread by thread, and checks it.

The threads of a block run one after another, up to each `cuda.syncthreads()`
(see `plan.py`), so results are deterministic. Every array argument becomes
a `TracedArray` that counts reads, writes and atomics per thread and per
element, and raises a `KernelError` naming the kernel line, the block and
thread, the array and the index for: out-of-bounds and negative indices,
reads of shared memory no thread has written, data races (two threads
touching the same element, at least one writing, with no `syncthreads()`
between them, or from different blocks without an atomic), `syncthreads()`
calls that not all threads reach, and grids of zero or fractional size.
What this needs from numba's internals is in `_numba_sim.py`.
"""

from __future__ import annotations

import contextlib
import linecache
import os
import re
import sys
import threading
from typing import Any, Callable, Iterator

import numpy as np

from ._numba_sim import (device_function, install_launch_hook, is_cuda_module, kernel_function,
                         launches_simulated, np_dtype, simulating, to_host)
from .plan import param_names, plan
from .records import ArrayTraffic, KernelError, Launch, Trace, dims_str, fmt_idx, thread_name, unflatten

MAX_THREADS_PER_BLOCK = 1024
_HERE = os.path.dirname(__file__) + os.sep


def _ours(filename: str) -> bool:
    """A frame of this package (skipped when naming the kernel line a message is about)."""
    return filename.startswith(_HERE)


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


def normalize_dims(value: Any, what: str, kernel: str) -> tuple[int, int, int]:
    """A grid or block as (x, y, z) whole numbers >= 1, or a KernelError that says what is wrong."""
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
    while f is not None and _ours(f.f_code.co_filename):
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
            msg = (f"data race on shared array {elem} (block {fmt_idx(tuple(me.blockIdx), eng.grid)}): {other} {first} it "
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
            data = np.empty(shape, dtype=np_dtype(dtype))
            if data.dtype.kind == "f":
                data.fill(np.nan)
            arrays[key] = TracedArray(_Tracked(eng, name, data, shared=True))
            eng.shared_shapes.setdefault(name, tuple(data.shape))
        return arrays[key]


class _Local:
    def array(self, shape: Any, dtype: Any) -> np.ndarray:
        return np.zeros(shape, dtype=np_dtype(dtype))


class _Const:
    def array_like(self, ary: Any) -> Any:
        return ary


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
        self.grid = normalize_dims(grid, "grid", self.name)
        self.block = normalize_dims(block, "block", self.name)
        self.ndim = max(len(v) if isinstance(v, (tuple, list)) else 1 for v in (grid, block))
        self.threads_per_block = int(np.prod(self.block))
        if self.threads_per_block > MAX_THREADS_PER_BLOCK:
            raise KernelError(f"{self.name}: a block of {dims_str(self.block)} = {self.threads_per_block} threads; "
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
        """'thread 3 of block 1 (global index 35)', 'thread (2, 0) of block (1, 1)', 'thread 5' (shared)."""
        if shared:
            return f"thread {fmt_idx(unflatten(ident, self.block), self.block)}"
        return thread_name(ident, self.grid, self.block, global_index=True)

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
        params = param_names(self.fn, len(args))
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
        mode, gen_fn = plan(self.fn)
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
                f"{self.name}, block {fmt_idx(bidx, self.grid)}: {_id_ranges(finished)} finished without "
                f"reaching the cuda.syncthreads() at line {line} that {_id_ranges(waiting)} wait(s) at.",
                "every thread of a block must reach the same syncthreads(): do not return early or put it "
                "inside an `if` that only some threads take; guard the work instead.")
        if len(sites) > 1:
            raise KernelError(
                f"{self.name}, block {fmt_idx(bidx, self.grid)}: threads wait at different "
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
        frames = [f for f in _tb_frames(tb) if not _ours(f.f_code.co_filename)]
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
            if is_cuda_module(v):
                saved.append((globs, k, v))
                globs[k] = fake
            else:
                py = device_function(v)
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


def simulate(fn: Callable, grid: Any, block: Any, *args: Any) -> Launch:
    """Run the Python function of a kernel in the checking simulator; return its Launch.

    `fn` may be a `@cuda.jit` kernel (real or simulated) or a plain function.
    Array arguments are numpy arrays (device arrays are copied to the host and
    back). The launch is also recorded by every active `trace()`.
    """
    py = kernel_function(fn)
    name = getattr(py, "__name__", "kernel")
    host_args, writebacks = [], []
    for a in args:
        h, wb = to_host(a)
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
            install_launch_hook(simulate)
            yield rec
        else:
            with launches_simulated(simulate):
                yield rec
    finally:
        _recorders.remove(rec)


def traced(fn: Callable, *args: Any, **kwargs: Any) -> tuple[Any, Trace]:
    """Call `fn(*args, **kwargs)` under `trace()`; return its result and the Trace."""
    with trace() as t:
        out = fn(*args, **kwargs)
    return out, t
