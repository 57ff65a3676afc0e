"""Plausible wrong answers for m03_3_tiled_matmul (naive and shared-memory tiled matmul).

The two exercises are independent (tiled_matmul does not call naive_matmul), so each
mutant fails only its own exercise. The tiled kernel's efficiency is graded by counted
global reads per element, its synchronisation by the simulator's race checks.
"""

from tests.mutants import M

NB = "m03_3_tiled_matmul"

MUTANTS = [
    # naive
    M(NB, "m03_naive_matmul_answer", "for k in range(A.shape[1]):", "for k in range(A.shape[0]):",
      "m03_naive_matmul", "naive: inner loop over M instead of K"),
    M(NB, "m03_naive_matmul_answer", "if row < C.shape[0] and col < C.shape[1]:", "if row < C.shape[0]:",
      "m03_naive_matmul", "naive: column not guarded (hidden non-multiple sizes only)"),
    M(NB, "m03_naive_matmul_answer", "C[row, col] = acc", "C[col, row] = acc",
      "m03_naive_matmul", "naive: result written transposed"),
    # tiled
    M(NB, "m03_tiled_matmul_answer", "        cuda.syncthreads()\n        for k in range(TILE):",
      "        for k in range(TILE):",
      "m03_tiled_matmul", "tiled: no syncthreads() after loading the tiles"),
    M(NB, "m03_tiled_matmul_answer", "            acc += sA[ty, k] * sB[k, tx]\n        cuda.syncthreads()",
      "            acc += sA[ty, k] * sB[k, tx]",
      "m03_tiled_matmul", "tiled: no syncthreads() before the next step overwrites the tiles"),
    M(NB, "m03_tiled_matmul_answer", "acc += sA[ty, k] * sB[k, tx]", "acc += A[row, k0 + k] * sB[k, tx]",
      "m03_tiled_matmul", "tiled: reads A from global memory in the inner loop (TILE x the reads)"),
    M(NB, "m03_tiled_matmul_answer", "        else:\n            sA[ty, tx] = 0.0\n", "",
      "m03_tiled_matmul", "tiled: A tile not zero-padded at the edges (hidden non-multiple sizes only)"),
]
