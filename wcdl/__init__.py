"""Working-Class Deep Learning: helpers shared by the course notebooks.

Plumbing lives here so the notebooks can stay about the idea:
`checks` (feedback-giving asserts), `ops` (counting dispatched torch ops),
`timing` (honest benchmarks), `device`, and `models` (offline MiniLM).
"""

__version__ = "0.1.0"
