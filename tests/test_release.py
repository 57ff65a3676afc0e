"""Nothing released gives an answer away.

Every file under `course/` (notebooks, scripts, data, any type) is searched for the
lines of the solution blocks and hidden tests of `solutions/` (grader/leaks.py, which
`wcdl publish` runs on the class repository it writes too).
"""

from __future__ import annotations

import json
import shutil

import pytest

from grader import core
from grader.leaks import leaks, secret_lines


def test_nothing_released_contains_a_solution_or_hidden_test_line():
    found = leaks(core.SOLUTIONS, core.COURSE)
    assert not found, "released files that give answers away:\n" + "\n".join(found)


def test_there_are_secrets_to_look_for():
    secret = secret_lines(core.SOLUTIONS)
    per_notebook = {nb.name for nb in core.SOLUTIONS.glob("*/*.ipynb")} - set(secret.values())
    assert not per_notebook, f"notebooks with no solution or hidden-test line long enough to search for: {per_notebook}"


@pytest.mark.parametrize("where", ["script", "notebook", "marker"])
def test_a_planted_leak_is_found(tmp_path, where):
    """The search finds an answer copied into a released script, a released notebook, or a marker left in."""
    module = "03_cuda_kernels"
    course = tmp_path / "course"
    shutil.copytree(core.COURSE / module, course / module)
    secret = secret_lines(core.SOLUTIONS)
    line = next(s for s, nb in secret.items() if nb.startswith("m03_2"))
    nb_path = course / module / "m03_2_sum_an_array.ipynb"
    if where == "script":
        (course / module / "helpers.py").write_text(f"def f():\n    {line}\n")
    else:
        nb = json.loads(nb_path.read_text())
        planted = line if where == "notebook" else "### BEGIN HIDDEN TESTS"
        nb["cells"][-1]["source"] = [planted + "\n"] + list(nb["cells"][-1]["source"])
        nb_path.write_text(json.dumps(nb))
    assert leaks(core.SOLUTIONS, tmp_path / "empty") == []
    found = leaks(core.SOLUTIONS, course)
    assert len(found) == 1 and found[0].startswith(f"{module}/" + ("helpers.py" if where == "script" else nb_path.name)), found
