"""Wrong answers for m04_2_naive_bayes_vs_bert (naive Bayes, mean pooling, bootstrap, McNemar).

Each exercise's tests call only its own function (the demo cells that use them are not
graded), so every mutant fails only its own exercise.
"""

from tests.mutants import M

NB = "m04_2_naive_bayes_vs_bert"

MUTANTS = [
    # fit_multinomial_nb
    M(NB, "m04_multinomial_nb_answer", "smoothed = counts + alpha", "smoothed = counts",
      "m04_multinomial_nb", "no Laplace smoothing: log(0) = -inf for unseen words"),
    M(NB, "m04_multinomial_nb_answer", "np.log(smoothed.sum(axis=1, keepdims=True))",
      "np.log(counts.sum(axis=1, keepdims=True) + alpha)",
      "m04_multinomial_nb", "denominator N_k + alpha instead of N_k + alpha * V"),
    M(NB, "m04_multinomial_nb_answer", "class_log_prior = np.log(np.bincount(y, minlength=K) / len(y))",
      "class_log_prior = np.log(np.full(K, 1.0 / K))",
      "m04_multinomial_nb", "uniform class prior"),
    # mean_pool
    M(NB, "m04_mean_pool_answer", "summed = (last_hidden_state * m).sum(dim=1)",
      "summed = last_hidden_state.sum(dim=1)",
      "m04_mean_pool", "padding vectors summed in (mask only in the count)"),
    M(NB, "m04_mean_pool_answer", "counts = m.sum(dim=1).clamp(min=1e-9)", "counts = m.sum(dim=1)",
      "m04_mean_pool", "no clamp: nan for a fully padded row (hidden only)", hidden_only=True),
    M(NB, "m04_mean_pool_answer", "summed = (last_hidden_state * m).sum(dim=1)",
      "summed = torch.stack([(h * mm).sum(dim=0) for h, mm in zip(last_hidden_state, m)])",
      "m04_mean_pool", "Python loop over the batch (right values, op count grows)"),
    # bootstrap_ci
    M(NB, "m04_bootstrap_ci_answer", "tail = (1 - level) / 2", "tail = 1 - level",
      "m04_bootstrap_ci", "1 - level not split between the tails (a 90% interval)"),
    M(NB, "m04_bootstrap_ci_answer", "stats = np.array([metric(y_true[i], y_pred[i]) for i in idx])",
      "stats = np.array([metric(y_true[i], y_pred[rng.integers(0, n, size=n)]) for i in idx])",
      "m04_bootstrap_ci", "pairs broken: predictions resampled independently of labels"),
    M(NB, "m04_bootstrap_ci_answer", "idx = rng.integers(0, n, size=(n_boot, n))",
      "idx = np.array([rng.permutation(n) for _ in range(n_boot)])",
      "m04_bootstrap_ci", "resampling without replacement (zero-width interval)"),
    # mcnemar_test
    M(NB, "m04_mcnemar_answer", "return b, c, float(min(1.0, 2 * tail))", "return b, c, float(tail)",
      "m04_mcnemar", "one-sided p-value"),
    M(NB, "m04_mcnemar_answer", "return b, c, float(min(1.0, 2 * tail))", "return b, c, float(2 * tail)",
      "m04_mcnemar", "p-value not capped at 1 (hidden only, b == c)", hidden_only=True),
    M(NB, "m04_mcnemar_answer",
      "b = int(np.sum(a_right & ~b_right))\n    c = int(np.sum(~a_right & b_right))",
      "pa, pb = np.asarray(pred_a), np.asarray(pred_b)\n"
      "    b = int(np.sum((pa == 1) & (pb == 0)))\n    c = int(np.sum((pa == 0) & (pb == 1)))",
      "m04_mcnemar", "counts disagreements in predicted labels, not in correctness"),
    # generated hidden cases and the contract (wcdl.checks.call_checked)
    M(NB, "m04_multinomial_nb_answer", "np.asarray(X[y == k].sum(axis=0), dtype=np.float64)",
      "np.asarray(X[y == k].sum(axis=0))",
      "m04_multinomial_nb", "float32 counts give float32 log-probabilities", hidden_only=True),
    M(NB, "m04_multinomial_nb_answer", "np.log(smoothed.sum(axis=1, keepdims=True))",
      "np.log(counts.sum(axis=1, keepdims=True) + alpha * np.count_nonzero(counts.sum(axis=0)))",
      "m04_multinomial_nb", "V counts only the words that occur", hidden_only=True),
    M(NB, "m04_mean_pool_answer", "m = attention_mask.unsqueeze(-1).to(last_hidden_state.dtype)",
      "m = attention_mask.unsqueeze(-1).float()",
      "m04_mean_pool", "mask made float32: half-precision states come back float32", hidden_only=True),
    M(NB, "m04_mean_pool_answer", "summed = (last_hidden_state * m).sum(dim=1)",
      "last_hidden_state[attention_mask == 0] = 0\n    summed = last_hidden_state.sum(dim=1)",
      "m04_mean_pool", "zeroes the padding of the caller's tensor in place", hidden_only=True),
    M(NB, "m04_bootstrap_ci_answer", "metric(y_true[i], y_pred[i])", "metric(y_pred[i], y_true[i])",
      "m04_bootstrap_ci", "metric called as metric(y_pred, y_true)", hidden_only=True),
    M(NB, "m04_bootstrap_ci_answer", "idx = rng.integers(0, n, size=(n_boot, n))",
      "np.random.seed(seed)\n    idx = np.random.randint(0, n, size=(n_boot, n))",
      "m04_bootstrap_ci", "reseeds numpy's global generator", hidden_only=True),
    M(NB, "m04_mcnemar_answer", "b = int(np.sum(a_right & ~b_right))", "b = np.sum(a_right & ~b_right)",
      "m04_mcnemar", "b left a numpy integer: 2 ** (b + c) overflows in int64"),
    M(NB, "m04_mcnemar_answer", "tail = sum(math.comb(n, i) for i in range(min(b, c) + 1)) / 2 ** n",
      "tail = sum(math.comb(n, i) * 0.5 ** n for i in range(min(b, c) + 1))",
      "m04_mcnemar", "0.5 ** n in floats: fails for thousands of disagreements", hidden_only=True),
]
