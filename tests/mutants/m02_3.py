"""Plausible wrong answers for m02_3_fusion_and_batching.

No exercise's tests call another exercise's function, so every mutant fails
only its own exercise. The loop mutant of expert_linear gives right values
and fails only through the op counts.
"""

from tests.mutants import M

NB = "m02_3_fusion_and_batching"

MUTANTS = [
    # memory_traffic
    M(NB, "m02_memory_traffic_answer", "        if r.is_view:\n            continue\n", "",
      "m02_memory_traffic", "views counted as if they copied data"),
    M(NB, "m02_memory_traffic_answer",
      "total += sum(t.nbytes for t in r.inputs) + sum(t.nbytes for t in r.outputs)",
      "total += sum(t.nbytes for t in r.inputs)",
      "m02_memory_traffic", "writes not counted"),
    M(NB, "m02_memory_traffic_answer", "+ sum(t.nbytes for t in r.outputs)", "+ r.outputs[0].nbytes",
      "m02_memory_traffic", "only the first output counted (fails only hidden multi-output ops)", hidden_only=True),
    # expert_linear
    M(NB, "m02_expert_linear_answer", "x, weight.transpose(1, 2))", "x, weight)",
      "m02_expert_linear", "weight not transposed (nn.Linear layout is (d_out, d_in))"),
    M(NB, "m02_expert_linear_answer", "return torch.baddbmm(bias[:, None, :], x, weight.transpose(1, 2))",
      "return torch.stack([x[e] @ weight[e].T + bias[e] for e in range(x.shape[0])])",
      "m02_expert_linear", "Python loop over experts (right values, op count grows)"),
    M(NB, "m02_expert_linear_answer", "bias[:, None, :]", "bias[None, :, :]",
      "m02_expert_linear", "bias given a leading axis instead of a token axis"),
    M(NB, "m02_expert_linear_answer", "return torch.baddbmm(bias[:, None, :], x, weight.transpose(1, 2))",
      "return torch.baddbmm(bias[:, None, :].float(), x.float(), weight.transpose(1, 2).float())",
      "m02_expert_linear", "everything cast to float32 (float64 and bfloat16 experts change dtype)", hidden_only=True),
    # find_knee
    M(NB, "m02_find_knee_answer", "target = frac * throughputs.max()", "target = frac * throughputs[-1]",
      "m02_find_knee", "target from the last throughput, not the best"),
    M(NB, "m02_find_knee_answer", "            return int(bs)", "            return list(batch_sizes).index(bs)",
      "m02_find_knee", "returns the index instead of the batch size"),
    M(NB, "m02_find_knee_answer", "if tp >= target:", "if tp > target:",
      "m02_find_knee", "strictly above the target (fails only the hidden tie)", hidden_only=True),
]
