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
      "m04_mean_pool", "no clamp: nan for a fully padded row (hidden only)"),
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
      "m04_mcnemar", "p-value not capped at 1 (hidden only, b == c)"),
    M(NB, "m04_mcnemar_answer",
      "b = int(np.sum(a_right & ~b_right))\n    c = int(np.sum(~a_right & b_right))",
      "pa, pb = np.asarray(pred_a), np.asarray(pred_b)\n"
      "    b = int(np.sum((pa == 1) & (pb == 0)))\n    c = int(np.sum((pa == 0) & (pb == 1)))",
      "m04_mcnemar", "counts disagreements in predicted labels, not in correctness"),
]
