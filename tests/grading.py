"""Build learner submissions from the real release and grade them with nbgrader."""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat

from grader import core
from tests.mutants import Mutant

SOURCES = core.source_notebooks()


def module_of(notebook: str) -> str:
    return SOURCES[notebook].parent.name


def solution_code(source: str) -> str:
    """An answer cell as a learner who solved it would leave it: no markers."""
    return "\n".join(ln for ln in source.splitlines()
                     if ln.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))


def submission(notebook: str, mutants: list[Mutant] = (), solved: bool = True):
    """The committed release notebook, answer cells filled in (and mutated)."""
    release = nbformat.read(core.COURSE / module_of(notebook) / f"{notebook}.ipynb", as_version=4)
    source = nbformat.read(SOURCES[notebook], as_version=4)
    answers = {core.nbgrader_meta(c)["grade_id"]: c.source for c in source.cells
               if core.nbgrader_meta(c).get("solution")}
    nb = copy.deepcopy(release)
    if not solved:
        return nb
    for cell in nb.cells:
        gid = core.nbgrader_meta(cell).get("grade_id")
        if gid in answers:
            cell.source = solution_code(answers[gid])
    for m in mutants:
        cells = [c for c in nb.cells if core.nbgrader_meta(c).get("grade_id") == m.cell]
        assert len(cells) == 1, f"mutant {m.id}: no answer cell {m.cell!r} in {notebook}"
        count = cells[0].source.count(m.old)
        assert count == 1, f"mutant {m.id}: {m.old!r} occurs {count} times in {m.cell} (must be once)"
        cells[0].source = cells[0].source.replace(m.old, m.new)
    return nb


class Workspace:
    """One nbgrader course directory per test worker; each grading is a new student."""

    def __init__(self, root: Path):
        self.root = core.make_workspace(root)
        self.generated: set[str] = set()
        self.count = 0

    def grade(self, notebook: str, nb, tmp: Path) -> core.NotebookResult:
        module = module_of(notebook)
        if module not in self.generated:
            core.generate(self.root, module)
            self.generated.add(module)
        self.count += 1
        path = tmp / f"{notebook}.ipynb"
        nbformat.write(nb, path)
        student = f"s{self.count}"
        [result] = core.grade_submission_dir(self.root, module, student, {notebook: path}, SOURCES)
        return result


def scores(result: core.NotebookResult) -> dict[str, tuple[float, float]]:
    return {e.id: (e.score, e.max_score) for e in result.exercises}
