"""Checks for test cells: what a kernel launched, wrote, read, and how it synchronised.

Each takes a `Launch` (or the `Trace`) recorded by `trace()` / `traced()` and
fails with a `CheckFailed` that says what happened, what was expected, and a
hint. They grade by counts, never by a clock.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..checks import CheckFailed, failure_message
from .records import Launch, Trace, dims_str, thread_name
from .simulator import normalize_dims


def _first(mask: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argwhere(mask)[0])


def _fmt_elem(name: str, idx: tuple[int, ...]) -> str:
    return f"{name}[{', '.join(map(str, idx))}]"


def _launch_list(t: Trace) -> str:
    return ", ".join(f"{l.kernel}[{l.grid_str}, {l.block_str}]" for l in t.launches)


def _why(why: str) -> str:
    return f" {why}" if why else ""


def _thread_of(launch: Launch, gid: int) -> str:
    return thread_name(gid, launch.grid, launch.block)


def expect_launches(t: Trace, n: int | tuple[int, ...], what: str = "your function", hint: str | None = None) -> None:
    """Fail unless `t` recorded `n` kernel launches (or one of the counts in a tuple)."""
    ok = (n,) if isinstance(n, int) else tuple(n)
    if len(t) in ok:
        return
    want = " or ".join(map(str, ok))
    details = [f"launches: {_launch_list(t)}"] if len(t) else []
    if not hint and not len(t):
        hint = "launch a kernel with kernel[blocks, threads_per_block](args)."
    raise CheckFailed(failure_message(f"{what} launched {len(t)} kernel(s); expected {want}.", *details, hint=hint))


def expect_one_write_per_element(launch: Launch, name: str | int) -> None:
    """Every element of array `name` written by exactly one thread (no gaps, no duplicates)."""
    a = launch.array(name)
    w = a.writes_per_element
    if (w == 0).any():
        idx = _first(w == 0)
        raise CheckFailed(failure_message(
            f"{launch.kernel}: {int((w == 0).sum())} of {w.size} elements of {a.name} were never written "
            f"(first: {_fmt_elem(a.name, idx)}); the launch had {launch.blocks} block(s) x "
            f"{launch.threads_per_block} thread(s) for an array of shape {a.shape}.",
            hint="the grid must cover every element (round the number of blocks up), and each thread "
                 "must compute its own global index."))
    if (w > 1).any():
        idx = _first(w > 1)
        raise CheckFailed(failure_message(
            f"{launch.kernel}: {_fmt_elem(a.name, idx)} was written {int(w[idx])} times; "
            f"{int((w > 1).sum())} element(s) of {a.name} were written more than once.",
            hint="each thread should own exactly one output element: is the global index "
                 "blockIdx * blockDim + threadIdx (per axis)?"))


def expect_reads_per_element(launch: Launch, name: str | int, at_most: int, why: str = "",
                             hint: str | None = None) -> None:
    """No element of array `name` read more than `at_most` times (across all threads)."""
    a = launch.array(name)
    got = a.max_reads_per_element
    if got > at_most:
        idx = _first(a.reads_per_element == got)
        raise CheckFailed(failure_message(
            f"{launch.kernel}: {_fmt_elem(a.name, idx)} was read {got} times from global memory; "
            f"expected at most {at_most}{_why(why)}.",
            f"all reads of {a.name}: {a.reads} for {a.reads_per_element.size} elements.", hint=hint))


def expect_launch_shape(launch: Launch, grid: Any, block: Any, what: str, hint: str | None = None) -> None:
    """Fail unless the launch had exactly this grid and block (1 to 3 dimensions, trailing 1s ignored)."""
    want_g, want_b = (normalize_dims(v, w, launch.kernel) for v, w in ((grid, "grid"), (block, "block")))
    if tuple(launch.grid) == want_g and tuple(launch.block) == want_b:
        return
    nd = max(launch.ndim, *(len(v) if isinstance(v, (tuple, list)) else 1 for v in (grid, block)))
    raise CheckFailed(failure_message(
        f"{what}: launched {launch.kernel}[grid={launch.grid_str}, block={launch.block_str}]; "
        f"expected grid={dims_str(want_g, nd)}, block={dims_str(want_b, nd)}.", hint=hint))


def expect_reads_per_thread(launch: Launch, name: str | int, at_most: int, why: str = "",
                            hint: str | None = None) -> None:
    """No thread read more than `at_most` elements of global array `name`."""
    a = launch.array(name)
    got = a.max_reads_per_thread
    if got > at_most:
        who = _thread_of(launch, int(np.argmax(a.reads_per_thread)))
        raise CheckFailed(failure_message(
            f"{launch.kernel}: {who} read {got} elements of {a.name} from global memory; "
            f"expected at most {at_most} per thread{_why(why)}.", hint=hint))


def expect_shared_reads_per_thread(launch: Launch, at_most: int, why: str = "", hint: str | None = None) -> None:
    """No thread read more than `at_most` values of shared memory (all shared arrays together).

    The work one thread does: a tree reduction of n values costs each thread
    O(log n) shared reads, a loop over the block's values in one thread O(n).
    """
    r = launch.shared_reads_per_thread()
    got = int(r.max()) if r.size else 0
    if got > at_most:
        gid = int(np.argmax(r))
        per = ", ".join(f"{a.name}: {int(a.reads_per_thread[gid])}" for a in launch.shared_arrays.values())
        raise CheckFailed(failure_message(
            f"{launch.kernel}: {_thread_of(launch, gid)} read {got} values from shared memory ({per}); "
            f"expected at most {at_most} per thread{_why(why)}.", hint=hint))


def expect_barriers(launch: Launch, at_least: int, why: str = "", hint: str | None = None) -> None:
    """Every block went through at least `at_least` cuda.syncthreads() phases."""
    got = launch.min_barriers if launch.min_barriers is not None else launch.barriers
    if got < at_least:
        raise CheckFailed(failure_message(
            f"{launch.kernel}: a block went through {got} cuda.syncthreads() phase(s); "
            f"expected at least {at_least}{_why(why)}.", hint=hint))


def expect_no_atomics(launch: Launch, why: str = "", hint: str | None = None) -> None:
    """No atomic operation on any global or shared array."""
    used = {a.name: a.atomics for a in [*launch.arrays.values(), *launch.shared_arrays.values()] if a.atomics}
    if used:
        raise CheckFailed(failure_message(
            f"{launch.kernel}: {sum(used.values())} atomic operation(s) on "
            f"{', '.join(used)}; expected none{_why(why)}.", hint=hint))


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


