"""Wrong answers for m04_3_clever_hans (shortcut, top tokens, score grid, spread).

Each exercise's tests call only its own function, so every mutant fails only its own
exercise (the demo cells that combine them are not graded).
"""

from tests.mutants import M

NB = "m04_3_clever_hans"

MUTANTS = [
    # plant_shortcut
    M(NB, "m04_plant_shortcut_answer", 'return [t + " " + token if i in chosen', "return [t + token if i in chosen",
      "m04_plant_shortcut", "token glued to the last word (no space)"),
    M(NB, "m04_plant_shortcut_answer", "spam = np.flatnonzero(labels == 1)", "spam = np.arange(len(labels))",
      "m04_plant_shortcut", "ham messages marked too"),
    M(NB, "m04_plant_shortcut_answer", "rng = np.random.default_rng(seed)", "rng = np.random.default_rng()",
      "m04_plant_shortcut", "unseeded generator: not reproducible"),
    M(NB, "m04_plant_shortcut_answer",
      'return [t + " " + token if i in chosen else t for i, t in enumerate(texts)]',
      'for i in chosen:\n        texts[i] = texts[i] + " " + token\n    return texts',
      "m04_plant_shortcut", "modifies the input list in place"),
    # top_tokens
    M(NB, "m04_top_tokens_answer", "score = clf.feature_log_prob_[1] - clf.feature_log_prob_[0]",
      "score = clf.feature_log_prob_[1]",
      "m04_top_tokens", "naive Bayes: spam log-probability alone (frequent words), not the ratio"),
    M(NB, "m04_top_tokens_answer", 'order = np.argsort(-score if spam else score, kind="stable")[:k]',
      'order = np.argsort(-np.abs(score), kind="stable")[:k]',
      "m04_top_tokens", "ranks by |score|: strong ham evidence mixed into the spam list"),
    M(NB, "m04_top_tokens_answer", 'order = np.argsort(-score if spam else score, kind="stable")[:k]',
      'order = np.argsort(score if spam else -score, kind="stable")[:k]',
      "m04_top_tokens", "sort direction inverted"),
    # score_grid
    M(NB, "m04_score_grid_answer", "random_state=split_seed)", "random_state=0)",
      "m04_score_grid", "the same split for every split seed"),
    M(NB, "m04_score_grid_answer", "pred = fit_predict(tr_texts, labels[tr], te_texts, model_seed)",
      "pred = fit_predict(tr_texts, labels[tr], te_texts, split_seed)",
      "m04_score_grid", "split seed passed to the model instead of the model seed"),
    M(NB, "m04_score_grid_answer", "test_size=test_size, stratify=labels,", "test_size=test_size,",
      "m04_score_grid", "split not stratified (hidden only)", hidden_only=True),
    # spread
    M(NB, "m04_spread_answer", '"std": float(grid.std(ddof=1)) if grid.size > 1 else 0.0',
      '"std": float(grid.std())',
      "m04_spread", "population std (ddof=0) over all runs"),
    M(NB, "m04_spread_answer", '"split_std": float(grid.mean(axis=1).std(ddof=1))',
      '"split_std": float(grid.mean(axis=0).std(ddof=1))',
      "m04_spread", "split_std taken across seeds instead of splits"),
    M(NB, "m04_spread_answer", '"seed_std": float(grid.std(axis=1, ddof=1).mean()) if n_seeds > 1 else 0.0',
      '"seed_std": float(grid.std(axis=1, ddof=1).mean())',
      "m04_spread", "no single-seed guard: nan seed_std (hidden only)", hidden_only=True),
    # generated hidden cases and the contract (wcdl.checks.call_checked)
    M(NB, "m04_plant_shortcut_answer", "size=round(rate * len(spam))", "size=int(rate * len(spam))",
      "m04_plant_shortcut", "int() truncates where the docstring says round()", hidden_only=True),
    M(NB, "m04_plant_shortcut_answer", "rng = np.random.default_rng(seed)", "np.random.seed(seed)\n    rng = np.random",
      "m04_plant_shortcut", "reseeds numpy's global generator", hidden_only=True),
    M(NB, "m04_top_tokens_answer", "clf = model[-1]", "clf = model[1]",
      "m04_top_tokens", "model[1] as the classifier: breaks on a three-step pipeline", hidden_only=True),
    M(NB, "m04_top_tokens_answer", 'order = np.argsort(-score if spam else score, kind="stable")[:k]',
      'order = np.argsort(score, kind="stable")[-k:][::-1] if spam else np.argsort(score, kind="stable")[:k]',
      "m04_top_tokens", "[-k:] idiom: k = 0 returns the whole vocabulary", hidden_only=True),
    M(NB, "m04_score_grid_answer", "pred = fit_predict(tr_texts, labels[tr], te_texts, model_seed)",
      "np.random.seed(model_seed)\n            pred = fit_predict(tr_texts, labels[tr], te_texts, model_seed)",
      "m04_score_grid", "reseeds numpy's global generator before each model", hidden_only=True),
    M(NB, "m04_spread_answer", '"seed_std": float(grid.std(axis=1, ddof=1).mean()) if n_seeds > 1 else 0.0',
      '"seed_std": float(grid.mean(axis=0).std(ddof=1)) if n_seeds > 1 else 0.0',
      "m04_spread", "seed_std as the std of the per-seed means", hidden_only=True),
    M(NB, "m04_spread_answer", '"seed_std": float(grid.std(axis=1, ddof=1).mean()) if n_seeds > 1 else 0.0',
      '"seed_std": float(np.sqrt(grid.var(axis=1, ddof=1).mean())) if n_seeds > 1 else 0.0',
      "m04_spread", "seed_std pooled (root of the mean variance), not the mean std", hidden_only=True),
]
