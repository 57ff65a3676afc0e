"""Plausible wrong answers for m03_4_fused_softmax."""

from tests.mutants import M

NB = "m03_4_fused_softmax"

MUTANTS = [
    M(NB, "m03_softmax_answer", "e = math.exp(vals[j] - m)", "e = math.exp(vals[j])",
      "m03_softmax", "softmax: no max subtraction (overflows on large logits)", hidden_only=True),
    M(NB, "m03_softmax_answer", "m = -math.inf", "m = 0.0",
      "m03_softmax", "softmax: running max starts at 0 (rows of large negative values give 0 / 0)",
      hidden_only=True),
    M(NB, "m03_softmax_answer",
      "    step = TPB // 2\n    while step > 0:\n        if t < step:\n            red[t] = max(red[t], red[t + step])\n"
      "        cuda.syncthreads()\n        step //= 2\n",
      "    if t == 0:\n        for j in range(1, TPB):\n            red[0] = max(red[0], red[j])\n    cuda.syncthreads()\n",
      "m03_softmax", "softmax: row max by a loop in thread 0 instead of a tree", hidden_only=True),
    M(NB, "m03_softmax_answer", "e = math.exp(vals[j] - m)", "e = math.exp(x[row, j] - m)",
      "m03_softmax", "softmax: reads x again instead of the shared row buffer (2 reads per element)"),
    M(NB, "m03_softmax_answer", "    m = red[0]\n    cuda.syncthreads()", "    m = red[0]",
      "m03_softmax", "softmax: no syncthreads() between reading the max and reusing red"),
    M(NB, "m03_softmax_answer", "red[t] = max(red[t], red[t + step])\n        cuda.syncthreads()",
      "red[t] = max(red[t], red[t + step])",
      "m03_softmax", "softmax: no syncthreads() between max-reduction steps"),
    M(NB, "m03_softmax_answer", "softmax_kernel[x.shape[0], TPB](x, out)", "softmax_kernel[1, TPB](x, out)",
      "m03_softmax", "softmax: one block for the whole matrix (only row 0 computed)"),
]
