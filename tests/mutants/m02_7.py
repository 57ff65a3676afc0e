"""Plausible wrong answers for m02_7_serve_under_a_latency_budget (percentiles, length buckets,
mean pooling, choosing a configuration, a dynamic batcher on a simulated clock).

The tests of pick_fastest and of mean_pool also run on the notebook's own measurements, which
other exercises' functions produced; each mutant below breaks its own exercise only.
"""

from tests.mutants import M

NB = "m02_7_serve_under_a_latency_budget"

MUTANTS = [
    # percentile
    M(NB, "m02_percentile_answer", "math.ceil(q * len(values) / 100)", "round(q * len(values) / 100)",
      "m02_percentile", "rounds the rank instead of taking its ceiling"),
    M(NB, "m02_percentile_answer", "values = sorted(float(x) for x in samples)", "values = [float(x) for x in samples]",
      "m02_percentile", "forgets to sort the samples"),
    M(NB, "m02_percentile_answer", "math.ceil(q * len(values) / 100)", "math.ceil(q / 100 * len(values))",
      "m02_percentile", "divides before multiplying (q = 7, n = 100 gives rank 8)", hidden_only=True),
    M(NB, "m02_percentile_answer", "rank = max(1, math.ceil(q * len(values) / 100))", "rank = math.ceil(q * len(values) / 100)",
      "m02_percentile", "q = 0 gives rank 0, i.e. the largest sample", hidden_only=True),
    M(NB, "m02_percentile_answer", '    if not 0 <= q <= 100:\n        raise ValueError(f"q must be between 0 and 100, got {q}")\n', "",
      "m02_percentile", "no check of q (q = 100.5 or NaN returns a sample)", hidden_only=True),
    # bucket_by_length
    M(NB, "m02_bucket_by_length_answer", "restore[i] = position", "restore[position] = i",
      "m02_bucket_by_length", "returns the sorting permutation instead of its inverse"),
    M(NB, "m02_bucket_by_length_answer", "key=lambda i: lengths[i])", "key=lambda i: lengths[i], reverse=True)",
      "m02_bucket_by_length", "longest first"),
    M(NB, "m02_bucket_by_length_answer", "order = sorted(range(len(lengths)), key=lambda i: lengths[i])",
      "order = np.argsort(lengths).tolist()",
      "m02_bucket_by_length", "numpy's default argsort is not stable: ties lose request order", hidden_only=True),
    M(NB, "m02_bucket_by_length_answer", 'if max_batch < 1:\n        raise ValueError(f"max_batch must be at least 1, got {max_batch}")',
      "pass", "m02_bucket_by_length", "no check of max_batch (a negative one returns no batches)", hidden_only=True),
    # mean_pool
    M(NB, "m02_mean_pool_answer", "total = (hidden * m).sum(dim=1)", "total = hidden.sum(dim=1)",
      "m02_mean_pool", "the pad positions enter the sum"),
    M(NB, "m02_mean_pool_answer", "count = m.sum(dim=1).clamp(min=1)", "count = m.sum().clamp(min=1)",
      "m02_mean_pool", "divides by the real tokens of the whole batch"),
    M(NB, "m02_mean_pool_answer", "count = m.sum(dim=1).clamp(min=1)", "count = m.sum(dim=1)",
      "m02_mean_pool", "a sentence without real tokens gives NaN", hidden_only=True),
    M(NB, "m02_mean_pool_answer", "return total / count", "return (total / count).float()",
      "m02_mean_pool", "always float32 (a float64 input loses its dtype)", hidden_only=True),
    # pick_fastest
    M(NB, "m02_pick_fastest_answer", 'within = [(r["p99"], r["p50"], i)', 'within = [(r["p50"], r["p99"], i)',
      "m02_pick_fastest", "ranks by p50 instead of p99"),
    M(NB, "m02_pick_fastest_answer",
      '        raise ValueError(f"no configuration reaches cosine {min_cosine}; the best is {max(seen, default=None)}")',
      "        return None", "m02_pick_fastest", "returns None instead of raising when nothing is within tolerance"),
    M(NB, "m02_pick_fastest_answer", 'if r["cosine"] >= min_cosine]', 'if not r["cosine"] < min_cosine]',
      "m02_pick_fastest", "a NaN cosine (broken embeddings) counts as within tolerance", hidden_only=True),
    M(NB, "m02_pick_fastest_answer", 'if r["cosine"] >= min_cosine]', 'if r["cosine"] > min_cosine]',
      "m02_pick_fastest", "a cosine exactly at the tolerance is rejected", hidden_only=True),
    M(NB, "m02_pick_fastest_answer", "_, _, best = min(within)", "best = min(within, key=lambda t: t[0])[2]",
      "m02_pick_fastest", "equal p99: ignores p50", hidden_only=True),
    M(NB, "m02_pick_fastest_answer", '    within = [(r["p99"]', '    results.sort(key=lambda r: r["cosine"])\n    within = [(r["p99"]',
      "m02_pick_fastest", "sorts the caller's results in place", hidden_only=True),
    # simulate_serving
    M(NB, "m02_simulate_serving_answer", "start = max(free, ready)", "start = ready",
      "m02_simulate_serving", "a batch starts while the worker is still busy"),
    M(NB, "m02_simulate_serving_answer",
      "        if i + max_batch - 1 < n:\n            ready = min(ready, arrivals[i + max_batch - 1])",
      "        if i + max_batch < n:\n            ready = min(ready, arrivals[i + max_batch])",
      "m02_simulate_serving", "waits for one request more than max_batch"),
    M(NB, "m02_simulate_serving_answer", "latencies[k] = free - arrivals[k]", "latencies[k] = free - start",
      "m02_simulate_serving", "latency counted from the batch's start (the time in the queue forgotten)"),
    M(NB, "m02_simulate_serving_answer", "while j < n and j - i < max_batch and arrivals[j] <= start:",
      "while j < n and arrivals[j] <= start:",
      "m02_simulate_serving", "a backlog larger than max_batch runs as one batch", hidden_only=True),
    M(NB, "m02_simulate_serving_answer", '    if any(later < earlier for earlier, later in zip(arrivals, arrivals[1:])):\n        raise ValueError("arrival times must not decrease")\n',
      "", "m02_simulate_serving", "no check that arrivals are in order", hidden_only=True),
]
