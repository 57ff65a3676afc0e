"""How the checking simulator runs a kernel's Python function, decided once per kernel.

* "direct": no `cuda.syncthreads()` anywhere: each thread is a plain call.
* "generator": the kernel's source is recompiled with each
  `cuda.syncthreads()` statement replaced by `yield <line>`, so the
  simulator can run every thread of a block up to a barrier, then on.
* "threads": a barrier it cannot rewrite (in a device function, in an
  expression): one Python thread per CUDA thread, handed control in turn.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from typing import Callable

from ._numba_sim import device_function, is_cuda_module


def param_names(fn: Callable, n: int) -> list[str]:
    """The names of the first `n` parameters of `fn` (arg<i> where it has fewer): array names in messages."""
    try:
        names = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        names = []
    return (names + [f"arg{i}" for i in range(len(names), n)])[:n]


_plans: dict = {}


def _code_names(code) -> set[str]:
    names = set(code.co_names)
    for c in code.co_consts:
        if hasattr(c, "co_names"):
            names |= _code_names(c)
    return names


def plan(fn: Callable) -> tuple[str, Callable | None]:
    """How to run `fn`: ("direct", None), ("generator", the rewritten function) or ("threads", None)."""
    key = (fn.__code__, id(fn.__globals__))
    if key in _plans:
        return _plans[key]
    how: tuple[str, Callable | None] = ("threads", None)
    needs_barrier = "syncthreads" in _code_names(fn.__code__)
    in_device_fn = any("syncthreads" in _code_names(py.__code__)
                       for py in (device_function(v) for v in fn.__globals__.values()) if py is not None)
    if not needs_barrier and not in_device_fn:
        how = ("direct", None)
    elif not in_device_fn:
        gen = _as_generator(fn)
        if gen is not None:
            how = ("generator", gen)
    _plans[key] = how
    return how


def _as_generator(fn: Callable) -> Callable | None:
    """Recompile a kernel with each `cuda.syncthreads()` statement replaced by `yield <line>`."""
    try:
        src = textwrap.dedent(inspect.getsource(fn))
        tree = ast.parse(src)
    except (OSError, TypeError, SyntaxError, IndentationError):
        return None
    if not tree.body or not isinstance(tree.body[0], ast.FunctionDef):
        return None
    fdef = tree.body[0]
    fdef.decorator_list = []
    globs = fn.__globals__
    found = 0

    class Barriers(ast.NodeTransformer):
        def visit_Expr(self, node):
            nonlocal found
            v = node.value
            if (isinstance(v, ast.Call) and not v.args and not v.keywords
                    and isinstance(v.func, ast.Attribute) and v.func.attr == "syncthreads"
                    and isinstance(v.func.value, ast.Name) and is_cuda_module(globs.get(v.func.value.id))):
                found += 1
                return ast.copy_location(ast.Expr(ast.Yield(ast.Constant(node.lineno))), node)
            return node

        def visit_FunctionDef(self, node):   # do not touch nested functions
            return node if node is not fdef else self.generic_visit(node)

    Barriers().visit(fdef)
    left = [n for n in ast.walk(fdef) if isinstance(n, ast.Attribute) and n.attr.startswith("syncthreads")]
    if not found or left:
        return None
    ast.increment_lineno(tree, fn.__code__.co_firstlineno - 1)
    free = fn.__code__.co_freevars
    if free:   # a kernel made by a factory: rebuild its closure around the new function
        outer = ast.FunctionDef(
            name="_wcdl_closure", args=ast.arguments(posonlyargs=[], args=[ast.arg(arg=v) for v in free],
                                                     kwonlyargs=[], kw_defaults=[], defaults=[]),
            body=[fdef, ast.Return(ast.Name(id=fdef.name, ctx=ast.Load()))], decorator_list=[])
        ast.copy_location(outer, fdef)
        tree = ast.Module(body=[outer], type_ignores=[])
    ast.fix_missing_locations(tree)
    ns: dict = {}
    try:
        exec(compile(tree, fn.__code__.co_filename, "exec"), globs, ns)
        if free:
            gen = ns["_wcdl_closure"](*[c.cell_contents for c in fn.__closure__])
        else:
            gen = ns.get(fdef.name)
    except Exception:
        return None
    return gen if inspect.isgeneratorfunction(gen) else None
