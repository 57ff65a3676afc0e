"""Every source notebook follows the course's exercise conventions (solutions/README.md)."""

from __future__ import annotations

import ast
import re
from collections import Counter

import nbformat
import pytest

from grader import core
from grader.core import nbgrader_meta
from grader.preprocessors import is_hidden_test_cell

SOURCES = core.source_notebooks()


def _nb(name):
    return nbformat.read(SOURCES[name], as_version=4)


def _is_test(cell) -> bool:
    m = nbgrader_meta(cell)
    return bool(m.get("grade")) and not m.get("solution")


def _code(source: str) -> str:
    """A cell's source as Python: IPython magics and shell lines blanked."""
    return "\n".join("" if ln.lstrip().startswith(("%", "!")) else ln for ln in source.splitlines())


def _top_level_defs(source: str) -> list[str]:
    tree = ast.parse(_code(source))
    return [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]


def _solution_lines(source: str) -> int:
    body = source.split("### BEGIN SOLUTION", 1)[1].split("### END SOLUTION", 1)[0]
    return sum(1 for ln in body.splitlines() if ln.strip())


TITLE = re.compile(r"# (\d\d)\.(\d+) (\S.*)")
HEADING = re.compile(r"### Exercise (\d+): (\S.*) \((\d+) points?, about (\d+) lines?\)")
MIN_POINTS, MAX_POINTS = 1, 4


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_notebook_is_stripped_and_named_after_its_module(name):
    nb = _nb(name)
    module_no = SOURCES[name].parent.name[:2]
    assert name.startswith(f"m{module_no}_"), f"{name}: notebook names start with m{module_no}_"
    assert nb.cells and nb.cells[0].cell_type == "markdown", f"{name}: first cell should be a markdown title"
    with_outputs = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not with_outputs, f"{name}: cells {with_outputs} have stored outputs; commit notebooks stripped"


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_exercises_have_answer_visible_and_hidden_cells(name):
    nb = _nb(name)
    module_no = SOURCES[name].parent.name[:2]
    ids = [nbgrader_meta(c)["grade_id"] for c in nb.cells if nbgrader_meta(c)]
    assert len(ids) == len(set(ids)), f"{name}: duplicate grade ids"
    bad_ids = [g for g in ids if not re.fullmatch(rf"m{module_no}_[a-z0-9_]+", g)]
    assert not bad_ids, f"{name}: grade ids must look like m{module_no}_snake_case: {bad_ids}"
    specs = core.exercises(nb)
    assert specs, f"{name}: no exercises"
    for ex in specs:
        assert ex.answer_cells == [f"{ex.id}_answer"], f"{name}: {ex.id} needs one answer cell {ex.id}_answer"
        assert sorted(ex.test_cells) == [ex.id, f"{ex.id}_hidden"], \
            f"{name}: {ex.id} needs a visible test cell {ex.id} and a hidden one {ex.id}_hidden"
    for cell in nb.cells:
        m = nbgrader_meta(cell)
        if not m:
            continue
        if m.get("solution"):
            assert "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source, m["grade_id"]
            tree = ast.parse(cell.source)
            defs = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
            assert defs, f"{name}: answer cell {m['grade_id']} must define a function or class"
            assert all(ast.get_docstring(d) for d in defs), f"{name}: {m['grade_id']}: every def needs a docstring"
        elif m.get("grade"):
            assert m.get("locked"), f"{name}: test cell {m['grade_id']} must be locked"
            assert float(m.get("points", 0)) > 0, f"{name}: test cell {m['grade_id']} has no points"
            hidden = m["grade_id"].endswith("_hidden")
            assert hidden == is_hidden_test_cell(cell), f"{name}: {m['grade_id']}: hidden cells and only they use HIDDEN TESTS markers"
            if hidden:
                outside = re.sub(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS", "", cell.source, flags=re.S)
                assert not outside.strip(), f"{name}: {m['grade_id']} has code outside the hidden markers"


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_no_bare_asserts_in_test_cells(name):
    """Visible feedback goes through wcdl.checks, which says what went wrong."""
    for cell in _nb(name).cells:
        m = nbgrader_meta(cell)
        if m.get("grade") and not m.get("solution"):
            src = re.sub(r"^\s*###.*$", "", cell.source, flags=re.M)
            bare = [n.lineno for n in ast.walk(ast.parse(src)) if isinstance(n, ast.Assert)]
            assert not bare, f"{name}: {m['grade_id']} has bare asserts on lines {bare}; use wcdl.checks"


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_title_is_number_and_name(name):
    first = _nb(name).cells[0].source.splitlines()[0]
    m = TITLE.fullmatch(first)
    assert m, f"{name}: the first line should be '# MM.N Title' (no 'Module', no dash), got {first!r}"
    assert name.startswith(f"m{m[1]}_{m[2]}_"), f"{name}: title number {m[1]}.{m[2]} does not match the file name"
    assert not m[3].startswith(("—", "-", "–")), f"{name}: no dash between number and title: {first!r}"


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_exercise_headings_state_points_and_size(name):
    """Just before each answer cell: '### Exercise K: what (P points, about L lines)', K counting
    1, 2, ..., P the sum of the exercise's graded cells' points, L its solution's non-blank lines
    (within max(2, 30%))."""
    nb = _nb(name)
    points = {ex.id: ex.points for ex in core.exercises(nb)}
    k = 0
    for i, cell in enumerate(nb.cells):
        m = nbgrader_meta(cell)
        if not m.get("solution"):
            continue
        k += 1
        ex = m["grade_id"].removesuffix("_answer")
        prev = nb.cells[i - 1]
        first = prev.source.splitlines()[0] if prev.source else ""
        h = HEADING.fullmatch(first) if prev.cell_type == "markdown" else None
        assert h, (f"{name}: the cell before {m['grade_id']} should be markdown starting with "
                   f"'### Exercise {k}: what it builds (P points, about L lines)', got {first!r}")
        assert int(h[1]) == k, f"{name}: {ex} is exercise {k}, its heading says {h[1]}"
        assert int(h[3]) == points[ex], f"{name}: {ex} is worth {points[ex]:g} points, its heading says {h[3]}"
        lines = _solution_lines(cell.source)
        assert abs(int(h[4]) - lines) <= max(2, 0.3 * lines), \
            f"{name}: {ex}'s solution has {lines} lines, its heading says about {h[4]}"
    headings = [c for c in nb.cells if c.cell_type == "markdown" and re.match(r"#+ Exercise", c.source)]
    assert len(headings) == k, f"{name}: {len(headings)} exercise headings for {k} exercises"


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_graded_cells_are_worth_one_to_four_points(name):
    for cell in _nb(name).cells:
        if _is_test(cell):
            m = nbgrader_meta(cell)
            pts = m.get("points", 0)
            assert float(pts) == int(pts) and MIN_POINTS <= pts <= MAX_POINTS, \
                f"{name}: {m['grade_id']} is worth {pts} points; weight each graded cell {MIN_POINTS} to {MAX_POINTS}"


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_notebook_ends_with_takeaways(name):
    last = _nb(name).cells[-1]
    assert last.cell_type == "markdown" and last.source.startswith("## Takeaways"), \
        f"{name}: the last cell should be markdown starting with '## Takeaways' (GPU-only cells go before it)"


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_no_unused_imports(name):
    """Every name a cell imports is used by some cell of the notebook (solutions and hidden tests included)."""
    trees = [ast.parse(_code(c.source)) for c in _nb(name).cells if c.cell_type == "code"]
    used = {n.id for t in trees for n in ast.walk(t) if isinstance(n, ast.Name)}
    imported = {(a.asname or a.name).split(".")[0] for t in trees for n in ast.walk(t)
                if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
    unused = sorted(imported - used - {"*"})
    assert not unused, f"{name}: imported but never used: {unused}"


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_test_cells_define_references_once(name):
    """A test cell's functions and classes are references `ref_<what>` or helpers `_<what>`; one that
    the hidden test needs too is defined once, in the visible test cell, and never redefined."""
    nb = _nb(name)
    where: dict[str, list[str]] = {}
    for cell in nb.cells:
        if _is_test(cell):
            src = re.sub(r"^\s*###.*$", "", cell.source, flags=re.M)
            for d in _top_level_defs(src):
                where.setdefault(d, []).append(nbgrader_meta(cell)["grade_id"])
    bad = [d for d in where if not (d.startswith("ref_") or d.startswith("_"))]
    assert not bad, f"{name}: test-cell definitions should be named ref_<what> (references) or _<what> (helpers): {bad}"
    twice = {d: gids for d, gids in where.items() if len(gids) > 1}
    assert not twice, f"{name}: defined in more than one test cell (define it once, in the visible test): {twice}"
    # what the hidden test uses comes first in the visible cell, so a visible test that fails early
    # still defines it
    cells = {nbgrader_meta(c)["grade_id"]: c for c in nb.cells if _is_test(c)}
    for gid, hidden in cells.items():
        if not gid.endswith(core.HIDDEN_SUFFIX) or gid.removesuffix(core.HIDDEN_SUFFIX) not in cells:
            continue
        visible = ast.parse(_code(cells[gid.removesuffix(core.HIDDEN_SUFFIX)].source)).body
        used = {n.id for n in ast.walk(ast.parse(_code(re.sub(r"^\s*###.*$", "", hidden.source, flags=re.M))))
                if isinstance(n, ast.Name)}
        first = next((i for i, n in enumerate(visible)
                      if not isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom))), len(visible))
        late = [n.name for n in visible[first:] if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name in used]
        assert not late, f"{name}: {gid} uses {late}: define them at the top of the visible test cell"
    others = {d for c in nb.cells if c.cell_type == "code" and not _is_test(c) for d in _top_level_defs(c.source)}
    clash = sorted(others & set(where))
    assert not clash, f"{name}: test-cell definitions that other cells define too: {clash}"


def test_grade_ids_are_unique_across_the_course():
    """The per-exercise CSV keys its columns by exercise id: a repeated id would merge two columns."""
    ids = Counter(nbgrader_meta(c)["grade_id"] for name in SOURCES for c in _nb(name).cells if nbgrader_meta(c).get("grade_id"))
    repeated = sorted(g for g, n in ids.items() if n > 1)
    assert not repeated, f"grade ids used more than once in the course: {repeated}"
    exercises = Counter(ex.id for name in SOURCES for ex in core.exercises(_nb(name)))
    assert not [e for e, n in exercises.items() if n > 1], "exercise ids repeated across notebooks"


def _number(name: str) -> int:
    return int(name.split("_")[1])


@pytest.mark.parametrize("module", sorted({path.parent.name for path in SOURCES.values()}))
def test_each_module_ends_with_a_prompt_for_your_own_work(module):
    """A module's last notebook asks the learner to use what the module taught on their own model or data."""
    last = max((n for n, p in SOURCES.items() if p.parent.name == module), key=_number)
    cells = _nb(last).cells
    assert len(cells) >= 2 and cells[-2].cell_type == "markdown" and cells[-2].source.startswith("## On your own work"), \
        f"{last}: the cell before '## Takeaways' should be markdown starting with '## On your own work'"


ESSAY_BOX = "#### What the essay got wrong"


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_essay_corrections_name_the_essay(name):
    """A correction of an essay says which essay, so a reader can check the quote."""
    for cell in _nb(name).cells:
        if cell.cell_type == "markdown" and cell.source.startswith(ESSAY_BOX):
            assert re.search(r"\b0[1-5]_[a-z_]+\.txt\b", cell.source), \
                f"{name}: a '{ESSAY_BOX}' box should name the essay file it quotes (e.g. 01_working_class_deep_learner.txt)"
