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
    # full sum
    M(NB, "m03_full_sum_answer", "    while x.size > 1:\n        x = block_sums(x)\n    return float(x[0])",
      "    x = block_sums(x)\n    return float(x.sum())",
      "m03_full_sum", "full sum: one pass, then the host adds the partial sums"),
    M(NB, "m03_full_sum_answer", "while x.size > 1:", "while x.size > TPB:",
      "m03_full_sum", "full sum: stops with up to TPB partial sums left, returns the first"),
    # scan
    M(NB, "m03_scan_answer", "        cuda.syncthreads()\n        s[t] += v", "        s[t] += v",
      "m03_scan", "scan: no syncthreads() between reading the neighbour and writing"),
    M(NB, "m03_scan_answer", "v = s[t - offset] if t >= offset else 0.0", "v = s[t - offset]",
      "m03_scan", "scan: no t >= offset check (negative index)"),
    M(NB, "m03_scan_answer", "offset *= 2", "offset += 1",
      "m03_scan", "scan: offset grows by 1 instead of doubling"),
]
