"""Plausible wrong answers for m05_3_impala.

No graded test calls another exercise's function (the throughput and training
cells use them but are not graded), so each mutant fails only its own
exercise. The "never gives slots back" mutant makes the ungraded benchmark and
training cells wait for their queue timeouts; that is the behaviour a learner
would see, so it is kept.
"""

from tests.mutants import M

NB = "m05_3_impala"

MUTANTS = [
    # get_batch
    M(NB, "m05_get_batch_answer",
      "    batch = {key: torch.cat([buf[m] for m in indices], dim=1) for key, buf in buffers.items()}\n"
      "    for m in indices:\n"
      "        free_queue.put(m)\n",
      "    for m in indices:\n"
      "        free_queue.put(m)\n"
      "    batch = {key: torch.cat([buf[m] for m in indices], dim=1) for key, buf in buffers.items()}\n",
      "m05_get_batch", "get_batch: slots given back before they are copied (a fast actor overwrites them)"),
    M(NB, "m05_get_batch_answer", "    for m in indices:\n        free_queue.put(m)\n", "",
      "m05_get_batch", "get_batch: slots never given back to the free queue"),
    M(NB, "m05_get_batch_answer", "torch.cat([buf[m] for m in indices], dim=1)", "torch.stack([buf[m] for m in indices], dim=1)",
      "m05_get_batch", "get_batch: stack (T+1, B, E) instead of concatenating environments"),
    M(NB, "m05_get_batch_answer", "torch.cat([buf[m] for m in indices], dim=1)", "torch.cat([buf[m] for m in indices], dim=0)",
      "m05_get_batch", "get_batch: concatenated along time"),
    M(NB, "m05_get_batch_answer", "full_queue.get(timeout=timeout)", "full_queue.get()",
      "m05_get_batch", "get_batch: timeout not passed on (fails only the hidden test)", hidden_only=True),
    # log_importance_ratios
    M(NB, "m05_log_importance_ratios_answer", "return target_logp - behaviour_logp", "return behaviour_logp - target_logp",
      "m05_log_importance_ratios", "log rho: mu over pi"),
    M(NB, "m05_log_importance_ratios_answer",
      "target_logp = torch.log_softmax(target_logits, dim=-1).gather(-1, index).squeeze(-1)\n"
      "    behaviour_logp = torch.log_softmax(behaviour_logits, dim=-1).gather(-1, index).squeeze(-1)",
      "target_logp = target_logits.gather(-1, index).squeeze(-1)\n"
      "    behaviour_logp = behaviour_logits.gather(-1, index).squeeze(-1)",
      "m05_log_importance_ratios", "log rho: raw logits, not log-probabilities"),
    M(NB, "m05_log_importance_ratios_answer", "return target_logp - behaviour_logp",
      "return torch.exp(target_logp - behaviour_logp)",
      "m05_log_importance_ratios", "log rho: returns rho itself"),
    # vtrace
    M(NB, "m05_vtrace_answer", "clipped_rhos = torch.clamp(rhos, max=clip_rho)", "clipped_rhos = rhos",
      "m05_vtrace", "vtrace: rho not clipped"),
    M(NB, "m05_vtrace_answer", "cs = torch.clamp(rhos, max=clip_c)", "cs = torch.clamp(rhos, max=clip_rho)",
      "m05_vtrace", "vtrace: traces clipped with clip_rho"),
    M(NB, "m05_vtrace_answer", "acc = deltas[t] + discounts[t] * cs[t] * acc", "acc = deltas[t] + discounts[t] * acc",
      "m05_vtrace", "vtrace: trace coefficient c missing in the recursion"),
    M(NB, "m05_vtrace_answer", "vs_tp1 = torch.cat([vs[1:], bootstrap_value[None]], dim=0)", "vs_tp1 = values_tp1",
      "m05_vtrace", "vtrace: advantage bootstraps from V(x_t+1) instead of vs_t+1"),
    M(NB, "m05_vtrace_answer", "values_tp1 = torch.cat([values[1:], bootstrap_value[None]], dim=0)",
      "values_tp1 = torch.cat([values[1:], values[-1:]], dim=0)",
      "m05_vtrace", "vtrace: bootstrap value ignored (last value repeated)"),
    M(NB, "m05_vtrace_answer",
      "        acc = torch.zeros_like(bootstrap_value)\n"
      "        for t in range(values.shape[0] - 1, -1, -1):\n"
      "            acc = deltas[t] + discounts[t] * cs[t] * acc\n"
      "            vs_minus_v[t] = acc\n",
      "        for b in range(values.shape[1]):\n"
      "            acc = 0.0\n"
      "            for t in range(values.shape[0] - 1, -1, -1):\n"
      "                acc = deltas[t, b] + discounts[t, b] * cs[t, b] * acc\n"
      "                vs_minus_v[t, b] = acc\n",
      "m05_vtrace", "vtrace: Python loop over the batch (op count grows)"),
    M(NB, "m05_vtrace_answer",
      "        acc = torch.zeros_like(bootstrap_value)\n"
      "        for t in range(values.shape[0] - 1, -1, -1):\n"
      "            acc = deltas[t] + discounts[t] * cs[t] * acc\n"
      "            vs_minus_v[t] = acc\n",
      "        T = values.shape[0]\n"
      "        for t in range(T):\n"
      "            total = torch.zeros_like(bootstrap_value)\n"
      "            coef = torch.ones_like(bootstrap_value)\n"
      "            for s in range(t, T):\n"
      "                total = total + coef * deltas[s]\n"
      "                coef = coef * discounts[s] * cs[s]\n"
      "            vs_minus_v[t] = total\n",
      "m05_vtrace", "vtrace: the O(T^2) double sum from the definition (ops grow quadratically in T)"),
    # generated hidden cases and the contract (wcdl.checks.call_checked)
    M(NB, "m05_get_batch_answer", "full_queue.get(timeout=timeout)", "full_queue.get(timeout)",
      "m05_get_batch", "get_batch: timeout passed positionally (it is `block`)", hidden_only=True),
    M(NB, "m05_get_batch_answer", "full_queue.get(timeout=timeout)", "full_queue.get(timeout=timeout or 5.0)",
      "m05_get_batch", "get_batch: timeout=None replaced by 5 s (never waits forever)", hidden_only=True),
    M(NB, "m05_log_importance_ratios_answer",
      "target_logp = torch.log_softmax(target_logits, dim=-1).gather(-1, index).squeeze(-1)\n"
      "    behaviour_logp = torch.log_softmax(behaviour_logits, dim=-1).gather(-1, index).squeeze(-1)",
      "target_logp = torch.log(torch.softmax(target_logits, dim=-1)).gather(-1, index).squeeze(-1)\n"
      "    behaviour_logp = torch.log(torch.softmax(behaviour_logits, dim=-1)).gather(-1, index).squeeze(-1)",
      "m05_log_importance_ratios", "log rho: log(softmax), -inf for far-apart logits", hidden_only=True),
    M(NB, "m05_log_importance_ratios_answer",
      "target_logp = torch.log_softmax(target_logits, dim=-1).gather(-1, index).squeeze(-1)\n"
      "    behaviour_logp = torch.log_softmax(behaviour_logits, dim=-1).gather(-1, index).squeeze(-1)",
      "target_logp = torch.log_softmax(target_logits, dim=2).gather(2, index).squeeze(2)\n"
      "    behaviour_logp = torch.log_softmax(behaviour_logits, dim=2).gather(2, index).squeeze(2)",
      "m05_log_importance_ratios", "log rho: dim 2 hard-coded, right only for 3-D logits", hidden_only=True),
    M(NB, "m05_vtrace_answer", "vs_minus_v = torch.empty_like(values)", "vs_minus_v = torch.zeros(values.shape)",
      "m05_vtrace", "vtrace: float32 buffer, float64 inputs come back float32", hidden_only=True),
]
