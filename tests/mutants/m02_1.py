"""Plausible wrong answers for m02_1_three_regimes (FLOPs, bytes, roofline, regimes).

No exercise's tests call another exercise's function, so every mutant fails
only its own exercise.
"""

from tests.mutants import M

NB = "m02_1_three_regimes"

MUTANTS = [
    # matmul_cost
    M(NB, "m02_matmul_cost_answer", "flops = 2 * m * k * n", "flops = m * k * n",
      "m02_matmul_cost", "matmul: a multiply-add counted as 1 FLOP"),
    M(NB, "m02_matmul_cost_answer", "nbytes = (m * k + k * n + m * n) * dtype.itemsize",
      "nbytes = (m * k + k * n) * dtype.itemsize",
      "m02_matmul_cost", "matmul: writing the output not counted"),
    M(NB, "m02_matmul_cost_answer", "(m * k + k * n + m * n) * dtype.itemsize", "(m * k + k * n + m * n) * 4",
      "m02_matmul_cost", "matmul: 4 bytes per element whatever the dtype"),
    M(NB, "m02_matmul_cost_answer", "* dtype.itemsize", "* (torch.finfo(dtype).bits // 8)",
      "m02_matmul_cost", "matmul: bytes from torch.finfo, which refuses integer dtypes", hidden_only=True),
    # pointwise_cost
    M(NB, "m02_pointwise_cost_answer", '"sum": N + rows,', '"sum": 2 * N,',
      "m02_pointwise_cost", "row sum: output counted as full size"),
    M(NB, "m02_pointwise_cost_answer", '"layernorm": 2 * N + 2 * cols,', '"layernorm": 2 * N,',
      "m02_pointwise_cost", "layernorm: weight and bias not read"),
    M(NB, "m02_pointwise_cost_answer", "rows = N // cols", "rows = int(shape[0])",
      "m02_pointwise_cost", "rows taken from the first axis (fails only hidden 1-D and 3-D shapes)", hidden_only=True),
    # ridge_point / attainable_flops
    M(NB, "m02_roofline_answer", "return np.minimum(peak_flops, np.asarray(intensity, dtype=float) * bandwidth)",
      "return np.maximum(peak_flops, np.asarray(intensity, dtype=float) * bandwidth)",
      "m02_roofline", "roofline: max instead of min"),
    M(NB, "m02_roofline_answer", "return peak_flops / bandwidth", "return bandwidth / peak_flops",
      "m02_roofline", "ridge point inverted"),
    M(NB, "m02_roofline_answer", "return np.minimum(peak_flops, np.asarray(intensity, dtype=float) * bandwidth)",
      "return min(peak_flops, intensity * bandwidth)",
      "m02_roofline", "Python min: fails on an array of intensities"),
    M(NB, "m02_roofline_answer", "return np.minimum(peak_flops, np.asarray(intensity, dtype=float) * bandwidth)",
      "return np.minimum(peak_flops, np.asarray(intensity, dtype=float) * bandwidth).tolist()",
      "m02_roofline", "roofline: .tolist() turns an array of intensities into a list", hidden_only=True),
    # regime
    M(NB, "m02_regime_answer", "if t_compute >= t_memory and t_compute >= overhead_s:",
      "if t_compute > t_memory and t_compute >= overhead_s:",
      "m02_regime", "tie at the ridge goes to memory (fails only the hidden tie cases)", hidden_only=True),
    M(NB, "m02_regime_answer", '    elif t_memory >= overhead_s:\n        name = "memory"\n    else:\n        name = "overhead"',
      '    else:\n        name = "memory"',
      "m02_regime", "overhead never considered"),
    M(NB, "m02_regime_answer", "seconds = max(t_compute, t_memory, overhead_s)",
      "seconds = t_compute + t_memory + overhead_s",
      "m02_regime", "times added instead of overlapping"),
]
