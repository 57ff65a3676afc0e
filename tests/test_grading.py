"""The grader graded: solutions score full marks, the untouched release
scores zero, and every mutant loses exactly the exercises it breaks."""

from __future__ import annotations

import filecmp
import time

import nbformat
import pytest

from grader import core, release
from tests.grading import SOURCES, Workspace, scores, submission
from tests.mutants import all_mutants, batches

NOTEBOOKS = sorted(SOURCES)
MUTANT_RUNS = batches(all_mutants())


@pytest.fixture(scope="session")
def ws(tmp_path_factory):
    return Workspace(tmp_path_factory.mktemp("course"))


def _diff_trees(a, b) -> list[str]:
    cmp = filecmp.dircmp(a, b, ignore=["__pycache__", ".ipynb_checkpoints"])
    out = [f"only in {cmp.left}: {x}" for x in cmp.left_only] + [f"only in {cmp.right}: {x}" for x in cmp.right_only]
    _, mismatch, errors = filecmp.cmpfiles(a, b, cmp.common_files, shallow=False)
    out += [f"differs: {x}" for x in mismatch + errors]
    for sub in cmp.common_dirs:
        out += _diff_trees(a / sub, b / sub)
    return out


def test_release_is_in_sync_with_solutions(tmp_path):
    release.release(tmp_path / "course")
    diffs = _diff_trees(tmp_path / "course", core.COURSE)
    assert not diffs, "course/ is not what `make release` produces from solutions/:\n" + "\n".join(diffs)


def test_release_has_no_solutions_or_hidden_tests():
    for name, src in SOURCES.items():
        text = (core.COURSE / src.parent.name / f"{name}.ipynb").read_text()
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
            assert marker not in text, f"{name}: release contains {marker!r}"


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_solution_scores_full_marks(ws, notebook, tmp_path, record_property):
    start = time.perf_counter()
    result = ws.grade(notebook, submission(notebook), tmp_path)
    record_property("notebook_seconds", time.perf_counter() - start)
    lost = {k: v for k, v in scores(result).items() if v[0] < v[1]}
    assert result.exercises, f"{notebook}: no graded exercises found"
    assert not lost, f"{notebook}: solution lost points {lost}; messages: " + \
        "; ".join(f"{e.id}: {e.message}" for e in result.exercises if not e.passed)
    # an honest notebook gets no "the grader restored / blocked ..." notes: they would be noise
    assert not result.notes, f"{notebook}: notes on an honest solution: {result.notes}"


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_untouched_release_scores_zero(ws, notebook, tmp_path):
    result = ws.grade(notebook, submission(notebook, solved=False), tmp_path)
    earned = {k: v for k, v in scores(result).items() if v[0] > 0}
    assert not earned, f"{notebook}: the untouched release earned points {earned}"
    assert all(e.message == "not attempted yet" for e in result.exercises), \
        [(e.id, e.message) for e in result.exercises]


@pytest.mark.parametrize("run", MUTANT_RUNS, ids=lambda run: run[0].notebook + "/" + "+".join(m.cell + ":" + m.why for m in run)[:120])
def test_mutants_lose_their_points(ws, run, tmp_path):
    notebook = run[0].notebook
    result = ws.grade(notebook, submission(notebook, run), tmp_path)
    got = scores(result)
    expected_fail = {ex for m in run for ex in m.fails}
    unknown = expected_fail - set(got)
    assert not unknown, f"mutants name exercises that do not exist in {notebook}: {unknown}"
    kept = [f"{ex} ({m.why})" for m in run for ex in m.fails if got[ex][0] >= got[ex][1]]
    assert not kept, f"{notebook}: mutants did not lose points in: {kept}"
    # hidden_only: the visible test keeps its points, the hidden test loses them
    cells = {e.id: e.cells for e in result.exercises}
    for m in run:
        for ex in (m.fails if m.hidden_only else ()):
            visible = {g: v for g, v in cells[ex].items() if not g.endswith(core.HIDDEN_SUFFIX)}
            hidden = {g: v for g, v in cells[ex].items() if g.endswith(core.HIDDEN_SUFFIX)}
            assert visible and hidden, f"{ex}: a hidden_only mutant needs a visible and a hidden test cell, got {cells[ex]}"
            assert all(0 < most <= got for got, most in visible.values()), \
                f"{notebook}: hidden_only mutant ({m.why}) fails the visible test of {ex}: {visible}"
            assert any(got < most for got, most in hidden.values()), \
                f"{notebook}: hidden_only mutant ({m.why}) passes the hidden test of {ex}: {hidden}"
    collateral = {ex: v for ex, v in got.items() if ex not in expected_fail and v[0] < v[1]}
    assert not collateral, (f"{notebook}: exercises lost points that no mutant in this run declares: "
                            f"{collateral}; messages: " +
                            "; ".join(f"{e.id}: {e.message}" for e in result.exercises if e.id in collateral))


MIN_MUTANTS = 3


def test_every_exercise_has_enough_mutants():
    """At least 3 mutants per exercise, at least one of them caught by the hidden test alone."""
    mutants = all_mutants()
    short = []
    for nb, src in SOURCES.items():
        for ex in core.exercises(nbformat.read(src, as_version=4)):
            mine = [m for m in mutants if m.notebook == nb and ex.id in m.fails]
            hidden = [m for m in mine if m.hidden_only]
            if len(mine) < MIN_MUTANTS or not hidden:
                short.append(f"{ex.id} ({len(mine)} mutants, {len(hidden)} hidden_only)")
    assert not short, (f"every exercise needs >= {MIN_MUTANTS} mutants in tests/mutants/, at least one "
                       f"hidden_only (passes the visible test, fails the hidden one); short: " + ", ".join(short))
