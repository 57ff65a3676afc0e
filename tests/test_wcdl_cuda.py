"""Unit tests of wcdl.cuda: the checking simulator, traffic counts, learner-facing messages.

Every launch here goes through `trace()` / `simulate()`, which run kernels in the checking
simulator whatever numba's mode: numba's own CUDA simulator (no GPU) or real CUDA
(a GPU machine, or numba imported earlier without NUMBA_ENABLE_CUDASIM).
"""

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from wcdl import cuda as wc

if "numba" not in sys.modules and not wc.gpu_present():
    os.environ.setdefault(wc.SIM_ENV, "1")

import numpy as np  # noqa: E402
from numba import cuda, float32  # noqa: E402

from wcdl.checks import CheckFailed, failure_message  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TPB = 8


# ---------------------------------------------------------------- kernels under test

@cuda.jit
def add_kernel(a, b, out):
    i = cuda.grid(1)
    if i < out.shape[0]:
        out[i] = a[i] + b[i]


@cuda.jit
def add_unguarded(a, b, out):
    i = cuda.grid(1)
    out[i] = a[i] + b[i]


@cuda.jit
def shift_left(a, out):
    i = cuda.grid(1)
    if i < out.shape[0]:
        out[i] = a[i - 1]


@cuda.jit
def racy_sum(a, total):
    i = cuda.grid(1)
    if i < a.shape[0]:
        total[0] += a[i]


@cuda.jit
def atomic_sum(a, total):
    i = cuda.grid(1)
    if i < a.shape[0]:
        cuda.atomic.add(total, 0, a[i])


@cuda.jit
def block_sum(a, partial):
    s = cuda.shared.array(TPB, float32)
    t = cuda.threadIdx.x
    i = cuda.grid(1)
    if i < a.shape[0]:
        s[t] = a[i]
    else:
        s[t] = 0.0
    cuda.syncthreads()
    step = TPB // 2
    while step > 0:
        if t < step:
            s[t] += s[t + step]
        cuda.syncthreads()
        step //= 2
    if t == 0:
        partial[cuda.blockIdx.x] = s[0]


@cuda.jit
def block_sum_no_loop_sync(a, partial):
    s = cuda.shared.array(TPB, float32)
    t = cuda.threadIdx.x
    i = cuda.grid(1)
    s[t] = a[i] if i < a.shape[0] else 0.0
    cuda.syncthreads()
    step = TPB // 2
    while step > 0:
        if t < step:
            s[t] += s[t + step]
        step //= 2
    if t == 0:
        partial[cuda.blockIdx.x] = s[0]


@cuda.jit
def scan_one_sync(a, out):
    s = cuda.shared.array(TPB, float32)
    t = cuda.threadIdx.x
    s[t] = a[t]
    cuda.syncthreads()
    offset = 1
    while offset < TPB:
        if t >= offset:
            s[t] += s[t - offset]
        cuda.syncthreads()
        offset *= 2
    out[t] = s[t]


@cuda.jit
def divergent_barrier(a):
    t = cuda.threadIdx.x
    if t < 2:
        cuda.syncthreads()
    a[t] = t


@cuda.jit(device=True)
def twice(x):
    return 2 * x


@cuda.jit
def uses_device_function(a, out):
    i = cuda.grid(1)
    if i < out.shape[0]:
        out[i] = twice(a[i])


@cuda.jit
def rows_view(x, out):
    r = cuda.grid(1)
    if r < x.shape[0]:
        row = x[r]
        acc = 0.0
        for j in range(row.shape[0]):
            acc += row[j]
        out[r] = acc


@cuda.jit
def divide_by_index(a, out):
    i = cuda.grid(1)
    out[i] = a[i] + 1 // i


@cuda.jit
def not_attempted(a):
    raise NotImplementedError("not attempted yet")


@cuda.jit
def transpose_2d(a, out):
    col, row = cuda.grid(2)
    if row < a.shape[0] and col < a.shape[1]:
        out[col, row] = a[row, col]


def make_block_sum(tpb):
    @cuda.jit
    def kernel(a, partial):
        s = cuda.shared.array(tpb, float32)
        t = cuda.threadIdx.x
        i = cuda.grid(1)
        s[t] = a[i] if i < a.shape[0] else 0.0
        cuda.syncthreads()
        step = tpb // 2
        while step > 0:
            if t < step:
                s[t] += s[t + step]
            cuda.syncthreads()
            step //= 2
        if t == 0:
            partial[cuda.blockIdx.x] = s[0]
    return kernel


@cuda.jit(device=True)
def barrier_helper():
    cuda.syncthreads()


@cuda.jit
def barrier_in_device_function(a, out):
    s = cuda.shared.array(TPB, float32)
    t = cuda.threadIdx.x
    s[t] = a[t]
    barrier_helper()
    out[t] = s[(t + 1) % TPB]


@cuda.jit
def block_sum_serial(a, partial):
    """Loads like a tree, then thread 0 adds the block's values in a loop (not a tree)."""
    s = cuda.shared.array(TPB, float32)
    t = cuda.threadIdx.x
    i = cuda.grid(1)
    s[t] = a[i] if i < a.shape[0] else 0.0
    cuda.syncthreads()
    if t == 0:
        acc = 0.0
        for j in range(TPB):
            acc += s[j]
        partial[cuda.blockIdx.x] = acc


@cuda.jit
def block_sum_shared_atomic(a, partial):
    s = cuda.shared.array(1, float32)
    t = cuda.threadIdx.x
    i = cuda.grid(1)
    if t == 0:
        s[0] = 0.0
    cuda.syncthreads()
    if i < a.shape[0]:
        cuda.atomic.add(s, 0, a[i])
    cuda.syncthreads()
    if t == 0:
        partial[cuda.blockIdx.x] = s[0]


@cuda.jit
def first_of_block_loops(a, partial):
    """Thread 0 of each block reads its block's elements from global memory."""
    if cuda.threadIdx.x == 0:
        acc = 0.0
        base = cuda.blockIdx.x * cuda.blockDim.x
        for j in range(base, min(base + cuda.blockDim.x, a.shape[0])):
            acc += a[j]
        partial[cuda.blockIdx.x] = acc


def _kernel_error(fn, *args) -> str:
    with pytest.raises(wc.KernelError) as info:
        fn(*args)
    return str(info.value)


# ---------------------------------------------------------------- where kernels run

def test_gpu_present_can_be_forced_off_and_needs_nvidia_smi(monkeypatch):
    monkeypatch.setenv(wc.FORCE_SIM_ENV, "1")
    assert wc.gpu_present() is False
    monkeypatch.delenv(wc.FORCE_SIM_ENV)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert wc.gpu_present() is False


def test_setup_says_where_kernels_run():
    msg = wc.setup()
    assert ("simulator" in msg) if wc.simulating() else ("GPU" in msg)


# ---------------------------------------------------------------- results and traffic

def test_trace_records_launch_shape_and_traffic():
    a = np.arange(20, dtype=np.float32)
    b = np.ones(20, dtype=np.float32)
    out = np.zeros(20, dtype=np.float32)
    with wc.trace() as t:
        add_kernel[3, 8](a, b, out)
    np.testing.assert_array_equal(out, a + 1)
    assert len(t) == 1
    L = t.last
    assert (L.kernel, L.blocks, L.threads_per_block, L.threads) == ("add_kernel", 3, 8, 24)
    assert L.array("a").reads == 20 and L.array(0).reads == 20
    assert L.array("out").writes == 20 and L.array("out").reads == 0
    assert L.array("a").max_reads_per_element == 1
    assert list(L.array("a").reads_per_thread) == [1] * 20 + [0] * 4
    assert L.reads == 40 and L.writes == 20
    summary = t.summary()
    assert "add_kernel[grid=3, block=8]" in summary and "24 threads" in summary


def test_traced_returns_result_and_trace():
    def vector_add(a, b):
        out = np.empty_like(a)
        add_kernel[(a.size + 7) // 8, 8](a, b, out)
        return out

    a = np.arange(5, dtype=np.float32)
    got, t = wc.traced(vector_add, a, a)
    np.testing.assert_array_equal(got, 2 * a)
    assert len(t) == 1 and t.last.blocks == 1


def test_two_dimensional_launch_and_summary():
    a = np.arange(15, dtype=np.float32).reshape(3, 5)
    out = np.zeros((5, 3), dtype=np.float32)
    with wc.trace() as t:
        transpose_2d[(2, 1), (4, 4)](a, out)
    np.testing.assert_array_equal(out, a.T)
    assert t.last.grid == (2, 1, 1) and t.last.block == (4, 4, 1)
    assert "grid=(2, 1), block=(4, 4)" in t.last.summary()


def test_shared_memory_reduction_is_exact_and_counts_barriers():
    a = np.arange(20, dtype=np.float32)
    partial = np.zeros(3, dtype=np.float32)
    with wc.trace() as t:
        block_sum[3, TPB](a, partial)
    np.testing.assert_array_equal(partial, [a[:8].sum(), a[8:16].sum(), a[16:].sum()])
    assert t.last.barriers == 4          # one after the load, three tree steps
    assert t.last.shared == {"s": (TPB,)}


def test_factory_kernel_with_closure_runs():
    k = make_block_sum(4)
    a = np.arange(10, dtype=np.float32)
    partial = np.zeros(3, dtype=np.float32)
    wc.simulate(k, 3, 4, a, partial)
    np.testing.assert_array_equal(partial, [6, 22, 17])


def test_device_functions_and_row_views():
    a = np.arange(6, dtype=np.float32)
    out = np.zeros(6, dtype=np.float32)
    wc.simulate(uses_device_function, 1, 8, a, out)
    np.testing.assert_array_equal(out, 2 * a)
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    sums = np.zeros(3, dtype=np.float32)
    launch = wc.simulate(rows_view, 1, 4, x, sums)
    np.testing.assert_array_equal(sums, x.sum(1))
    assert launch.array("x").reads == 12


def test_syncthreads_in_a_device_function_falls_back_to_threads():
    a = np.arange(TPB, dtype=np.float32)
    out = np.zeros(TPB, dtype=np.float32)
    wc.simulate(barrier_in_device_function, 1, TPB, a, out)
    np.testing.assert_array_equal(out, np.roll(a, -1))


def test_atomics_are_counted_and_not_races():
    a = np.arange(1, 11, dtype=np.float32)
    total = np.zeros(1, dtype=np.float32)
    launch = wc.simulate(atomic_sum, 2, 8, a, total)
    assert total[0] == 55
    assert launch.array("total").atomics == 10 and launch.array("total").writes == 0


# ---------------------------------------------------------------- what a learner is told

def test_out_of_bounds_names_thread_index_and_line():
    a = np.arange(20, dtype=np.float32)
    msg = _kernel_error(wc.simulate, add_unguarded, 3, 8, a, a, np.zeros(20, np.float32))
    assert "add_unguarded, thread 4 of block 2 (global index 20)" in msg
    assert "read a[20]: index 20 is out of bounds" in msg and "shape (20,)" in msg
    assert "`out[i] = a[i] + b[i]`" in msg and "hint: " in msg and "guard" in msg


def test_negative_index_is_an_error():
    a = np.arange(4, dtype=np.float32)
    msg = _kernel_error(wc.simulate, shift_left, 1, 4, a, np.zeros(4, np.float32))
    assert "negative index -1" in msg and "thread 0 of block 0" in msg


def test_global_race_without_atomic():
    a = np.arange(10, dtype=np.float32)
    msg = _kernel_error(wc.simulate, racy_sum, 2, 8, a, np.zeros(1, np.float32))
    assert "data race on total[0]" in msg and "cuda.atomic.add" in msg


def test_missing_syncthreads_in_tree_is_caught():
    a = np.arange(8, dtype=np.float32)
    msg = _kernel_error(wc.simulate, block_sum_no_loop_sync, 1, TPB, a, np.zeros(1, np.float32))
    assert "data race on shared array s[" in msg and "syncthreads" in msg


def test_single_sync_scan_race_is_caught():
    a = np.arange(TPB, dtype=np.float32)
    msg = _kernel_error(wc.simulate, scan_one_sync, 1, TPB, a, np.zeros(TPB, np.float32))
    assert "data race on shared array s[" in msg


def test_uninitialised_shared_read():
    @cuda.jit
    def reads_garbage(out):
        s = cuda.shared.array(4, float32)
        t = cuda.threadIdx.x
        if t < 3:
            s[t] = 1.0
        cuda.syncthreads()
        out[t] = s[3 - t]

    msg = _kernel_error(wc.simulate, reads_garbage, 1, 4, np.zeros(4, np.float32))
    assert "read s[3]" in msg and "no thread of this block has written" in msg


def test_divergent_syncthreads_is_reported():
    msg = _kernel_error(wc.simulate, divergent_barrier, 1, 4, np.zeros(4, np.float32))
    assert "finished without reaching the cuda.syncthreads()" in msg and "threads 2..3" in msg


@pytest.mark.parametrize("grid, block, text", [
    (0, 8, "dimension of size 0"),
    (2.5, 8, "whole numbers"),
    (1, 2048, "at most 1024 threads per block"),
])
def test_bad_launch_configurations(grid, block, text):
    a = np.zeros(4, np.float32)
    assert text in _kernel_error(wc.simulate, add_kernel, grid, block, a, a, a)


def test_python_errors_in_a_kernel_name_the_thread():
    msg = _kernel_error(wc.simulate, divide_by_index, 1, 2, np.ones(2, np.float32), np.zeros(2, np.float32))
    assert "divide_by_index, thread 0 of block 0 (global index 0), line" in msg
    assert "ZeroDivisionError" in msg and "`out[i] = a[i] + 1 // i`" in msg


def test_not_implemented_stays_not_implemented():
    with pytest.raises(NotImplementedError):
        wc.simulate(not_attempted, 1, 2, np.zeros(2, np.float32))


def test_kernel_error_is_a_check_failure():
    assert issubclass(wc.KernelError, CheckFailed)
    assert "hint: do this" in str(wc.KernelError("broken", "do this"))
    assert str(wc.KernelError("broken", "do this")) == failure_message("broken", hint="do this")


# ---------------------------------------------------------------- checks for test cells

def test_expect_one_write_per_element_reports_gaps_and_duplicates():
    a = np.arange(20, dtype=np.float32)
    out = np.zeros(20, np.float32)
    launch = wc.simulate(add_kernel, 2, 8, a, a, out)       # covers only 16 of 20
    with pytest.raises(CheckFailed, match=r"4 of 20 elements of out were never written \(first: out\[16\]\)"):
        wc.expect_one_write_per_element(launch, "out")
    wc.expect_one_write_per_element(wc.simulate(add_kernel, 3, 8, a, a, out), "out")


def test_expect_reads_per_element_and_launches():
    a = np.arange(8, dtype=np.float32)
    with wc.trace() as t:
        add_kernel[1, 8](a, a, np.zeros(8, np.float32))
    wc.expect_launches(t, 1)
    with pytest.raises(CheckFailed, match="launched 1 kernel"):
        wc.expect_launches(t, 2, hint="two passes")
    wc.expect_reads_per_element(t.last, "a", 1)
    with pytest.raises(CheckFailed, match=r"a\[0\] was read 1 times from global memory; expected at most 0"):
        wc.expect_reads_per_element(t.last, "a", 0, "(never)")
    with pytest.raises(CheckFailed, match="no array parameter named 'x'"):
        t.last.array("x")


# ---------------------------------------------------------------- GPU results and timing

def test_format_gpu_results(tmp_path):
    assert "bench_gpu.py" in wc.format_gpu_results(None)
    results = {"device": "NVIDIA H100", "date": "2026-01-01", "numba": "0.68", "torch": "2.13",
               "copy_bandwidth_GBps": 3000.0,
               "kernels": {"vector_add": {"size": "n=2^28", "GBps": 2700.0, "vs_copy": 0.9, "torch_GBps": 2750.0,
                                          "torch_vs_copy": 0.92, "target": ">= 80%"},
                           "tiled_matmul": {"size": "4096^3", "TFLOPs": 20.0, "torch_TFLOPs": 50.0,
                                            "vs_torch": 0.4}}}
    path = tmp_path / "gpu_results.json"
    path.write_text(json.dumps(results))
    text = wc.format_gpu_results(wc.load_gpu_results(path))
    assert "measured on NVIDIA H100" in text and "2700 GB/s = 90% of copy bandwidth" in text
    assert "20.00 TFLOP/s = 40% of torch's 50.0" in text
    assert "tiled_matmul" not in wc.format_gpu_results(results, ["vector_add"])
    assert wc.load_gpu_results(tmp_path / "missing.json") is None


def test_time_gpu_returns_seconds_per_call():
    calls = []
    sec = wc.time_gpu(lambda: calls.append(1), warmup=1, repeat=3, number=2)
    assert sec >= 0 and len(calls) == 1 + 3 * 2


def test_committed_gpu_results_are_well_formed():
    path = REPO / "solutions" / "03_cuda_kernels" / "gpu_results.json"
    if not path.exists():
        pytest.skip("no GPU results committed")
    results = json.loads(path.read_text())
    assert results["device"] and results["copy_bandwidth_GBps"] > 0
    for name in ("vector_add", "reduction", "softmax", "tiled_matmul"):
        assert name in results["kernels"], name
        assert results["kernels"][name]["correct"], name
    wc.format_gpu_results(results)


# ---------------------------------------------------------------- numba's real CUDA target, no GPU

def test_trace_reroutes_real_cuda_launches_to_the_simulator(tmp_path):
    """On a GPU machine numba.cuda is real; trace() must still run launches in the simulator."""
    script = tmp_path / "real_cuda.py"
    script.write_text(textwrap.dedent("""
        import numpy as np
        from numba import cuda, float32
        from wcdl.cuda import simulating, trace, KernelError

        assert not simulating()

        @cuda.jit
        def tree(a, partial):
            s = cuda.shared.array(8, float32)
            t = cuda.threadIdx.x
            i = cuda.grid(1)
            s[t] = a[i] if i < a.shape[0] else 0.0
            cuda.syncthreads()
            step = 4
            while step > 0:
                if t < step:
                    s[t] += s[t + step]
                cuda.syncthreads()
                step //= 2
            if t == 0:
                partial[cuda.blockIdx.x] = s[0]

        @cuda.jit
        def unguarded(a):
            a[cuda.grid(1)] = 1.0

        a = np.arange(12, dtype=np.float32)
        partial = np.zeros(2, np.float32)
        with trace() as t:
            tree[2, 8](a, partial)
        assert partial.tolist() == [28.0, 38.0], partial
        assert t.last.barriers == 4
        try:
            with trace():
                unguarded[2, 8](np.zeros(12, np.float32))
        except KernelError as e:
            assert "thread 4 of block 1" in str(e)
        else:
            raise SystemExit("no KernelError")
        print("ok")
    """))
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="0", PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0 and "ok" in proc.stdout, proc.stdout + proc.stderr


# ---------------------------------------------------------------- counting the algorithm

def test_shared_traffic_is_counted_per_thread_of_the_grid():
    a = np.arange(20, dtype=np.float32)
    partial = np.zeros(3, dtype=np.float32)
    launch = wc.simulate(block_sum, 3, TPB, a, partial)
    s = launch.shared_arrays["s"]
    assert s.shape == (TPB,) and s.reads_per_thread.shape == (3 * TPB,)
    # per block: thread 0 reads s[0] and s[step] in each of the 3 steps, then s[0] once more
    assert s.reads_per_thread[0] == 7 and s.reads_per_thread[TPB] == 7 and s.reads_per_thread[2 * TPB] == 7
    assert s.reads == 3 * (2 * (4 + 2 + 1) + 1)
    assert s.writes == 3 * (TPB + 4 + 2 + 1)
    assert s.reads_per_element[0] == 3 * 4            # summed over the 3 blocks
    assert launch.max_shared_reads_per_thread == 7
    assert launch.barriers == launch.min_barriers == 4
    assert launch.atomics == 0
    assert "s 45/45 (max 7 reads by one thread)" in launch.summary()


def test_min_barriers_is_zero_without_syncthreads():
    a = np.arange(8, dtype=np.float32)
    launch = wc.simulate(add_kernel, 1, 8, a, a, np.zeros(8, np.float32))
    assert launch.barriers == 0 and launch.min_barriers == 0 and launch.shared_arrays == {}


def test_expect_tree_accepts_a_tree_and_fails_serial_loops_and_atomics():
    a = np.arange(20, dtype=np.float32)
    partial = np.zeros(3, dtype=np.float32)
    tree = wc.simulate(block_sum, 3, TPB, a, partial)
    wc.expect_tree(tree, TPB)
    serial = wc.simulate(block_sum_serial, 3, TPB, a, partial)
    np.testing.assert_array_equal(partial, [a[:8].sum(), a[8:16].sum(), a[16:].sum()])   # right values...
    with pytest.raises(CheckFailed, match=r"a block went through 1 cuda.syncthreads\(\) phase\(s\); expected at least 3"):
        wc.expect_tree(serial, TPB)                                                         # ...wrong algorithm
    with pytest.raises(CheckFailed, match=r"thread 0 of block 0 read 8 values from shared memory \(s: 8\)"):
        wc.expect_shared_reads_per_thread(serial, 4)
    atomic = wc.simulate(block_sum_shared_atomic, 3, TPB, a, partial)
    np.testing.assert_array_equal(partial, [a[:8].sum(), a[8:16].sum(), a[16:].sum()])
    assert atomic.atomics == 20 and atomic.shared_arrays["s"].atomics == 20
    with pytest.raises(CheckFailed, match="20 atomic operation"):
        wc.expect_tree(atomic, TPB)


def test_expect_reads_per_thread_and_launch_shape():
    a = np.arange(20, dtype=np.float32)
    partial = np.zeros(3, dtype=np.float32)
    launch = wc.simulate(first_of_block_loops, 3, TPB, a, partial)
    np.testing.assert_array_equal(partial, [a[:8].sum(), a[8:16].sum(), a[16:].sum()])
    assert launch.array("a").max_reads_per_element == 1          # each element read once...
    with pytest.raises(CheckFailed, match=r"thread 0 of block 0 read 8 elements of a .* at most 1 per thread"):
        wc.expect_reads_per_thread(launch, "a", 1)                # ...but all by one thread of each block
    wc.expect_reads_per_thread(wc.simulate(block_sum, 3, TPB, a, partial), "a", 1)
    wc.expect_launch_shape(launch, 3, TPB, "block sums")
    wc.expect_launch_shape(launch, (3, 1), (TPB,), "block sums")
    with pytest.raises(CheckFailed, match=r"launched first_of_block_loops\[grid=3, block=8\]; expected grid=2, block=16"):
        wc.expect_launch_shape(launch, 2, 16, "block sums")
    x = np.zeros((5, 12), np.float32)
    two_d = wc.simulate(transpose_2d, (3, 2), (4, 4), x, np.zeros((12, 5), np.float32))
    with pytest.raises(CheckFailed, match=r"expected grid=\(2, 1\), block=\(8, 8\)"):
        wc.expect_launch_shape(two_d, (2, 1), (8, 8), "transpose")



# ---------------------------------------------------------------- the package's layout

def test_only_numba_sim_knows_numbas_internals():
    """A numba upgrade touches one file: private numba paths and attributes appear nowhere else."""
    internals = re.compile(r"numba\.cuda\.simulator|numba\.cuda\.dispatcher|numba\.np\b|FakeCUDAKernel|"
                           r"CUDADispatcher|\bpy_func\b|\btargetoptions\b|\._ary\b|\._device\b")
    package = Path(wc.__file__).parent
    assert (package / "_numba_sim.py").read_text().count("FakeCUDAKernel") > 1
    for path in package.glob("*.py"):
        if path.name == "_numba_sim.py":
            continue
        code = "\n".join(line for line in path.read_text().splitlines() if not line.lstrip().startswith("#"))
        found = internals.findall(code)
        assert not found, f"{path.name} uses numba internals {found}: they belong in _numba_sim.py"


def test_the_grader_snapshots_every_module_of_the_package():
    """The guard restores the helpers' functions and classes before each test: those of every
    module of wcdl.cuda (the classes a test cell reaches through traced(), Launch and Trace)."""
    import inspect
    import pkgutil

    import nbformat

    from grader.guard import helper_bindings

    nb = nbformat.read(REPO / "solutions" / "03_cuda_kernels" / "m03_2_sum_an_array.ipynb", as_version=4)
    tests = [c.source for c in nb.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")]
    _, modules = helper_bindings(nb, tests)
    assert "wcdl.cuda" in modules
    for info in pkgutil.iter_modules(wc.__path__):
        assert f"wcdl.cuda.{info.name}" in modules, info.name
    for name in wc.__all__:
        obj = getattr(wc, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert obj.__module__ in modules, (name, obj.__module__)
