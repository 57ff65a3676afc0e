"""Plausible wrong answers for m01_5_rnns_are_matmuls_too.

No exercise calls another exercise's function, so every mutant fails only
its own exercise. The "projection inside the loop" mutants give correct
values and fail only through the matmul count (T + 1, not 2T).
"""

from tests.mutants import M

NB = "m01_5_rnns_are_matmuls_too"
IP, RNN, GRU = "m01_input_projection_answer", "m01_rnn_forward_answer", "m01_gru_forward_answer"

MUTANTS = [
    # input_projection
    M(NB, IP, "+ (b_ih + b_hh)", "+ b_ih",
      "m01_input_projection", "input_projection: b_hh forgotten"),
    M(NB, IP, "return x @ W_ih.T + (b_ih + b_hh)",
      "return torch.stack([x[t] @ W_ih.T for t in range(x.shape[0])]) + (b_ih + b_hh)",
      "m01_input_projection", "input_projection: one matmul per time step (right values, T matmuls)"),
    M(NB, IP, "return x @ W_ih.T + (b_ih + b_hh)",
      "return (x.reshape(-1, x.shape[-1]) @ W_ih.T).reshape(x.shape[0], x.shape[1], -1) + (b_ih + b_hh)",
      "m01_input_projection", "input_projection: assumes a 3-D x (fails only hidden 2-D and 4-D inputs)",
      hidden_only=True),
    M(NB, IP, "return x @ W_ih.T + (b_ih + b_hh)", "return x.float() @ W_ih.float().T + (b_ih + b_hh).float()",
      "m01_input_projection", "input_projection: casts to float32 (fails only the hidden float64 cases)",
      hidden_only=True),
    # rnn_forward
    M(NB, RNN, "h = torch.tanh(xp[t] + h @ W_hh.T)", "h = torch.tanh(xp[t] + h @ W_hh)",
      "m01_rnn_forward", "rnn_forward: W_hh not transposed"),
    M(NB, RNN, "h = torch.tanh(xp[t] + h @ W_hh.T)", "h = torch.tanh(x[t] @ W_ih.T + b_ih + b_hh + h @ W_hh.T)",
      "m01_rnn_forward", "rnn_forward: input projection inside the loop (right values, 2T matmuls)"),
    M(NB, RNN, "output = output.transpose(0, 1)", "output = output.contiguous()",
      "m01_rnn_forward", "rnn_forward: batch_first output left time-first"),
    M(NB, RNN, "h, outs = h0[0], []", "h, outs = h0.squeeze(), []",
      "m01_rnn_forward", "rnn_forward: h0.squeeze() also drops B or H of size 1 (fails only hidden sizes)",
      hidden_only=True),
    M(NB, RNN, "outs.append(h)", "outs.append(h)\n        h = h.detach()",
      "m01_rnn_forward", "rnn_forward: state detached between steps (values right, gradients cut)",
      hidden_only=True),
    M(NB, RNN, "x = x.transpose(0, 1)                        # (T, B, I), a view",
      "return torch.rnn_tanh(x, h0, [W_ih, W_hh, b_ih, b_hh], True, 1, 0.0, False, False, True)",
      "m01_rnn_forward", "rnn_forward: calls torch's own RNN for batch_first (right values and T + 1 matmuls)"),
    # gru_forward
    M(NB, GRU, "hr, hz, hn = (h @ W_hh.T + b_hh).chunk(3, dim=-1)", "hz, hr, hn = (h @ W_hh.T + b_hh).chunk(3, dim=-1)",
      "m01_gru_forward", "gru_forward: hidden gates read in the order z, r, n"),
    M(NB, GRU, "n = torch.tanh(xn[t] + r * hn)",
      "n = torch.tanh(xn[t] + (r * h) @ W_hh.T.chunk(3, dim=-1)[2] + b_hh.chunk(3)[2])",
      "m01_gru_forward", "gru_forward: reset gate applied before the matmul (Cho et al.), not PyTorch's"),
    M(NB, GRU, "xp = x @ W_ih.T + b_ih ", "return torch.gru(x, h0, [W_ih, W_hh, b_ih, b_hh], True, 1, 0.0, False, False, False)\n    xp = None ",
      "m01_gru_forward", "gru_forward: calls torch's own GRU (right values and T + 1 matmuls)"),
    M(NB, GRU, "h = (1 - z) * n + z * h", "h = z * n + (1 - z) * h",
      "m01_gru_forward", "gru_forward: update gate weights swapped"),
    M(NB, GRU, "hr, hz, hn = (h @ W_hh.T + b_hh).chunk(3, dim=-1)",
      "hr, hz, hn = (h @ W_hh.T + b_hh).chunk(3, dim=-1)\n        xr, xz, xn = (x @ W_ih.T + b_ih).chunk(3, dim=-1)",
      "m01_gru_forward", "gru_forward: input projection recomputed inside the loop (right values, 2T matmuls)"),
    M(NB, GRU, "h, outs = h0[0], []", "h, outs = h0.squeeze(), []",
      "m01_gru_forward", "gru_forward: h0.squeeze() also drops B or H of size 1 (fails only hidden sizes)",
      hidden_only=True),
    M(NB, GRU, "xp = x @ W_ih.T + b_ih ", "xp = (x @ W_ih.T + b_ih).float() ",
      "m01_gru_forward", "gru_forward: casts the projection to float32 (fails only the hidden float64 cases)",
      hidden_only=True),
]
