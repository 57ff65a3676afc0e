"""Working-Class Deep Learning: helpers shared by the course notebooks.

Plumbing lives here so the notebooks can stay about the idea: `checks`
(feedback-giving asserts), `ops` (counting dispatched torch ops), `timing`
(honest benchmarks), `device`, `models` (offline MiniLM), `roofline`
(measuring and plotting a machine's roofline), `cuda` (numba.cuda kernels in
a checking simulator, with memory-access counts), `data` (the SMS Spam
Collection, sha256-verified), `rl` (CartPole plumbing), `impala`
(actor processes and shared-memory rollout buffers), `feed` (DataLoader
producers and a stand-in consumer) and `profiling` (torch.profiler runs as
events, the machine's roofline, what-ifs): point it at any model with
`wcdl.audit(model, example_inputs)` to see where its time goes.
"""

__version__ = "0.1.0"


def __getattr__(name):
    # `wcdl.audit` without importing wcdl.profiling (and what it imports) with every `import wcdl`
    if name == "audit":
        from .profiling import audit

        return audit
    raise AttributeError(f"module 'wcdl' has no attribute {name!r}")
