"""Plausible wrong answers for m02_5_profile_before_you_guess (reading profiler results)."""

from tests.mutants import M

NB = "m02_5_profile_before_you_guess"

MUTANTS = [
    # top_ops
    M(NB, "m02_top_ops_answer", "totals.get(e.name, 0.0) + e.self_us", "totals.get(e.name, 0.0) + e.duration_us",
      "m02_top_ops", "duration instead of self time (a caller counts its callees' time again)"),
    M(NB, "m02_top_ops_answer", "key=lambda item: (-item[1], item[0])", "key=lambda item: -item[1]",
      "m02_top_ops", "ties left in the order the names were first seen, not by name", hidden_only=True),
    M(NB, "m02_top_ops_answer", "return [(name, float(t)) for name, t in ranked[:k]]",
      "return [(name, float(t)) for name, t in ranked[:max(k, 1)]]",
      "m02_top_ops", "k=0 still returns the top op", hidden_only=True),
    M(NB, "m02_top_ops_answer", "    ranked = sorted(totals.items(), key=lambda item: (-item[1], item[0]))",
      "    ranked = sorted(((e.name, e.self_us) for e in events), key=lambda item: (-item[1], item[0]))",
      "m02_top_ops", "events ranked one by one, not added up per name"),
    M(NB, "m02_top_ops_answer", "    if k < 0:\n        raise ValueError(f\"k must be >= 0, got {k}\")\n", "",
      "m02_top_ops", "a negative k is not refused (slices off the last names)", hidden_only=True),
    # gaps
    M(NB, "m02_gaps_answer", "reach = max(reach, end)", "reach = end",
      "m02_gaps", "a nested event that ends early resets how far the timeline is covered"),
    M(NB, "m02_gaps_answer", "spans = sorted((e.start_us, e.end_us) for e in events if e.duration_us > 0)",
      "spans = [(e.start_us, e.end_us) for e in events if e.duration_us > 0]",
      "m02_gaps", "events assumed to come sorted by start"),
    M(NB, "m02_gaps_answer", "start - reach >= min_gap_us", "start - reach > min_gap_us",
      "m02_gaps", "a gap exactly min_gap_us long is dropped", hidden_only=True),
    M(NB, "m02_gaps_answer", "for e in events if e.duration_us > 0)", "for e in events)",
      "m02_gaps", "a zero-length event splits a gap in two", hidden_only=True),
    # overhead_share
    M(NB, "m02_overhead_share_answer", "    overhead = sum(length for _, length in gaps([e for e in host if e.depth == 0]))",
      "    overhead = 0.0",
      "m02_overhead_share", "the Python between ops (the gaps) is not counted"),
    M(NB, "m02_overhead_share_answer", "overhead += min(e.self_us, floor_us)", "overhead += floor_us",
      "m02_overhead_share", "every working op pays the whole floor, even one shorter than it"),
    M(NB, "m02_overhead_share_answer", "host = [e for e in events if e.kind != \"kernel\"]", "host = list(events)",
      "m02_overhead_share", "kernels counted as host time (they stretch the wall)", hidden_only=True),
    M(NB, "m02_overhead_share_answer", "if e.kind == \"region\" or (e.kind == \"op\" and not (e.flops or e.bytes)):",
      "if e.kind == \"region\":",
      "m02_overhead_share", "views and wrapper ops treated as work"),
    M(NB, "m02_overhead_share_answer", "        elif e.kind == \"op\":\n            overhead += min",
      "        else:\n            overhead += min",
      "m02_overhead_share", "DataLoader fetches pay the floor as if they were ops", hidden_only=True),
    # diagnose
    M(NB, "m02_diagnose_answer", "e.flops >= ridge * e.bytes", "e.bytes >= ridge * e.flops",
      "m02_diagnose", "intensity upside down (bytes per FLOP)"),
    M(NB, "m02_diagnose_answer", "e.flops >= ridge * e.bytes", "e.flops > ridge * e.bytes",
      "m02_diagnose", "an op exactly at the ridge point called memory-bound", hidden_only=True),
    M(NB, "m02_diagnose_answer", "times[\"data loading\"] += e.duration_us", "times[\"overhead\"] += e.duration_us",
      "m02_diagnose", "waiting for data counted as overhead"),
    M(NB, "m02_diagnose_answer", "return max(times, key=times.get), times",
      "return max(reversed(list(times)), key=times.get), times",
      "m02_diagnose", "ties go to the last regime, not the first", hidden_only=True),
    M(NB, "m02_diagnose_answer", "host = [e for e in events if e.kind != \"kernel\"]", "host = list(events)",
      "m02_diagnose", "kernels counted as host ops", hidden_only=True),
]
