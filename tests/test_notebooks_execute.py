"""Every solution notebook executes cleanly, cell by cell, under nbval.

One test per notebook (nbval runs in its own pytest process, all cells on
one kernel), so pytest-xdist can spread the notebooks over the workers.
"""

import subprocess
import sys

import pytest

from grader import core

SOURCES = core.source_notebooks()


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_solution_notebook_executes(name, record_property):
    path = SOURCES[name]
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env", "-p", "no:xdist",
         "-p", "no:cacheprovider", "-q", "--durations=3", str(path)],
        cwd=core.REPO, capture_output=True, text=True, timeout=900)
    tail = "\n".join(proc.stdout.splitlines()[-60:])
    assert proc.returncode == 0, f"{path} did not execute cleanly under nbval:\n{tail}"
