"""Wrong answers for m04_1_look_at_the_data (duplicates, leaks, group split, metrics, rules).

No exercise's test calls another exercise's function (the group_split test builds its
own groups with np.unique), so every mutant fails only its own exercise.
"""

from tests.mutants import M

NB = "m04_1_look_at_the_data"

MUTANTS = [
    # duplicate_groups
    M(NB, "m04_duplicate_groups_answer", "first_seen.setdefault(t, len(first_seen))",
      "first_seen.setdefault(t.lower(), len(first_seen))",
      "m04_duplicate_groups", "case-insensitive grouping (near-duplicates merged)"),
    M(NB, "m04_duplicate_groups_answer",
      "first_seen = {}\n    return np.array([first_seen.setdefault(t, len(first_seen)) for t in texts], dtype=np.int64)",
      "return np.unique(np.asarray(texts, dtype=str), return_inverse=True)[1].astype(np.int64)",
      "m04_duplicate_groups", "ids in sorted order (np.unique), not order of first appearance"),
    M(NB, "m04_duplicate_groups_answer", "for t in texts], dtype=np.int64)", "for t in texts])",
      "m04_duplicate_groups", "no dtype: an empty input comes back float64 (hidden only)", hidden_only=True),
    # leaked_fraction
    M(NB, "m04_leaked_fraction_answer", "sum(t in seen for t in test_texts) / len(test_texts)",
      "sum(t in seen for t in set(test_texts)) / len(set(test_texts))",
      "m04_leaked_fraction", "counts distinct test texts instead of test messages"),
    M(NB, "m04_leaked_fraction_answer", "    if len(test_texts) == 0:\n        return 0.0\n", "",
      "m04_leaked_fraction", "no guard for an empty test set (ZeroDivisionError, hidden only)", hidden_only=True),
    # group_split
    M(NB, "m04_group_split_answer", "n_take = int(np.searchsorted(filled, test_size * n)) + 1",
      "n_take = int(np.searchsorted(filled, test_size * n))",
      "m04_group_split", "off by one: stops one group short of the target"),
    M(NB, "m04_group_split_answer", "n_take = int(np.searchsorted(filled, test_size * n)) + 1",
      "n_take = int(np.ceil(test_size * len(ids)))",
      "m04_group_split", "test_size counts groups, not messages (GroupShuffleSplit's meaning)"),
    M(NB, "m04_group_split_answer", "rng = np.random.default_rng(seed)", "rng = np.random.default_rng()",
      "m04_group_split", "unseeded generator: not reproducible"),
    M(NB, "m04_group_split_answer", "is_test = np.isin(groups, ids[order[:n_take]])",
      "is_test = rng.permutation(n) < int(np.ceil(test_size * n))",
      "m04_group_split", "random split of messages, ignoring groups"),
    # spam_metrics
    M(NB, "m04_spam_metrics_answer", "precision = tp / (tp + fp) if tp + fp else 0.0",
      "precision = tp / (tp + fn) if tp + fn else 0.0",
      "m04_spam_metrics", "precision computed with fn (precision and recall confused)"),
    M(NB, "m04_spam_metrics_answer",
      "f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0",
      "f1 = (precision + recall) / 2",
      "m04_spam_metrics", "F1 as the arithmetic mean of precision and recall"),
    M(NB, "m04_spam_metrics_answer", "precision = tp / (tp + fp) if tp + fp else 0.0",
      "precision = np.divide(tp, tp + fp)",
      "m04_spam_metrics", "no 0/0 guard: nan when nothing is predicted spam (hidden only)", hidden_only=True),
    M(NB, "m04_spam_metrics_answer", "fp = int(np.sum(~y_true & y_pred))", "fp = int(np.sum(y_true & ~y_pred))",
      "m04_spam_metrics", "false positives counted as missed spam"),
    # rule_predict
    M(NB, "m04_rule_predict_answer", "rx.search(t)", "rx.match(t)",
      "m04_rule_predict", "re.match: patterns only match at the start of a message"),
    M(NB, "m04_rule_predict_answer", "re.compile(p, re.IGNORECASE)", "re.compile(p)",
      "m04_rule_predict", "case-sensitive matching"),
    M(NB, "m04_rule_predict_answer", "compiled = [re.compile(p, re.IGNORECASE) for p in patterns]",
      'compiled = [re.compile("|".join(patterns), re.IGNORECASE)]',
      "m04_rule_predict", "one joined regex: an empty pattern list flags everything (hidden only)", hidden_only=True),
    M(NB, "m04_rule_predict_answer", "int(any(", "int(all(",
      "m04_rule_predict", "every pattern must match instead of any"),
    # generated hidden cases and the contract (wcdl.checks.call_checked)
    M(NB, "m04_duplicate_groups_answer", "first_seen.setdefault(t, len(first_seen))",
      "first_seen.setdefault(t.strip(), len(first_seen))",
      "m04_duplicate_groups", "surrounding spaces stripped: 'ok ' merged with 'ok'"),
    M(NB, "m04_duplicate_groups_answer", "first_seen = {}\n", "if len(texts) == 0:\n        return []\n    first_seen = {}\n",
      "m04_duplicate_groups", "a plain list for no messages, not an int64 array", hidden_only=True),
    M(NB, "m04_leaked_fraction_answer", "        return 0.0\n", "        return 0\n",
      "m04_leaked_fraction", "an int 0 for an empty test set, not the float 0.0", hidden_only=True),
    M(NB, "m04_group_split_answer", "rng = np.random.default_rng(seed)", "np.random.seed(seed)\n    rng = np.random",
      "m04_group_split", "reseeds numpy's global generator instead of making its own", hidden_only=True),
    M(NB, "m04_group_split_answer", "return np.flatnonzero(~is_test), np.flatnonzero(is_test)",
      "return np.array([i for i in range(n) if not is_test[i]]), np.flatnonzero(is_test)",
      "m04_group_split", "empty training set comes back as a float array", hidden_only=True),
    M(NB, "m04_spam_metrics_answer", "tp = int(np.sum(y_true & y_pred))", "tp = np.sum(y_true & y_pred)",
      "m04_spam_metrics", "tp left a numpy integer where the docstring says int", hidden_only=True),
    M(NB, "m04_spam_metrics_answer", "accuracy = (tp + tn) / len(y_true) if len(y_true) else 0.0",
      "accuracy = float(np.mean(y_true == y_pred))",
      "m04_spam_metrics", "accuracy nan for no messages at all", hidden_only=True),
    M(NB, "m04_rule_predict_answer",
      "compiled = [re.compile(p, re.IGNORECASE) for p in patterns]\n"
      "    return np.array([int(any(rx.search(t) for rx in compiled)) for t in texts], dtype=np.int64)",
      "compiled = [re.compile(p.lower()) for p in patterns]\n"
      "    return np.array([int(any(rx.search(t.lower()) for rx in compiled)) for t in texts], dtype=np.int64)",
      "m04_rule_predict", "lower-cases patterns and messages: \\S becomes \\s", hidden_only=True),
    M(NB, "m04_rule_predict_answer", "for t in texts], dtype=np.int64)", "for t in texts])",
      "m04_rule_predict", "no dtype: no messages gives a float64 array", hidden_only=True),
]
