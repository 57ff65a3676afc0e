"""Wrong answers for m04_4_label_a_little (average precision)."""

from tests.mutants import M

NB = "m04_4_label_a_little"

MUTANTS = [
    M(NB, "m04_average_precision_answer", 'order = np.argsort(-s, kind="stable")', 'order = np.argsort(s, kind="stable")',
      "m04_average_precision", "ranks ascending: low score treated as most suspicious"),
    M(NB, "m04_average_precision_answer", "last = np.r_[np.flatnonzero(np.diff(s) != 0), len(s) - 1]",
      "last = np.arange(len(s))",
      "m04_average_precision", "tied scores not grouped into one threshold (hidden only)", hidden_only=True),
    M(NB, "m04_average_precision_answer", "return float(np.sum(np.diff(recall, prepend=0.0) * precision))",
      "return float(np.mean(precision))",
      "m04_average_precision", "mean precision over all thresholds, not weighted by recall steps"),
    M(NB, "m04_average_precision_answer", "precision, recall = tp / (tp + fp), tp / tp[-1]",
      "precision, recall = tp / (tp + fp), tp / len(y)",
      "m04_average_precision", "recall divided by the number of items, not of positives"),
    # generated hidden cases and the contract (wcdl.checks.call_checked)
    M(NB, "m04_average_precision_answer",
      "tp, fp = tp[last], fp[last]\n"
      "    precision, recall = tp / (tp + fp), tp / tp[-1]\n"
      "    return float(np.sum(np.diff(recall, prepend=0.0) * precision))",
      "return float(np.mean((tp / (tp + fp))[y == 1]))",
      "m04_average_precision", "mean precision at each positive's rank (ties ignored)", hidden_only=True),
]
