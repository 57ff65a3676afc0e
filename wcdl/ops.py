"""Count the torch operations a function dispatches, and the values it takes out of torch.

"No Python loop" is graded by counting, not timing: a vectorised function
dispatches the same handful of aten ops whatever the input size, while a loop
over the data dispatches more ops as the input grows. A loop can also hide in
plain Python: `t.tolist()`, `t.numpy()` or `list(t)` hand the data to Python
in one call, and `torch.tensor(python_list)` brings it back in one more, so
the aten count stays flat. Those conversions are counted too: the number of
values that cross between torch and Python must not grow with the input
either.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Callable

import torch
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode

from .checks import CheckFailed, failure_message


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


_SCALAR_OUT = frozenset(("item", "__int__", "__float__", "__index__", "__bool__", "__complex__"))
_ALL_OUT = frozenset(("tolist", "numpy", "__array__"))
_FROM_PYTHON = frozenset(("tensor", "as_tensor", "asarray"))


def _list_items(x: Any) -> int:
    """The numbers inside a (nested) Python list: an index built in Python."""
    if isinstance(x, list):
        return sum(_list_items(v) for v in x) or len(x)
    if isinstance(x, tuple):
        return sum(_list_items(v) for v in x if isinstance(v, (list, tuple)))
    return 0


class PythonValueCounter(TorchFunctionMode):
    """Context manager that counts the values crossing between torch and Python.

    Out of torch: `.tolist()`, `.numpy()`, `np.asarray(t)` (every element),
    `.item()`, `int(t)`, `float(t)`, `bool(t)` (one each), iterating a tensor
    or `unbind` (one per piece). Into torch: `torch.tensor(...)` /
    `torch.as_tensor(...)` of Python or numpy data (every element) and
    Python lists used as an index. `counts` maps each kind to its values.
    """

    def __init__(self) -> None:
        super().__init__()
        self.counts: Counter[str] = Counter()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        name = getattr(func, "__name__", "")
        if name in _SCALAR_OUT:
            self.counts[name] += 1
        elif name in _ALL_OUT and args and isinstance(args[0], torch.Tensor):
            self.counts[name] += args[0].numel()
        elif name == "unbind" and isinstance(out, tuple):
            self.counts["iterating a tensor (unbind)"] += len(out)
        elif name in _FROM_PYTHON and args and not isinstance(args[0], torch.Tensor) \
                and isinstance(out, torch.Tensor):
            self.counts[f"torch.{name}(python data)"] += out.numel()
        elif name in ("__getitem__", "__setitem__") and len(args) > 1:
            n = _list_items(args[1]) if isinstance(args[1], (list, tuple)) else 0
            if n:
                self.counts["a Python list as index"] += n
        return out

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def count_ops(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, Counter]:
    """Call `fn(*args, **kwargs)`; return its result and the Counter of aten ops."""
    with OpCounter() as ops:
        out = fn(*args, **kwargs)
    return out, ops.counts


def _count_both(fn: Callable[..., Any], args: tuple) -> tuple[Counter, Counter]:
    with PythonValueCounter() as values, OpCounter() as ops:
        fn(*args)
    return ops.counts, values.counts


def assert_no_python_loop(
    fn: Callable[..., Any],
    make_args: Callable[[int], tuple],
    *,
    sizes: tuple[int, int] = (4, 32),
    name: str | None = None,
    slack: int = 0,
) -> Counter:
    """Fail if `fn` loops over the data in Python, at the torch level or in plain Python.

    `make_args(n)` builds the arguments for size `n`. A vectorised `fn`
    dispatches the same ops for both sizes, and moves the same (small)
    number of values between torch and Python; a loop over the data does
    neither: its op count grows, or it takes the data out of torch
    (`.tolist()`, `.item()` per element, `.numpy()`, iterating a tensor)
    or builds it in Python (`torch.tensor(a_list)`). `slack` allows that
    many extra ops at the larger size. Returns the op counts at the larger
    size (for display).
    """
    name = name or getattr(fn, "__name__", "your function")
    small, large = sizes
    c_small, v_small = _count_both(fn, make_args(small))
    c_large, v_large = _count_both(fn, make_args(large))
    n_small, n_large = sum(c_small.values()), sum(c_large.values())
    if n_large > n_small + slack:
        top = ", ".join(f"{k} x{v}" for k, v in c_large.most_common(4))
        raise CheckFailed(failure_message(
            f"{name}: dispatched {n_small} torch ops for size {small} but {n_large} for size {large}.",
            f"The op count grows with the input, so there is a Python loop over the data "
            f"(most frequent at size {large}: {top}).",
            hint="replace the loop with broadcasting, a matmul, or advanced indexing."))
    if sum(v_large.values()) > sum(v_small.values()):
        grew = ", ".join(f"{k}: {v_small.get(k, 0)} -> {v}" for k, v in v_large.most_common()
                         if v > v_small.get(k, 0))
        raise CheckFailed(failure_message(
            f"{name}: moved {sum(v_small.values())} values between torch and Python for size {small} "
            f"but {sum(v_large.values())} for size {large} ({grew}).",
            "The data leaves torch (.tolist(), .item(), .numpy(), iterating a tensor) or is built in a "
            "Python list, so there is a Python loop over it, even if it dispatches few torch ops.",
            hint="keep the data in tensors: broadcasting, a matmul, or advanced indexing with index tensors "
                 "(torch.arange, not range or a list)."))
    return c_large
