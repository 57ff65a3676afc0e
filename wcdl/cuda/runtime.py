"""Where kernels run: an NVIDIA GPU, or numba's CUDA simulator on the CPU.

`gpu_present()` answers without importing numba, so a notebook can choose the
simulator (`NUMBA_ENABLE_CUDASIM=1`, read by numba once, when imported) before
`from numba import cuda`; `setup()` then routes simulated launches through the
checking simulator.
"""

from __future__ import annotations

import os
import shutil
import subprocess

from ._numba_sim import install_launch_hook, simulating
from .simulator import simulate

SIM_ENV = "NUMBA_ENABLE_CUDASIM"
FORCE_SIM_ENV = "WCDL_FORCE_CUDASIM"   # "1": use the simulator even where a GPU is present


def gpu_present() -> bool:
    """True when an NVIDIA GPU answers `nvidia-smi -L`. Never imports numba.

    `WCDL_FORCE_CUDASIM=1` makes it answer False (to try the simulator on a
    GPU machine).
    """
    if os.environ.get(FORCE_SIM_ENV, "") not in ("", "0"):
        return False
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return False
    try:
        out = subprocess.run([exe, "-L"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0 and "GPU" in out.stdout


def setup() -> str:
    """Install the checking simulator (simulator mode only); say where kernels run."""
    from numba import cuda

    if simulating():
        install_launch_hook(simulate)
        return ("kernels run in numba's CUDA simulator on the CPU (no GPU in use): the threads of a block run "
                "one after another, so keep sizes tiny. Out-of-bounds indices, data races and missing "
                "syncthreads() are reported with the thread and the index.")
    try:
        name = cuda.get_current_device().name
        name = name.decode() if isinstance(name, bytes) else name
    except Exception as e:  # a driver problem: say so, do not hide it
        return f"a GPU was found but numba could not open it ({type(e).__name__}: {e})"
    return (f"kernels run on the GPU: {name}. Graded checks still run your kernels in the checking "
            f"simulator (wcdl.cuda.trace) to count memory reads and catch races.")
