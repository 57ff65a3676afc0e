"""Plausible wrong answers for m03_1_threads_blocks_grids (threads, blocks, grids).

No exercise calls another's function, so every mutant fails only its own exercise.
Missing or wrong guards fail through the checking simulator's out-of-bounds report
(a real GPU would often run them without any error).
"""

from tests.mutants import M

NB = "m03_1_threads_blocks_grids"

MUTANTS = [
    # map
    M(NB, "m03_map_answer", "i = cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x", "i = cuda.threadIdx.x",
      "m03_map", "map: global index ignores the block (every block redoes elements 0..7)"),
    M(NB, "m03_map_answer", "i = cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x",
      "i = cuda.blockIdx.x + cuda.threadIdx.x",
      "m03_map", "map: block index not multiplied by blockDim"),
    M(NB, "m03_map_answer", "i = cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x",
      "i = cuda.blockIdx.x * THREADS + cuda.threadIdx.x",
      "m03_map", "map: the launcher's THREADS instead of the launch's blockDim (other block sizes)",
      hidden_only=True),
    # zip with a guard
    M(NB, "m03_zip_guard_answer", "if i < out.shape[0]:\n        out[i] = a[i] + b[i]", "out[i] = a[i] + b[i]",
      "m03_zip_guard", "zip: no guard (the last block's spare threads read past the end)"),
    M(NB, "m03_zip_guard_answer", "if i < out.shape[0]:", "if i <= out.shape[0]:",
      "m03_zip_guard", "zip: off-by-one guard <= n"),
    M(NB, "m03_zip_guard_answer", "blocks = (a.size + threads_per_block - 1) // threads_per_block",
      "blocks = a.size // threads_per_block",
      "m03_zip_guard", "zip: number of blocks rounded down (tail never computed)"),
    M(NB, "m03_zip_guard_answer", "blocks = (a.size + threads_per_block - 1) // threads_per_block",
      "blocks = a.size // threads_per_block + 1",
      "m03_zip_guard", "zip: always one block more (a wasted block when n is a multiple)", hidden_only=True),
    M(NB, "m03_zip_guard_answer",
      "blocks = (a.size + threads_per_block - 1) // threads_per_block\n    add_kernel[blocks, threads_per_block]",
      "blocks = (a.size + 31) // 32\n    add_kernel[blocks, 32]",
      "m03_zip_guard", "zip: threads_per_block argument ignored (always 32)", hidden_only=True),
    M(NB, "m03_zip_guard_answer", "out = np.empty_like(a)", "out = np.empty(a.size, dtype=np.float32)",
      "m03_zip_guard", "zip: output always float32 (wrong for float64 and integer inputs)", hidden_only=True),
    # 2-D indexing
    M(NB, "m03_2d_indexing_answer", "if row < a.shape[0] and col < a.shape[1]:", "if row < a.shape[0]:",
      "m03_2d_indexing", "transpose: column index not guarded"),
    M(NB, "m03_2d_indexing_answer",
      "grid = ((cols + block[0] - 1) // block[0], (rows + block[1] - 1) // block[1])",
      "grid = ((rows + block[0] - 1) // block[0], (cols + block[1] - 1) // block[1])",
      "m03_2d_indexing", "transpose: grid axes swapped (x along rows)"),
    M(NB, "m03_2d_indexing_answer", "        out[col, row] = a[row, col]", "        out[row, col] = a[row, col]",
      "m03_2d_indexing", "transpose: writes without swapping the indices"),
    M(NB, "m03_2d_indexing_answer",
      "grid = ((cols + block[0] - 1) // block[0], (rows + block[1] - 1) // block[1])",
      "grid = ((cols + block[0] - 1) // block[0], (rows + block[0] - 1) // block[0])",
      "m03_2d_indexing", "transpose: block[0] used for both axes (square blocks assumed)", hidden_only=True),
    M(NB, "m03_2d_indexing_answer", "out = np.empty((cols, rows), dtype=a.dtype)",
      "out = np.empty((cols, rows), dtype=np.float32)",
      "m03_2d_indexing", "transpose: output always float32", hidden_only=True),
    # broadcasting
    M(NB, "m03_broadcast_answer", "        out[row, col] = x[row, col] + bias[col]",
      "        out[row, col] = x[row, col] + bias[row]",
      "m03_broadcast", "bias: indexed by row instead of column"),
    M(NB, "m03_broadcast_answer", "if row < out.shape[0] and col < out.shape[1]:", "if row < out.shape[0]:",
      "m03_broadcast", "bias: column index not guarded"),
    M(NB, "m03_broadcast_answer",
      "grid = ((cols + block[0] - 1) // block[0], (rows + block[1] - 1) // block[1])",
      "grid = ((rows + block[0] - 1) // block[0], (cols + block[1] - 1) // block[1])",
      "m03_broadcast", "bias: grid axes swapped"),
    M(NB, "m03_broadcast_answer", "out = np.empty_like(x)", "out = x",
      "m03_broadcast", "bias: added in place into x (the caller's input changes)"),
    M(NB, "m03_broadcast_answer",
      "grid = ((cols + block[0] - 1) // block[0], (rows + block[1] - 1) // block[1])\n"
      "    add_bias_kernel[grid, block]",
      "grid = ((cols + 7) // 8, (rows + 7) // 8)\n    add_bias_kernel[grid, (8, 8)]",
      "m03_broadcast", "bias: block argument ignored (always 8 x 8)", hidden_only=True),
    M(NB, "m03_broadcast_answer",
      "grid = ((cols + block[0] - 1) // block[0], (rows + block[1] - 1) // block[1])",
      "grid = ((cols + block[0] - 1) // block[0], (rows + block[0] - 1) // block[0])",
      "m03_broadcast", "bias: block[0] used for both axes (square blocks assumed)", hidden_only=True),
]
