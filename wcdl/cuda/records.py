"""What the checking simulator records of a launch, and how threads and blocks are named.

`Launch` holds one kernel launch: its grid and block, and for every array
argument (and every shared array) an `ArrayTraffic` with the reads, writes
and atomics per thread and per element. `Trace` is the list of launches made
inside one `trace()` block. Test cells grade with these counts, never with a
clock. `KernelError` is what a kernel that a GPU would not forgive raises.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..checks import CheckFailed, failure_message


class KernelError(CheckFailed):
    """A kernel did something a real GPU would not forgive (or would hide)."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(failure_message(message, hint=hint))


# ---------------------------------------------------------------- naming dimensions and threads

def dims_str(d: tuple, ndim: int = 1) -> str:
    """A grid or block as written: `8` for (8, 1, 1), `(4, 2)` for a 2-D one."""
    d = tuple(d)
    while len(d) > max(ndim, 1) and d[-1] == 1:
        d = d[:-1]
    return str(d[0]) if len(d) == 1 else str(d)


def unflatten(i: int, dims: tuple[int, int, int]) -> tuple[int, int, int]:
    """The (x, y, z) index of the i-th thread (or block), x varying fastest as CUDA numbers them."""
    return i % dims[0], (i // dims[0]) % dims[1], i // (dims[0] * dims[1])


def fmt_idx(idx: tuple[int, int, int], dims: tuple[int, int, int]) -> str:
    """`3` in a 1-D grid or block, `(3, 1)` in a 2-D one."""
    n = 3 if dims[2] > 1 else 2 if dims[1] > 1 else 1
    return str(idx[0]) if n == 1 else "(" + ", ".join(str(v) for v in idx[:n]) + ")"


def thread_name(gid: int, grid: tuple, block: tuple, global_index: bool = False) -> str:
    """'thread 3 of block 1' for the thread with global id `gid` (blocks in order, threads in order).

    `global_index`: add '(global index 35)' where grid and block are 1-D.
    """
    threads_per_block = int(np.prod(block))
    bid, tid = divmod(gid, threads_per_block)
    name = (f"thread {fmt_idx(unflatten(tid, block), block)} of block "
            f"{fmt_idx(unflatten(bid, grid), grid)}")
    if global_index and tuple(grid[1:]) == (1, 1) and tuple(block[1:]) == (1, 1):
        name += f" (global index {bid * block[0] + tid})"
    return name


# ---------------------------------------------------------------- records

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
        return dims_str(self.grid, self.ndim)

    @property
    def block_str(self) -> str:
        return dims_str(self.block, self.ndim)

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
