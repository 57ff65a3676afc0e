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

The package, a module a section: `runtime` (where kernels run), `records`
(what a launch recorded), `simulator` and `plan` (the checking simulator),
`_numba_sim` (all that touches numba's internals), `measure` (GPU
measurement) and `checks` (the `expect_*` checks for test cells). Import
from `wcdl.cuda`: the names below are the API.
"""

from .checks import (expect_barriers, expect_launch_shape, expect_launches, expect_no_atomics,
                     expect_one_write_per_element, expect_reads_per_element, expect_reads_per_thread,
                     expect_shared_reads_per_thread, expect_tree)
from .measure import RESULTS_FILE, copy_bandwidth, format_gpu_results, load_gpu_results, time_gpu
from .records import ArrayTraffic, KernelError, Launch, Trace
from .runtime import FORCE_SIM_ENV, SIM_ENV, gpu_present, setup, simulating
from .simulator import MAX_THREADS_PER_BLOCK, TracedArray, simulate, trace, traced

__all__ = [
    # where kernels run
    "FORCE_SIM_ENV", "SIM_ENV", "gpu_present", "setup", "simulating",
    # records
    "ArrayTraffic", "KernelError", "Launch", "Trace",
    # the checking simulator
    "MAX_THREADS_PER_BLOCK", "TracedArray", "simulate", "trace", "traced",
    # measuring on a GPU
    "RESULTS_FILE", "copy_bandwidth", "format_gpu_results", "load_gpu_results", "time_gpu",
    # checks for test cells
    "expect_barriers", "expect_launch_shape", "expect_launches", "expect_no_atomics",
    "expect_one_write_per_element", "expect_reads_per_element", "expect_reads_per_thread",
    "expect_shared_reads_per_thread", "expect_tree",
]
