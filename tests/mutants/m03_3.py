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
      "m03_naive_matmul", "naive: column not guarded (non-multiple sizes)", hidden_only=True),
    M(NB, "m03_naive_matmul_answer", "C[row, col] = acc", "C[col, row] = acc",
      "m03_naive_matmul", "naive: result written transposed"),
    M(NB, "m03_naive_matmul_answer", "grid = ((N + TILE - 1) // TILE, (M + TILE - 1) // TILE)",
      "grid = (N // TILE, M // TILE)",
      "m03_naive_matmul", "naive: grid rounded down (C smaller than a tile, or its edge, not computed)",
      hidden_only=True),
    M(NB, "m03_naive_matmul_answer", "col, row = cuda.grid(2)",
      "col, row = cuda.blockIdx.x * TILE + cuda.threadIdx.x, cuda.blockIdx.y * TILE + cuda.threadIdx.y",
      "m03_naive_matmul", "naive: TILE instead of the launch's blockDim (other block shapes)", hidden_only=True),
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
      "m03_tiled_matmul", "tiled: A tile not zero-padded at the edges (non-multiple sizes)", hidden_only=True),
    M(NB, "m03_tiled_matmul_answer",
      "        if k0 + ty < K and col < N:\n            sB[ty, tx] = B[k0 + ty, col]\n"
      "        else:\n            sB[ty, tx] = 0.0\n",
      "        sB[ty, tx] = B[k0 + ty, col]\n",
      "m03_tiled_matmul", "tiled: B tile loaded without bounds checks (non-multiple sizes)", hidden_only=True),
    M(NB, "m03_tiled_matmul_answer",
      "        if row < M and k0 + tx < K:\n            sA[ty, tx] = A[row, k0 + tx]\n"
      "        else:\n            sA[ty, tx] = 0.0\n",
      "        if tx == 0:\n            for j in range(TILE):\n                if row < M and k0 + j < K:\n"
      "                    sA[ty, j] = A[row, k0 + j]\n                else:\n                    sA[ty, j] = 0.0\n",
      "m03_tiled_matmul", "tiled: one thread per row loads the whole row of the A tile (serial loads)",
      hidden_only=True),
]
