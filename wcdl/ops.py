"""Count the torch operations a function dispatches.

"No Python loop" is graded by counting, not timing: a vectorised function
dispatches the same handful of aten ops whatever the input size, while a loop
over the data dispatches more ops as the input grows.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Callable

from torch.utils._python_dispatch import TorchDispatchMode

from .checks import CheckFailed


class OpCounter(TorchDispatchMode):
    """Context manager that counts every aten op dispatched inside it.

    >>> with OpCounter() as ops:
    ...     y = x @ w + b
    >>> ops.counts   # Counter({'mm': 1, 'add': 1}) or similar
    """

    def __init__(self) -> None:
        super().__init__()
        self.counts: Counter[str] = Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.counts[func.overloadpacket.__name__] += 1
        return func(*args, **(kwargs or {}))

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def count_ops(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, Counter]:
    """Call `fn(*args, **kwargs)`; return its result and the Counter of aten ops."""
    with OpCounter() as ops:
        out = fn(*args, **kwargs)
    return out, ops.counts


def assert_no_python_loop(
    fn: Callable[..., Any],
    make_args: Callable[[int], tuple],
    *,
    sizes: tuple[int, int] = (4, 32),
    name: str | None = None,
    slack: int = 0,
) -> Counter:
    """Fail if the number of ops `fn` dispatches grows with the input size.

    `make_args(n)` builds the arguments for size `n`. A vectorised `fn`
    dispatches the same ops for both sizes; a loop over the data does not.
    Returns the op counts at the larger size (for display).
    """
    name = name or getattr(fn, "__name__", "your function")
    small, large = sizes
    _, c_small = count_ops(fn, *make_args(small))
    _, c_large = count_ops(fn, *make_args(large))
    n_small, n_large = sum(c_small.values()), sum(c_large.values())
    if n_large > n_small + slack:
        top = ", ".join(f"{k} x{v}" for k, v in c_large.most_common(4))
        raise CheckFailed(
            f"{name}: dispatched {n_small} torch ops for size {small} but {n_large} for size {large}.\n"
            f"  The op count grows with the input, so there is a Python loop over the data "
            f"(most frequent at size {large}: {top}).\n"
            "  hint: replace the loop with broadcasting, a matmul, or advanced indexing."
        )
    return c_large
