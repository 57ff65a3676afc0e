"""Plausible wrong answers for m01_4_loops_considered_harmful.

No exercise in this notebook calls another exercise's function, so every
mutant fails only its own exercise. Loop mutants give correct values and
fail only through the op-count check (assert_no_python_loop).
"""

from tests.mutants import M

NB = "m01_4_loops_considered_harmful"

MUTANTS = [
    # outer
    M(NB, "m01_outer_product_answer", "return a[:, None] * b[None, :]", "return a[None, :] * b[:, None]",
      "m01_outer_product", "outer: broadcast axes swapped, (n, m) result"),
    M(NB, "m01_outer_product_answer", "return a[:, None] * b[None, :]",
      "return torch.stack([a[i] * b for i in range(a.shape[0])])",
      "m01_outer_product", "outer: loop over rows of a (right values, op count grows)"),
    M(NB, "m01_outer_product_answer", "return a[:, None] * b[None, :]", "return a.float()[:, None] * b.float()[None, :]",
      "m01_outer_product", "outer: casts to float32 (fails only the hidden dtype cases)", hidden_only=True),
    M(NB, "m01_outer_product_answer", "return a[:, None] * b[None, :]", "return a[:, None] @ b[None, :]",
      "m01_outer_product", "outer: (m, 1) @ (1, n) matmul, which refuses two different dtypes", hidden_only=True),
    # pairwise squared distances
    M(NB, "m01_pairwise_sq_dists_answer", "return D.clamp(min=0)", "return D",
      "m01_pairwise_sq_dists", "pairwise: no clamp at 0 (fails only the hidden cancellation case)", hidden_only=True),
    M(NB, "m01_pairwise_sq_dists_answer", "- 2 * (X @ Y.T)", "- 2 * torch.stack([Y @ x for x in X])",
      "m01_pairwise_sq_dists", "pairwise: loop of matrix-vector products over rows of X (op count grows)"),
    M(NB, "m01_pairwise_sq_dists_answer", "- 2 * (X @ Y.T)", "- (X @ Y.T)",
      "m01_pairwise_sq_dists", "pairwise: cross term missing the factor 2"),
    M(NB, "m01_pairwise_sq_dists_answer", "D = x2[:, None] + y2[None, :] - 2 * (X @ Y.T)",
      "D = ((X[:, None, :] - Y[None, :, :]) ** 2).sum(-1)",
      "m01_pairwise_sq_dists", "pairwise: (n, m, d) broadcast difference instead of one matmul"),
    # conv2d as matmul
    M(NB, "m01_conv2d_as_matmul_answer", "out = out + bias[:, None]", "out = out",
      "m01_conv2d_as_matmul", "conv: bias forgotten"),
    M(NB, "m01_conv2d_as_matmul_answer", "out = weight.reshape(O, -1) @ cols",
      "out = weight.permute(0, 2, 3, 1).reshape(O, -1) @ cols",
      "m01_conv2d_as_matmul", "conv: filters flattened (kh, kw, C), not unfold's (C, kh, kw) order"),
    M(NB, "m01_conv2d_as_matmul_answer", "return out.reshape(N, O, Ho, Wo)", "return out.reshape(N, O, Wo, Ho)",
      "m01_conv2d_as_matmul", "conv: output reshaped to (Wo, Ho) (fails only hidden non-square outputs)", hidden_only=True),
    M(NB, "m01_conv2d_as_matmul_answer", "out = weight.reshape(O, -1) @ cols",
      "out = torch.stack([weight.reshape(O, -1) @ cols[i] for i in range(N)])",
      "m01_conv2d_as_matmul", "conv: loop over the batch (op count grows)"),
    # pick_logits
    M(NB, "m01_pick_logits_answer", "device=logits.device)[:, None]", "device=logits.device)",
      "m01_pick_logits", "pick_logits: row index not reshaped to (b, 1)"),
    M(NB, "m01_pick_logits_answer", "return logits[rows, cols, targets]",
      "return torch.stack([logits[i, cols, targets[i]] for i in range(b)])",
      "m01_pick_logits", "pick_logits: loop over the batch (op count grows)"),
    M(NB, "m01_pick_logits_answer", "return logits[rows, cols, targets]",
      "return torch.gather(logits, 2, targets[..., None]).squeeze()",
      "m01_pick_logits", "pick_logits: squeeze() also drops a batch or sequence axis of size 1", hidden_only=True),
    M(NB, "m01_pick_logits_answer", "return logits[rows, cols, targets]",
      "return torch.tensor([row[t] for row, t in zip(logits.reshape(b * s, -1).tolist(), targets.reshape(-1).tolist())])"
      ".reshape(b, s)",
      "m01_pick_logits", "pick_logits: loop over .tolist() (few torch ops, values leave torch)"),
    # cross_entropy
    M(NB, "m01_cross_entropy_answer", "shifted = logits - m", "shifted = logits",
      "m01_cross_entropy", "cross_entropy: no max shift, overflows (fails only the hidden large-logit case)",
      hidden_only=True),
    M(NB, "m01_cross_entropy_answer", "m = logits.max(dim=1, keepdim=True).values.detach()", "m = logits.max().detach()",
      "m01_cross_entropy", "cross_entropy: one global max, rows far below it underflow to log(0)", hidden_only=True),
    M(NB, "m01_cross_entropy_answer", "return -picked.mean()", "return -picked.sum()",
      "m01_cross_entropy", "cross_entropy: sum instead of mean over rows"),
    M(NB, "m01_cross_entropy_answer", "shifted.exp().sum(dim=1, keepdim=True)", "shifted.exp().sum(dim=0, keepdim=True)",
      "m01_cross_entropy", "cross_entropy: normaliser summed over the batch axis"),
    M(NB, "m01_cross_entropy_answer",
      "picked = logp[torch.arange(logits.shape[0], device=logits.device), targets]",
      "picked = torch.stack([logp[i, targets[i]] for i in range(logits.shape[0])])",
      "m01_cross_entropy", "cross_entropy: loop over rows to pick targets (op count grows)"),
]
