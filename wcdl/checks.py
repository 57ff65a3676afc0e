"""Asserts that tell a learner what went wrong and what to try.

Every visible test in the course goes through these instead of a bare
`assert`, so a failure shows what was expected, what came back (type,
shape, dtype), the first index that differs, and a hint.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

try:  # torch is optional so numba-only notebooks can use the checks too
    import torch
except ImportError:  # pragma: no cover - torch is always installed in the course env
    torch = None


class CheckFailed(AssertionError):
    """A visible test failed; the message is meant for the learner."""


def failure_message(what: str, *details: str, hint: str | None = None) -> str:
    """The text of every failed check in the course, one shape for all of them.

    `what` failed (a first line, "name: what happened"), then the `details`
    (got, expected, where), one indented line each, then the `hint`:

        sum_kernel: 3 of 8 values differ.
          first at index (5,): expected 2.0, got 0.0.
          hint: guard the tail of the array.
    """
    lines = [what, *(f"  {d}" for d in details)]
    if hint:
        lines.append(f"  hint: {hint}")
    return "\n".join(lines)


def _fail(name: str, lines: list[str], hint: str | None) -> None:
    raise CheckFailed(failure_message(f"{name}: {lines[0]}", *lines[1:], hint=hint))


def expect(condition: Any, message: str, hint: str | None = None) -> None:
    """Fail with `message` (and `hint`) unless `condition` holds."""
    if not condition:
        raise CheckFailed(failure_message(message, hint=hint))


def _describe(x: Any) -> str:
    if torch is not None and isinstance(x, torch.Tensor):
        return f"torch.Tensor(shape={tuple(x.shape)}, dtype={x.dtype}, device={x.device.type})"
    if isinstance(x, np.ndarray):
        return f"numpy.ndarray(shape={x.shape}, dtype={x.dtype})"
    return f"{type(x).__name__} {x!r}"[:200]


def _to_numpy(x: Any) -> np.ndarray:
    if torch is not None and isinstance(x, torch.Tensor):
        x = x.detach().cpu()
        if x.dtype in (torch.bfloat16, torch.float16):
            x = x.float()
        return x.numpy()
    return np.asarray(x)


def _same_kind(got: Any, expected: Any) -> bool:
    if torch is not None and isinstance(expected, torch.Tensor):
        return isinstance(got, torch.Tensor)
    if isinstance(expected, np.ndarray):
        return isinstance(got, (np.ndarray, np.generic))
    return True


def assert_close(
    got: Any,
    expected: Any,
    *,
    name: str = "result",
    atol: float = 1e-5,
    rtol: float = 1e-5,
    check_dtype: bool = True,
    hint: str | None = None,
) -> None:
    """Check that `got` matches `expected` in type, shape, dtype and values.

    Works for torch tensors, numpy arrays and Python numbers. On failure the
    message names the first differing index and the largest difference.
    """
    if got is None:
        _fail(name, ["got None.", f"expected: {_describe(expected)}"],
              hint or "did your function `return` its result?")
    if not _same_kind(got, expected):
        _fail(name, [f"expected {_describe(expected)}", f"got      {_describe(got)}"], hint)

    is_tensor = torch is not None and isinstance(expected, torch.Tensor)
    if is_tensor or isinstance(expected, np.ndarray):
        if tuple(got.shape) != tuple(expected.shape):
            _fail(name, [f"shape: expected {tuple(expected.shape)}, got {tuple(got.shape)}."], hint)
        if check_dtype and got.dtype != expected.dtype:
            _fail(name, [f"dtype: expected {expected.dtype}, got {got.dtype}."], hint)
        if is_tensor and got.device.type != expected.device.type:
            _fail(name, [f"device: expected {expected.device.type}, got {got.device.type}."], hint)

    g, e = _to_numpy(got), _to_numpy(expected)
    if g.dtype == bool or e.dtype == bool or np.issubdtype(e.dtype, np.integer):
        bad = g != e
    else:
        g64, e64 = g.astype(np.float64), e.astype(np.float64)
        bad = ~np.isclose(g64, e64, atol=atol, rtol=rtol, equal_nan=True)
    if np.ndim(bad) == 0:
        if bad:
            _fail(name, [f"expected {e.item()!r}, got {g.item()!r}."], hint)
        return
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        lines = [
            f"{int(bad.sum())} of {bad.size} values differ.",
            f"first at index {idx}: expected {e[idx].item()!r}, got {g[idx].item()!r}.",
        ]
        if np.issubdtype(e.dtype, np.number) and not np.issubdtype(e.dtype, np.integer):
            with np.errstate(invalid="ignore"):
                diff = np.abs(g.astype(np.float64) - e.astype(np.float64))
            if np.isnan(diff).any():
                lines.append("your result contains NaN where the expected one does not.")
            else:
                lines.append(f"largest difference {float(diff.max()):.3g} (tolerance atol={atol}, rtol={rtol}).")
        _fail(name, lines, hint)


def assert_scalar(got: Any, expected: float, *, name: str = "result",
                  rel: float = 1e-6, hint: str | None = None) -> None:
    """Check a Python/numpy/0-d tensor number against `expected` (relative tolerance)."""
    if got is None:
        _fail(name, ["got None."], hint or "did your function `return` its result?")
    try:
        value = float(got)
    except (TypeError, ValueError):
        _fail(name, [f"expected a number, got {_describe(got)}."], hint)
    if not math.isclose(value, expected, rel_tol=rel, abs_tol=rel):
        _fail(name, [f"expected {expected!r}, got {value!r}."], hint)


def _leaves(x: Any):
    """The tensors and arrays inside nested lists, tuples and dicts."""
    if (torch is not None and isinstance(x, torch.Tensor)) or isinstance(x, np.ndarray):
        yield x
    elif isinstance(x, (list, tuple)):
        for v in x:
            yield from _leaves(v)
    elif isinstance(x, dict):
        for v in x.values():
            yield from _leaves(v)


def _fingerprint(x: Any) -> bytes:
    # bitwise, so NaNs and -0.0 count as unchanged only when they are
    if torch is not None and isinstance(x, torch.Tensor):
        t = x.detach().cpu().contiguous()
        return repr((tuple(t.shape), str(t.dtype))).encode() + t.reshape(-1).view(torch.uint8).numpy().tobytes() \
            if t.numel() else repr((tuple(t.shape), str(t.dtype))).encode()
    return repr((x.shape, str(x.dtype))).encode() + np.ascontiguousarray(x).tobytes()


def _shares_memory(a: Any, b: Any) -> bool:
    if torch is not None and isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        if a.numel() == 0 or b.numel() == 0 or a.device != b.device:
            return False
        sa, sb = a.untyped_storage(), b.untyped_storage()
        return sa.data_ptr() == sb.data_ptr() and sa.data_ptr() != 0
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return bool(np.shares_memory(a, b))
    return False


def _rng_states():
    import random

    states = {"random": random.getstate(), "numpy": np.random.get_state()}
    if torch is not None:
        states["torch"] = torch.get_rng_state()
    return states


def _same_rng(a: dict, b: dict) -> list[str]:
    changed = []
    for k in a:
        if k == "numpy":
            same = a[k][0] == b[k][0] and np.array_equal(a[k][1], b[k][1]) and a[k][2:] == b[k][2:]
        elif k == "torch":
            same = torch.equal(a[k], b[k])
        else:
            same = a[k] == b[k]
        if not same:
            changed.append(k)
    return changed


def call_checked(fn: Any, *args: Any, name: str | None = None, rng: bool = True, fresh: bool = True,
                 returns: type | tuple[type, ...] | None = None, **kwargs: Any) -> Any:
    """Call `fn(*args, **kwargs)` and check the contract every exercise shares.

    - the inputs (tensors and arrays, also inside lists, tuples and dicts)
      are left unchanged, bit for bit;
    - the global random number generators (`random`, numpy's, torch's CPU
      one) are left as they were (`rng=False` where the docstring says the
      function draws from them);
    - `fresh`: no returned tensor or array shares memory with an input;
    - `returns`: the result is an instance of this type (`int` excludes
      `bool`, as a docstring that promises an int means it).

    Returns the result, for the value checks that follow.
    """
    name = name or f"{getattr(fn, '__name__', 'your function')}(...)"
    inputs = list(_leaves((args, kwargs)))
    before = [_fingerprint(x) for x in inputs]
    rng_before = _rng_states()
    out = fn(*args, **kwargs)
    changed = [i for i, (x, b) in enumerate(zip(inputs, before)) if _fingerprint(x) != b]
    if changed:
        _fail(name, [f"it changed its input (input tensor/array number {changed[0] + 1}, counted left to right)."],
              "work on a copy or build a new result: the caller still needs its data (no in-place ops on inputs).")
    if rng:
        moved = _same_rng(rng_before, _rng_states())
        if moved:
            _fail(name, [f"it changed the global random state ({', '.join(moved)})."],
                  "draw from the generator you are given (or make your own), not from the global one.")
    if fresh:
        for o in _leaves(out):
            if any(_shares_memory(o, x) for x in inputs):
                _fail(name, ["the result shares memory with an input (a view of it, or the input itself)."],
                      "return a new tensor/array: a caller who changes the result must not change the input.")
    if returns is not None:
        ok = isinstance(out, returns) and not (isinstance(out, bool) and bool not in (
            returns if isinstance(returns, tuple) else (returns,)))
        if not ok:
            want = returns.__name__ if isinstance(returns, type) else " or ".join(t.__name__ for t in returns)
            _fail(name, [f"expected a result of type {want}, got {_describe(out)}."],
                  "convert the result (int(...), float(...)) before returning it.")
    return out


NAME_HINT = ("hint: a name exists only once the cell that defines it has run: run the answer cell above, "
             "and the imports at the top, first (and check the spelling).")


def _short_traceback(shell, etype, value, tb, tb_offset=None):
    """Show a failed check, an unattempted exercise or missing data as its message alone.

    The test's code is in the cell above the error; a wall of frames from
    inside the checks (or a chain of network errors under a data error)
    would only hide the message that says what to fix. A NameError keeps
    its traceback and gains the hint a learner needs most often.
    """
    if issubclass(etype, NameError):
        stb = list(shell.InteractiveTB.structured_traceback(etype, value, tb, tb_offset=tb_offset))
        stb.append(f"\x1b[0;33m{NAME_HINT}\x1b[0m")
        shell._showtraceback(etype, value, stb)
        return stb
    if issubclass(etype, NotImplementedError):
        text = "not attempted yet: fill in the function (replace `raise NotImplementedError`) and run its cell first."
    else:
        text = str(value)
    stb = [f"\x1b[0;31m{etype.__name__}\x1b[0m: {text}"]
    shell._showtraceback(etype, value, stb)
    return stb


def _install_ipython_handler() -> None:
    try:
        from IPython import get_ipython
    except ImportError:
        return
    from wcdl.data import DataError

    shell = get_ipython()
    if shell is not None and hasattr(shell, "set_custom_exc"):
        shell.set_custom_exc((CheckFailed, NotImplementedError, NameError, DataError), _short_traceback)


_install_ipython_handler()
