"""Everything that knows numba's internals: a numba upgrade should touch this file only.

The checking simulator (`simulator.py`) runs a kernel's plain Python function
itself. To get there it has to reach into numba, at these places, none of
which is public API:

* `install_launch_hook(run)` patches the simulator's kernel class
  `numba.cuda.simulator.kernel.FakeCUDAKernel`: `__getitem__` keeps the
  launch configuration for us (and asks numba's own simulator for a 1x1
  launch, so it does no work of its own), `__call__` hands the launch to
  `run(fn, grid, block, *args)`. Device functions keep numba's call. Installed
  once, for the process (simulator mode only: `setup()` and `trace()`).
* `launches_simulated(run)` patches the real CUDA dispatcher
  `numba.cuda.dispatcher.CUDADispatcher` (`__getitem__`, `configure`) for the
  duration of a `with` block, so on a GPU machine `trace()` still runs launches
  in the checking simulator; the originals are put back on the way out.
* It reads private attributes: a simulated kernel's `fn` and `_device`, a
  real one's `py_func` and `targetoptions["device"]` (the Python function
  behind a kernel or a device function), a simulated device array's `_ary`
  (its host numpy array), and numba types' dtypes
  (`numba.np.numpy_support.as_dtype`).

numba is imported inside the functions, never at import time: it reads
`NUMBA_ENABLE_CUDASIM` once, when first imported, and a notebook decides on
that after importing wcdl.cuda.
"""

from __future__ import annotations

import contextlib
import sys
from typing import Any, Callable, Iterator

import numpy as np

from .records import KernelError

Run = Callable[..., Any]      # run(fn, grid, block, *args): one launch in the checking simulator


def simulating() -> bool:
    """True when `numba.cuda` is numba's CUDA simulator (imports numba)."""
    from numba import config
    return bool(config.ENABLE_CUDASIM)


def kernel_function(fn: Any) -> Callable:
    """The Python function of a `@cuda.jit` kernel (real or simulated), or `fn` itself."""
    return getattr(fn, "py_func", None) or getattr(fn, "fn", None) or fn


def is_cuda_module(v: Any) -> bool:
    return isinstance(v, type(sys)) and getattr(v, "__name__", "") == "numba.cuda"


def device_function(v: Any) -> Callable | None:
    """The Python function behind a @cuda.jit(device=True) function, if `v` is one."""
    if getattr(v, "_device", False) and hasattr(v, "fn"):           # simulator's FakeCUDAKernel
        return v.fn
    opts = getattr(v, "targetoptions", None)
    if isinstance(opts, dict) and opts.get("device") and hasattr(v, "py_func"):   # real CUDADispatcher
        return v.py_func
    return None


def np_dtype(dtype: Any) -> np.dtype:
    """A numpy dtype for `cuda.shared.array(..., dtype)`: numpy's own, or a numba type (float32)."""
    try:
        return np.dtype(dtype)
    except TypeError:
        from numba.np import numpy_support
        return numpy_support.as_dtype(dtype)


def to_host(arg: Any) -> tuple[Any, Callable[[], None] | None]:
    """A numpy array the simulator can run on, and how to copy results back."""
    if isinstance(arg, np.ndarray):
        return arg, None
    inner = getattr(arg, "_ary", None)                   # simulator's FakeCUDAArray
    if isinstance(inner, np.ndarray):
        return inner, None
    if hasattr(arg, "copy_to_host") and hasattr(arg, "copy_to_device"):   # real DeviceNDArray
        host = arg.copy_to_host()
        return host, lambda: arg.copy_to_device(host)
    if hasattr(arg, "__cuda_array_interface__"):         # e.g. a torch CUDA tensor
        from numba import cuda
        dev = cuda.as_cuda_array(arg)
        host = dev.copy_to_host()
        return host, lambda: dev.copy_to_device(host)
    return arg, None


def _config_of(key: Any) -> tuple[Any, Any]:
    if not isinstance(key, tuple) or len(key) < 2:
        raise KernelError(f"launch a kernel as kernel[blocks, threads_per_block](...), got kernel[{key!r}].")
    return key[0], key[1]


class _SimConfigured:
    """`kernel[grid, block]` while tracing on a GPU machine: runs in the simulator."""

    def __init__(self, run: Run, fn: Callable, grid: Any, block: Any) -> None:
        self.run, self.fn, self.grid, self.block = run, fn, grid, block

    def __call__(self, *args: Any) -> None:
        self.run(self.fn, self.grid, self.block, *args)


_installed = False


def install_launch_hook(run: Run) -> None:
    """Simulator mode: every launch of a @cuda.jit kernel goes to `run` (once per process)."""
    global _installed
    if _installed:
        return
    from numba.cuda.simulator.kernel import FakeCUDAKernel

    def call(self, *args):
        if self._device:
            return FakeCUDAKernel._wcdl_original_call(self, *args)
        if self.grid_dim is None:
            raise KernelError(f"{self.fn.__name__} was called without a launch configuration: "
                              f"write {self.fn.__name__}[blocks, threads_per_block](...).")
        run(self.fn, self._wcdl_config[0], self._wcdl_config[1], *args)

    def getitem(self, configuration):
        grid, block = _config_of(configuration)
        FakeCUDAKernel._wcdl_original_getitem(self, (1, 1) + tuple(configuration[2:]))
        self._wcdl_config = (grid, block)
        return self

    FakeCUDAKernel._wcdl_original_call = FakeCUDAKernel.__call__
    FakeCUDAKernel._wcdl_original_getitem = FakeCUDAKernel.__getitem__
    FakeCUDAKernel.__call__ = call
    FakeCUDAKernel.__getitem__ = getitem
    _installed = True


@contextlib.contextmanager
def launches_simulated(run: Run) -> Iterator[None]:
    """On a real-CUDA numba: route kernel[grid, block](...) to `run` for a while."""
    from numba.cuda import dispatcher as nd

    cls = nd.CUDADispatcher
    orig_getitem = cls.__dict__.get("__getitem__")
    orig_configure = cls.__dict__.get("configure")

    def getitem(self, key):
        grid, block = _config_of(key)
        return _SimConfigured(run, self.py_func, grid, block)

    def configure(self, griddim, blockdim, *rest, **kw):
        return _SimConfigured(run, self.py_func, griddim, blockdim)

    cls.__getitem__ = getitem
    cls.configure = configure
    try:
        yield
    finally:
        for attr, orig in (("__getitem__", orig_getitem), ("configure", orig_configure)):
            if orig is None:
                delattr(cls, attr)
            else:
                setattr(cls, attr, orig)
