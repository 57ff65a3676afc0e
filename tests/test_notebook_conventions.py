"""Every source notebook follows the course's exercise conventions."""

from __future__ import annotations

import ast
import re

import nbformat
import pytest

from grader import core
from grader.preprocessors import is_hidden_test_cell

SOURCES = core.source_notebooks()


def _nb(name):
    return nbformat.read(SOURCES[name], as_version=4)


def _meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


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
    ids = [_meta(c)["grade_id"] for c in nb.cells if _meta(c)]
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
        m = _meta(cell)
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
        m = _meta(cell)
        if m.get("grade") and not m.get("solution"):
            src = re.sub(r"^\s*###.*$", "", cell.source, flags=re.M)
            bare = [n.lineno for n in ast.walk(ast.parse(src)) if isinstance(n, ast.Assert)]
            assert not bare, f"{name}: {m['grade_id']} has bare asserts on lines {bare}; use wcdl.checks"
