"""Plausible wrong answers for m03_2_sum_an_array (atomic sum, tree reduction, full sum, scan).

gpu_sum calls the learner's block_sums, so every block_sum_kernel mutant also fails
m03_full_sum (on purpose: the full reduction is built from the block reduction).
Missing syncthreads() calls fail through the checking simulator's race and
uninitialised-shared-memory reports, deterministically.
"""

from tests.mutants import M

NB = "m03_2_sum_an_array"
BLOCK = "m03_block_sum m03_full_sum"   # a broken block_sums breaks gpu_sum too

MUTANTS = [
    # atomic sum
    M(NB, "m03_atomic_sum_answer", "cuda.atomic.add(total, 0, a[i])", "total[0] += a[i]",
      "m03_atomic_sum", "atomic: plain += on total[0] (a data race)"),
    M(NB, "m03_atomic_sum_answer", "if i < a.shape[0]:\n        cuda.atomic.add(total, 0, a[i])",
      "cuda.atomic.add(total, 0, a[i])",
      "m03_atomic_sum", "atomic: no guard"),
    M(NB, "m03_atomic_sum_answer", "blocks = (a.size + threads_per_block - 1) // threads_per_block",
      "blocks = a.size // threads_per_block",
      "m03_atomic_sum", "atomic: number of blocks rounded down"),
    M(NB, "m03_atomic_sum_answer", "return float(total[0])", "return total[0]",
      "m03_atomic_sum", "atomic: returns a numpy float32, not the Python float the docstring promises",
      hidden_only=True),
    M(NB, "m03_atomic_sum_answer",
      "blocks = (a.size + threads_per_block - 1) // threads_per_block\n    atomic_sum_kernel[blocks, threads_per_block]",
      "blocks = (a.size + 31) // 32\n    atomic_sum_kernel[blocks, 32]",
      "m03_atomic_sum", "atomic: threads_per_block argument ignored (always 32)", hidden_only=True),
    # block sums (tree reduction)
    M(NB, "m03_block_sum_answer", "    cuda.syncthreads()\n    step = TPB // 2", "    step = TPB // 2",
      BLOCK, "tree: no syncthreads() after loading shared memory"),
    M(NB, "m03_block_sum_answer", "        cuda.syncthreads()\n        step //= 2", "        step //= 2",
      BLOCK, "tree: no syncthreads() between reduction steps"),
    M(NB, "m03_block_sum_answer", "        s[t] = a[i]\n    else:\n        s[t] = 0.0", "        s[t] = a[i]",
      BLOCK, "tree: no zero padding past the end of a"),
    M(NB, "m03_block_sum_answer", "    if t == 0:\n        partial[cuda.blockIdx.x] = s[0]",
      "    partial[cuda.blockIdx.x] = s[0]",
      BLOCK, "tree: every thread writes the block's result (a write-write race)"),
    M(NB, "m03_block_sum_answer", "blocks = (a.size + TPB - 1) // TPB", "blocks = a.size // TPB + 1",
      BLOCK, "tree: one block more than needed when n is a multiple of TPB (an extra partial sum)"),
    M(NB, "m03_block_sum_answer",
      "    step = TPB // 2\n    while step > 0:\n        if t < step:\n            s[t] += s[t + step]\n"
      "        cuda.syncthreads()\n        step //= 2\n    if t == 0:\n        partial[cuda.blockIdx.x] = s[0]",
      "    if t == 0:\n        acc = 0.0\n        for j in range(TPB):\n            acc += s[j]\n"
      "        partial[cuda.blockIdx.x] = acc",
      "m03_block_sum", "tree: thread 0 adds the block's shared values in a loop (serial, not a tree)",
      hidden_only=True),
    M(NB, "m03_block_sum_answer",
      "    s = cuda.shared.array(TPB, float32)\n    t = cuda.threadIdx.x\n    i = cuda.blockIdx.x * TPB + t\n"
      "    if i < a.shape[0]:\n        s[t] = a[i]\n    else:\n        s[t] = 0.0\n    cuda.syncthreads()\n"
      "    step = TPB // 2\n    while step > 0:\n        if t < step:\n            s[t] += s[t + step]\n"
      "        cuda.syncthreads()\n        step //= 2\n    if t == 0:\n        partial[cuda.blockIdx.x] = s[0]",
      "    if cuda.threadIdx.x == 0:\n        acc = 0.0\n        start = cuda.blockIdx.x * TPB\n"
      "        for j in range(start, min(start + TPB, a.shape[0])):\n            acc += a[j]\n"
      "        partial[cuda.blockIdx.x] = acc",
      "m03_block_sum", "tree: thread 0 of each block reads its slice from global memory in a loop",
      hidden_only=True),
    # full sum
    M(NB, "m03_full_sum_answer", "    while x.size > 1:\n        x = block_sums(x)\n    return float(x[0])",
      "    x = block_sums(x)\n    return float(x.sum())",
      "m03_full_sum", "full sum: one pass, then the host adds the partial sums"),
    M(NB, "m03_full_sum_answer", "while x.size > 1:", "while x.size > TPB:",
      "m03_full_sum", "full sum: stops with up to TPB partial sums left, returns the first"),
    M(NB, "m03_full_sum_answer", "return float(x[0])", "return x[0]",
      "m03_full_sum", "full sum: returns a numpy float32, not a Python float", hidden_only=True),
    # scan
    M(NB, "m03_scan_answer", "        cuda.syncthreads()\n        s[t] += v", "        s[t] += v",
      "m03_scan", "scan: no syncthreads() between reading the neighbour and writing"),
    M(NB, "m03_scan_answer", "v = s[t - offset] if t >= offset else 0.0", "v = s[t - offset]",
      "m03_scan", "scan: no t >= offset check (negative index)"),
    M(NB, "m03_scan_answer", "offset *= 2", "offset += 1",
      "m03_scan", "scan: offset grows by 1 instead of doubling"),
    M(NB, "m03_scan_answer",
      "    offset = 1\n    while offset < SCAN_TPB:\n        v = s[t - offset] if t >= offset else 0.0\n"
      "        cuda.syncthreads()\n        s[t] += v\n        cuda.syncthreads()\n        offset *= 2\n"
      "    if t < n:\n        out[t] = s[t]",
      "    if t < n:\n        acc = 0.0\n        for j in range(t + 1):\n            acc += s[j]\n        out[t] = acc",
      "m03_scan", "scan: each thread loops over its prefix (O(n) per thread, one step)", hidden_only=True),
    M(NB, "m03_scan_answer",
      "    s = cuda.shared.array(SCAN_TPB, float32)\n    t = cuda.threadIdx.x\n",
      "    if cuda.threadIdx.x == 0:\n        acc = 0.0\n        for j in range(a.shape[0]):\n"
      "            acc += a[j]\n            out[j] = acc\n    return\n"
      "    s = cuda.shared.array(SCAN_TPB, float32)\n    t = cuda.threadIdx.x\n",
      "m03_scan", "scan: thread 0 scans the whole array in a loop (serial)", hidden_only=True),
    M(NB, "m03_scan_answer", "scan_kernel[1, SCAN_TPB](a, out)", "scan_kernel[1, a.size](a, out)",
      "m03_scan", "scan: launches len(a) threads, not the block of SCAN_TPB the kernel is written for",
      hidden_only=True),
]
