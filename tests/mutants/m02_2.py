"""Plausible wrong answers for m02_2_measure_your_machine (honest timing, roofline, overhead).

triad_bandwidth and matmul_flops call the learner's time_op; the time_op
mutants below keep the call pattern (one fn call per repeat, same clock reads)
so with the test's evenly ticking clock they break only time_op itself.
"""

from tests.mutants import M

NB = "m02_2_measure_your_machine"

MUTANTS = [
    # time_op
    M(NB, "m02_time_op_answer", "return statistics.median(times)", "return statistics.mean(times)",
      "m02_time_op", "mean instead of median"),
    M(NB, "m02_time_op_answer", "return statistics.median(times)", "return sorted(times)[len(times) // 2]",
      "m02_time_op", "middle element of the sorted times: the upper median for an even count", hidden_only=True),
    M(NB, "m02_time_op_answer", "        fn()\n        sync()\n        times.append", "        fn()\n        times.append",
      "m02_time_op", "no sync before reading the clock at the end (times the launch, not the work)"),
    M(NB, "m02_time_op_answer", "        sync()\n        start = timer()", "        start = timer()",
      "m02_time_op", "no sync before the start read (queued warm-up work billed to the first repeat)"),
    # triad_bandwidth
    M(NB, "m02_triad_bandwidth_answer", "return 3 * n * b.element_size() / seconds",
      "return 2 * n * b.element_size() / seconds",
      "m02_triad_bandwidth", "triad moves 2 elements per index instead of 3"),
    M(NB, "m02_triad_bandwidth_answer", "return 3 * n * b.element_size() / seconds", "return 3 * n * 4 / seconds",
      "m02_triad_bandwidth", "4 bytes per element whatever the dtype (fails only hidden dtypes)", hidden_only=True),
    M(NB, "m02_triad_bandwidth_answer", "b = torch.rand(n, dtype=dtype, device=device)\n    c = torch.rand(n, dtype=dtype, device=device)",
      "b = torch.rand(n, device=device)\n    c = torch.rand(n, device=device)",
      "m02_triad_bandwidth", "dtype ignored: the triad always runs in float32", hidden_only=True),
    M(NB, "m02_triad_bandwidth_answer", "lambda: torch.add(b, c, alpha=2.0, out=a)", "lambda: b + 2.0 * c",
      "m02_triad_bandwidth", "b + 2c with a temporary: two ops and an allocation per call"),
    # matmul_flops
    M(NB, "m02_matmul_flops_answer", "return 2 * n**3 / seconds", "return n**3 / seconds",
      "m02_matmul_flops", "a multiply-add counted as 1 FLOP"),
    M(NB, "m02_matmul_flops_answer", "lambda: torch.mm(a, b, out=out)",
      "lambda: torch.randn(n, n, device=device).to(dtype) @ b",
      "m02_matmul_flops", "random input created inside the timed call"),
    M(NB, "m02_matmul_flops_answer", "a = torch.randn(n, n, device=device).to(dtype)\n    b = torch.randn(n, n, device=device).to(dtype)\n"
      "    out = torch.empty(n, n, dtype=dtype, device=device)",
      "a = torch.randn(n, n, device=device)\n    b = torch.randn(n, n, device=device)\n    out = torch.empty(n, n, device=device)",
      "m02_matmul_flops", "dtype ignored: the matmul always runs in float32", hidden_only=True),
    M(NB, "m02_matmul_flops_answer", "warmup=warmup, repeat=repeat,", "",
      "m02_matmul_flops", "warmup and repeat not passed on to time_op"),
    # flat_until
    M(NB, "m02_flat_until_answer", "return int(sizes[i - 1]) if i > 0 else None", "return int(sizes[i])",
      "m02_flat_until", "returns the first size over the threshold (off by one)"),
    M(NB, "m02_flat_until_answer", "threshold = factor * min(times)", "threshold = factor * times[0]",
      "m02_flat_until", "floor taken from the first (possibly slow) measurement"),
    M(NB, "m02_flat_until_answer", "if t > threshold:", "if t >= threshold:",
      "m02_flat_until", "a time exactly at the threshold ends the flat region (fails only the hidden tie)",
      hidden_only=True),
]
