"""Module 03 on a real GPU: this module's kernels at real sizes, against torch and a plain copy.

    python bench_gpu.py                      # on a machine with an NVIDIA GPU; writes gpu_results.json
    python bench_gpu.py --out results.json   # somewhere else
    WCDL_FORCE_CUDASIM=1 python bench_gpu.py --check   # no GPU: check every kernel in the simulator

Memory-bound kernels (vector add, reduction, softmax) are reported as achieved bandwidth
(bytes that must move / time) and as a fraction of the device's measured copy bandwidth
(a torch device-to-device copy, bytes read + written); matmul as FLOP/s against torch's
float32 matmul (TF32 off). Everything is measured in one run, as ratios, with the device
synchronised around the clock (median of repeats after warm-up). Every kernel's output
is also checked against torch at the full size.

The kernels are the notebooks' reference kernels, made into factories so the block
size (a compile-time constant in numba) can be chosen here: the simulator needs tiny
blocks, a GPU wants hundreds of threads per block.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))   # the repository root, for `wcdl`

from wcdl.cuda import gpu_present  # noqa: E402  (does not import numba)

if not gpu_present():
    os.environ["NUMBA_ENABLE_CUDASIM"] = "1"

import numpy as np  # noqa: E402

# numba-cuda 0.30 (seen on an H100 image with numpy 2.5.2) registers an overload for
# np.row_stack, which numpy 2.5 removed; without this alias it cannot compile any kernel.
NUMPY_ROW_STACK_ALIAS = not hasattr(np, "row_stack")
if NUMPY_ROW_STACK_ALIAS:
    np.row_stack = np.vstack

from numba import cuda, float32  # noqa: E402

from wcdl.cuda import setup, simulating, time_gpu  # noqa: E402

TARGETS = {"vector_add": 0.80, "reduction": 0.70, "tiled_matmul": 0.25}


# ============================================================== kernels (notebooks 03.1 - 03.4)

@cuda.jit
def add_kernel(a, b, out):
    i = cuda.grid(1)
    if i < out.shape[0]:
        out[i] = a[i] + b[i]


def make_block_sum(tpb: int):
    """Notebook 03.2's tree reduction: one element per thread, tpb threads per block."""
    @cuda.jit
    def block_sum_kernel(a, partial):
        s = cuda.shared.array(tpb, float32)
        t = cuda.threadIdx.x
        i = cuda.blockIdx.x * tpb + t
        if i < a.shape[0]:
            s[t] = a[i]
        else:
            s[t] = 0.0
        cuda.syncthreads()
        step = tpb // 2
        while step > 0:
            if t < step:
                s[t] += s[t + step]
            cuda.syncthreads()
            step //= 2
        if t == 0:
            partial[cuda.blockIdx.x] = s[0]
    return block_sum_kernel


def make_block_sum_strided(tpb: int):
    """The same tree, after each thread first adds up many elements (grid-stride loop, 4 at a time)."""
    @cuda.jit
    def block_sum_strided_kernel(a, partial):
        s = cuda.shared.array(tpb, float32)
        t = cuda.threadIdx.x
        n = a.shape[0]
        stride = cuda.gridDim.x * tpb
        i = cuda.blockIdx.x * tpb + t
        acc0 = float32(0.0)
        acc1 = float32(0.0)
        acc2 = float32(0.0)
        acc3 = float32(0.0)
        while i + 3 * stride < n:
            acc0 += a[i]
            acc1 += a[i + stride]
            acc2 += a[i + 2 * stride]
            acc3 += a[i + 3 * stride]
            i += 4 * stride
        while i < n:
            acc0 += a[i]
            i += stride
        s[t] = (acc0 + acc1) + (acc2 + acc3)
        cuda.syncthreads()
        step = tpb // 2
        while step > 0:
            if t < step:
                s[t] += s[t + step]
            cuda.syncthreads()
            step //= 2
        if t == 0:
            partial[cuda.blockIdx.x] = s[0]
    return block_sum_strided_kernel


def make_tiled_matmul(tile: int):
    """Notebook 03.3's shared-memory tiled kernel with tile x tile blocks."""
    @cuda.jit
    def tiled_matmul_kernel(A, B, C):
        sA = cuda.shared.array((tile, tile), float32)
        sB = cuda.shared.array((tile, tile), float32)
        tx = cuda.threadIdx.x
        ty = cuda.threadIdx.y
        col, row = cuda.grid(2)
        M, K = A.shape
        N = B.shape[1]
        acc = float32(0.0)
        for k0 in range(0, K, tile):
            if row < M and k0 + tx < K:
                sA[ty, tx] = A[row, k0 + tx]
            else:
                sA[ty, tx] = 0.0
            if k0 + ty < K and col < N:
                sB[ty, tx] = B[k0 + ty, col]
            else:
                sB[ty, tx] = 0.0
            cuda.syncthreads()
            for k in range(tile):
                acc += sA[ty, k] * sB[k, tx]
            cuda.syncthreads()
        if row < M and col < N:
            C[row, col] = acc
    return tiled_matmul_kernel


def make_register_tiled_matmul(bm: int, bn: int, bk: int, tm: int, tn: int):
    """Tiled in shared memory *and* in registers: each thread computes a tm x tn patch of C.

    Blocks of (bm / tm) * (bn / tn) threads compute bm x bn tiles of C; M, N, K must be
    multiples of bm, bn and bk. The tiled kernel's idea one level further: a thread
    reuses each value it loads from shared memory tm (or tn) times from a register.
    """
    threads = (bm // tm) * (bn // tn)
    a_loads = bm * bk // threads
    b_loads = bk * bn // threads

    @cuda.jit
    def register_tiled_matmul_kernel(A, B, C):
        sA = cuda.shared.array((bk, bm), float32)    # the A tile, transposed
        sB = cuda.shared.array((bk, bn), float32)
        acc = cuda.local.array((tm, tn), float32)
        reg_m = cuda.local.array(tm, float32)
        reg_n = cuda.local.array(tn, float32)
        t = cuda.threadIdx.x
        tr = t // (bn // tn)
        tc = t % (bn // tn)
        row0 = cuda.blockIdx.y * bm
        col0 = cuda.blockIdx.x * bn
        K = A.shape[1]
        for i in range(tm):
            for j in range(tn):
                acc[i, j] = 0.0
        for k0 in range(0, K, bk):
            for step in range(a_loads):
                idx = t + step * threads
                sA[idx % bk, idx // bk] = A[row0 + idx // bk, k0 + idx % bk]
            for step in range(b_loads):
                idx = t + step * threads
                sB[idx // bn, idx % bn] = B[k0 + idx // bn, col0 + idx % bn]
            cuda.syncthreads()
            for k in range(bk):
                for i in range(tm):
                    reg_m[i] = sA[k, tr * tm + i]
                for j in range(tn):
                    reg_n[j] = sB[k, tc * tn + j]
                for i in range(tm):
                    for j in range(tn):
                        acc[i, j] += reg_m[i] * reg_n[j]
            cuda.syncthreads()
        for i in range(tm):
            for j in range(tn):
                C[row0 + tr * tm + i, col0 + tc * tn + j] = acc[i, j]

    return register_tiled_matmul_kernel, threads


def make_softmax(tpb: int, max_cols: int):
    """Notebook 03.4's fused row-wise softmax: one block of tpb threads per row."""
    @cuda.jit
    def softmax_kernel(x, out):
        row = cuda.blockIdx.x
        t = cuda.threadIdx.x
        n = x.shape[1]
        vals = cuda.shared.array(max_cols, float32)
        red = cuda.shared.array(tpb, float32)
        m = -math.inf
        for j in range(t, n, tpb):
            v = x[row, j]
            vals[j] = v
            m = max(m, v)
        red[t] = m
        cuda.syncthreads()
        step = tpb // 2
        while step > 0:
            if t < step:
                red[t] = max(red[t], red[t + step])
            cuda.syncthreads()
            step //= 2
        m = red[0]
        cuda.syncthreads()
        s = 0.0
        for j in range(t, n, tpb):
            e = math.exp(vals[j] - m)
            vals[j] = e
            s += e
        red[t] = s
        cuda.syncthreads()
        step = tpb // 2
        while step > 0:
            if t < step:
                red[t] += red[t + step]
            cuda.syncthreads()
            step //= 2
        total = red[0]
        for j in range(t, n, tpb):
            out[row, j] = vals[j] / total
    return softmax_kernel


# ============================================================== launchers

def vector_add(a, b, out, tpb=256):
    add_kernel[(a.shape[0] + tpb - 1) // tpb, tpb](a, b, out)


def reduce_sum(kernel, tpb, a, partial, blocks=None):
    """Sum of device array a into partial[0]: one wide pass, then passes over the partials."""
    n = a.shape[0]
    blocks = blocks or (n + tpb - 1) // tpb
    kernel[blocks, tpb](a, partial)
    n = blocks
    while n > 1:
        nb = (n + tpb - 1) // tpb
        kernel[nb, tpb](partial[:n], partial[n:n + nb])   # disjoint slices: no read/write overlap
        partial, n = partial[n:], nb
    return partial


# ============================================================== the benchmark

def _device_arrays(*tensors):
    return [cuda.as_cuda_array(t) for t in tensors]


def bench(args) -> dict:
    import torch

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    dev = torch.device("cuda")
    props = torch.cuda.get_device_properties(dev)
    g = torch.Generator(device=dev).manual_seed(0)
    quick = args.quick
    kw_fast = dict(warmup=3, repeat=5 if quick else 15, number=10)
    kw_slow = dict(warmup=2, repeat=3 if quick else 7, number=3)

    from wcdl.cuda import copy_bandwidth
    copy_bw = copy_bandwidth(1 << 30, **kw_fast)
    print(f"device: {props.name}; copy bandwidth {copy_bw / 1e9:.0f} GB/s", flush=True)
    kernels: dict[str, dict] = {}

    def bandwidth_entry(name, size, nbytes, sec, torch_sec, target=None, correct=True):
        gbps, tgbps = nbytes / sec, nbytes / torch_sec
        e = {"size": size, "bytes_moved": nbytes, "seconds": sec, "GBps": gbps / 1e9, "vs_copy": gbps / copy_bw,
             "torch_GBps": tgbps / 1e9, "torch_vs_copy": tgbps / copy_bw, "vs_torch": gbps / tgbps,
             "correct": bool(correct)}
        if target is not None:
            e["target"] = f">= {target:.0%} of copy bandwidth"
            e["met"] = bool(gbps / copy_bw >= target)
        kernels[name] = e
        print(f"{name:24s} {size:28s} {gbps / 1e9:7.0f} GB/s = {gbps / copy_bw:5.1%} of copy; torch {tgbps / 1e9:6.0f} GB/s"
              f"{'' if correct else '  WRONG RESULT'}", flush=True)

    # -- vector add
    n = 1 << (26 if quick else 28)
    ta, tb = torch.rand(n, device=dev, generator=g), torch.rand(n, device=dev, generator=g)
    tout, tref = torch.empty_like(ta), torch.empty_like(ta)
    a, b, out = _device_arrays(ta, tb, tout)
    sec = time_gpu(lambda: vector_add(a, b, out), **kw_fast)
    tsec = time_gpu(lambda: torch.add(ta, tb, out=tref), **kw_fast)
    bandwidth_entry("vector_add", f"n=2^{int(math.log2(n))} float32", 3 * 4 * n, sec, tsec,
                    TARGETS["vector_add"], torch.equal(tout, tref))
    del tb, tout, tref, b, out

    # -- reduction: notebook kernel as is (one element per thread), and with a grid-stride loop
    tpart = torch.zeros(1 << 22, device=dev)
    part = cuda.as_cuda_array(tpart)
    ref = ta.double().sum().item()
    best = None
    for tpb in (256, 512, 1024):
        k = make_block_sum_strided(tpb)
        blocks = props.multi_processor_count * max(1, 2048 // tpb)
        res = {}
        sec = time_gpu(lambda: res.__setitem__("p", reduce_sum(k, tpb, a, part, blocks)), **kw_fast)
        got = float(res["p"].copy_to_host()[0])
        if best is None or sec < best[0]:
            best = (sec, tpb, blocks, got)
    tsec = time_gpu(lambda: torch.sum(ta), **kw_fast)
    sec, tpb, blocks, got = best
    bandwidth_entry("reduction", f"n=2^{int(math.log2(n))}, {blocks}x{tpb} threads", 4 * n, sec, tsec,
                    TARGETS["reduction"], abs(got - ref) <= 1e-4 * abs(ref))
    k = make_block_sum(1024)
    res = {}
    sec = time_gpu(lambda: res.__setitem__("p", reduce_sum(k, 1024, a, part)), **kw_fast)
    got = float(res["p"].copy_to_host()[0])
    bandwidth_entry("reduction_course", f"n=2^{int(math.log2(n))}, 1 elem/thread", 4 * n, sec, tsec,
                    None, abs(got - ref) <= 1e-4 * abs(ref))
    del ta, a, tpart, part

    # -- softmax
    rows, cols = (8192 if quick else 32768), 4096
    tx = torch.randn(rows, cols, device=dev, generator=g)
    ty = torch.empty_like(tx)
    x, y = _device_arrays(tx, ty)
    best = None
    for tpb in (128, 256, 512):
        k = make_softmax(tpb, cols)
        sec = time_gpu(lambda: k[rows, tpb](x, y), **kw_fast)
        if best is None or sec < best[0]:
            best = (sec, tpb)
    sec, tpb = best
    make_softmax(tpb, cols)[rows, tpb](x, y)
    tref = torch.softmax(tx, dim=1)
    ok = torch.allclose(ty, tref, atol=1e-6, rtol=1e-4)
    tsec = time_gpu(lambda: torch.softmax(tx, dim=1), **kw_fast)
    bandwidth_entry("softmax", f"{rows}x{cols} float32, {tpb} thr/row", 2 * 4 * rows * cols, sec, tsec, None, ok)
    del tx, ty, x, y, tref

    # -- matmul
    mn = 2048 if quick else 4096
    tA, tB = torch.randn(mn, mn, device=dev, generator=g), torch.randn(mn, mn, device=dev, generator=g)
    tC = torch.empty(mn, mn, device=dev)
    A, B, C = _device_arrays(tA, tB, tC)
    tref = tA @ tB
    flops = 2 * mn ** 3
    tsec = time_gpu(lambda: torch.mm(tA, tB), **kw_slow)
    torch_tflops = flops / tsec / 1e12

    def matmul_entry(name, sec, size, target=None):
        ok = torch.allclose(tC, tref, atol=1e-2, rtol=1e-3)
        e = {"size": size, "seconds": sec, "TFLOPs": flops / sec / 1e12, "torch_TFLOPs": torch_tflops,
             "vs_torch": tsec / sec, "correct": bool(ok)}
        if target is not None:
            e["target"] = f">= {target:.0%} of torch float32"
            e["met"] = bool(tsec / sec >= target)
        kernels[name] = e
        print(f"{name:24s} {size:28s} {flops / sec / 1e12:7.2f} TFLOP/s = {tsec / sec:5.1%} of torch's "
              f"{torch_tflops:.1f}{'' if ok else '  WRONG RESULT'}", flush=True)
        tC.zero_()

    for tile in (16, 32):
        k = make_tiled_matmul(tile)
        grid = ((mn + tile - 1) // tile, (mn + tile - 1) // tile)
        sec = time_gpu(lambda: k[grid, (tile, tile)](A, B, C), **kw_slow)
        matmul_entry(f"tiled_matmul_course_{tile}", sec, f"{mn}^3 float32, TILE={tile}")
    best = None
    for cfg in ((128, 128, 8, 8, 8), (64, 64, 8, 4, 4), (128, 64, 8, 8, 4)):
        k, threads = make_register_tiled_matmul(*cfg)
        bm, bn = cfg[0], cfg[1]
        grid = (mn // bn, mn // bm)
        sec = time_gpu(lambda: k[grid, threads](A, B, C), **kw_slow)
        print(f"  register tiles {cfg}: {flops / sec / 1e12:.2f} TFLOP/s", flush=True)
        if best is None or sec < best[0]:
            best = (sec, cfg, k, threads, grid)
    sec, cfg, k, threads, grid = best
    k[grid, threads](A, B, C)
    matmul_entry("tiled_matmul", sec, f"{mn}^3 float32, {cfg[0]}x{cfg[1]} tiles, {cfg[3]}x{cfg[4]}/thread",
                 TARGETS["tiled_matmul"])

    import numba
    try:
        from importlib.metadata import version
        numba_cuda = version("numba-cuda")
    except Exception:
        numba_cuda = None
    return {
        "device": props.name,
        "date": datetime.date.today().isoformat(),
        "numba": numba.__version__,
        "numba_cuda": numba_cuda,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "numpy_row_stack_alias": NUMPY_ROW_STACK_ALIAS,
        "python": platform.python_version(),
        "multiprocessors": props.multi_processor_count,
        "copy_bandwidth_GBps": copy_bw / 1e9,
        "note": ("bandwidth = bytes that must move / median time; copy bandwidth = torch device-to-device "
                 "copy of 1 GiB, bytes read + written; matmul in float32 with TF32 off"),
        "kernels": kernels,
    }


# ============================================================== --check: tiny sizes, any machine

def check() -> None:
    """Every kernel at tiny sizes against numpy (in the checking simulator when there is no GPU)."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(100).astype(np.float32), rng.standard_normal(100).astype(np.float32)
    out = np.zeros_like(a)
    vector_add(a, b, out, tpb=32)
    assert np.allclose(out, a + b), "vector_add"
    x = rng.integers(-9, 10, 3000).astype(np.float32)
    for k, tpb, blocks in ((make_block_sum(32), 32, None), (make_block_sum_strided(32), 32, 5)):
        part = np.zeros(4096, np.float32)
        p = reduce_sum(k, tpb, x, part, blocks)
        assert float(p[0]) == float(x.sum()), (k.__name__, p[0], x.sum())
    A = rng.standard_normal((20, 12)).astype(np.float32)
    B = rng.standard_normal((12, 28)).astype(np.float32)
    C = np.zeros((20, 28), np.float32)
    make_tiled_matmul(8)[(4, 3), (8, 8)](A, B, C)
    assert np.allclose(C, A @ B, atol=1e-4), "tiled"
    A = rng.standard_normal((16, 16)).astype(np.float32)
    B = rng.standard_normal((16, 32)).astype(np.float32)
    C = np.zeros((16, 32), np.float32)
    k, threads = make_register_tiled_matmul(8, 16, 4, 2, 4)
    k[(2, 2), threads](A, B, C)
    assert np.allclose(C, A @ B, atol=1e-4), "register tiled"
    x = rng.standard_normal((3, 40)).astype(np.float32)
    y = np.zeros_like(x)
    make_softmax(16, 64)[3, 16](x, y)
    e = np.exp(x - x.max(1, keepdims=True))
    assert np.allclose(y, e / e.sum(1, keepdims=True), atol=1e-6), "softmax"
    print("all kernels correct at tiny sizes" + (" (checking simulator)" if simulating() else ""))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(Path(__file__).with_name("gpu_results.json")))
    p.add_argument("--check", action="store_true", help="only check the kernels at tiny sizes")
    p.add_argument("--quick", action="store_true", help="smaller sizes and fewer repeats")
    args = p.parse_args(argv)
    print(setup(), flush=True)
    check()
    if args.check:
        return 0
    if simulating():
        print("no GPU: nothing to measure (run with --check to test the kernels in the simulator)")
        return 1
    results = bench(args)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
