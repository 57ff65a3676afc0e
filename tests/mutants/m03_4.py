"""Plausible wrong answers for m03_4_fused_softmax."""

from tests.mutants import M

NB = "m03_4_fused_softmax"

MUTANTS = [
    M(NB, "m03_softmax_answer", "e = math.exp(vals[j] - m)", "e = math.exp(vals[j])",
      "m03_softmax", "softmax: no max subtraction (overflows on the hidden large-logit rows)"),
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
