"""Nothing released gives an answer away.

Every file under `course/` (notebooks, scripts, data, any type) is searched for the
lines of the solution blocks and hidden tests of `solutions/`: a learner who opens a
released file must not find an answer or a hidden test there. Short lines
(`cuda.syncthreads()`, `return out`), comments, and lines that the notebooks show
anyway outside those blocks (a function's signature, a visible test) are not secrets.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from grader import core

MIN_LENGTH = 25
BEGIN = ("### BEGIN SOLUTION", "### BEGIN HIDDEN TESTS")
END = ("### END SOLUTION", "### END HIDDEN TESTS")


def _cells(path: Path) -> list[str]:
    return ["".join(c.get("source", "")) for c in json.loads(path.read_text()).get("cells", [])]


def secret_lines(solutions: Path) -> dict[str, str]:
    """Lines of solution blocks and hidden tests -> the notebook they come from.

    Lines that also stand outside those blocks in a source notebook are released
    on purpose (the release keeps everything outside the blocks), so they are not secret.
    """
    secret: dict[str, str] = {}
    public: set[str] = set()
    for nb in sorted(solutions.glob("*/*.ipynb")):
        for source in _cells(nb):
            inside = False
            for line in source.splitlines():
                s = line.strip()
                if s.startswith(BEGIN):
                    inside = True
                elif s.startswith(END):
                    inside = False
                elif inside:
                    if len(s) >= MIN_LENGTH and not s.startswith("#"):
                        secret.setdefault(s, nb.name)
                else:
                    public.add(s)
    return {s: nb for s, nb in secret.items() if s not in public}


def released_lines(path: Path) -> list[str]:
    """The stripped lines a learner can read in a released file (a notebook's cell sources)."""
    if path.suffix == ".ipynb":
        try:
            return [ln.strip() for source in _cells(path) for ln in source.splitlines()]
        except (json.JSONDecodeError, UnicodeDecodeError):
            pass
    return [ln.strip() for ln in path.read_text(errors="replace").splitlines()]


def leaks(solutions: Path, course: Path) -> list[str]:
    secret = secret_lines(solutions)
    found = []
    for f in sorted(p for p in course.rglob("*") if p.is_file()):
        lines = released_lines(f)
        hits = [s for s in lines if s in secret]
        markers = [s for s in lines if s.startswith(BEGIN + END)]
        if hits or markers:
            example = (hits or markers)[0]
            found.append(f"{f.relative_to(course)}: {len(hits)} line(s) of solutions or hidden tests"
                         f"{f' and {len(markers)} nbgrader marker(s)' if markers else ''}, e.g. {example[:80]!r}"
                         + (f" (from {secret[example]})" if example in secret else ""))
    return found


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
