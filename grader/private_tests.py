"""An instructor's private hidden tests, merged into the course's hidden tests at grading.

The course's hidden tests are public (solutions/ is in the open repository),
so a class's grade should not rest on them alone. `wcdl autograde SUBMISSIONS
--private-tests DIR` reads DIR (kept wherever the instructor likes, outside
what learners see): one Python file per hidden-test cell, named by that
cell's grade id, which is unique across the course:

    DIR/m01_one_hot_hidden.py        appended to the hidden test of exercise m01_one_hot
    DIR/03/m03_tiled_matmul_hidden.py   subfolders only order the files; the name decides

Each file's code is appended to its hidden-test cell, inside the hidden-test
block, in the grading workspace only (solutions/ is not changed). So it runs
after the course's hidden test, with the same names (the notebook's imports,
the visible test's `ref_*`, the `wcdl.checks` helpers), under the same guard,
and is never shown: the release, the feedback and `wcdl check` treat it as
the hidden test it is part of. A failing private test fails that cell, which
keeps its points: the exercise's points, grades.csv and grades_by_exercise.csv
keep their columns and maxima. Any problem with DIR (missing, empty, a file
that names no hidden test, a syntax error, nbgrader markers) stops the run
before anything is graded.
"""

from __future__ import annotations

import difflib
import hashlib
from pathlib import Path

import nbformat

from grader import core

HIDDEN_END = "### END HIDDEN TESTS"


class PrivateTestsError(core.GradingError):
    """The private tests folder cannot be used; nothing was graded."""


def hidden_cells(sources: dict[str, Path]) -> dict[str, str]:
    """Grade id of every hidden-test cell of the course -> its notebook."""
    from grader.preprocessors import is_hidden_test_cell

    found = {}
    for name, path in sources.items():
        for cell in nbformat.read(path, as_version=4).cells:
            gid = core.nbgrader_meta(cell).get("grade_id")
            if gid and is_hidden_test_cell(cell):
                found[gid] = name
    return found


def load(folder: Path, sources: dict[str, Path]) -> dict[str, str]:
    """{hidden grade id: code} from the files of `folder`; every problem at once, as one error."""
    if not folder.is_dir():
        raise PrivateTestsError(f"--private-tests {folder}: no such folder. Nothing was graded.")
    known = hidden_cells(sources)
    code: dict[str, str] = {}
    where: dict[str, Path] = {}
    problems = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts) or path.is_dir():
            continue                       # .git of a private repository, editor files
        if path.suffix != ".py":
            if not path.name.lower().startswith("readme"):
                problems.append(f"{rel}: not a .py file (one file per hidden test: <grade id>.py)")
            continue
        gid = path.stem
        if gid not in known:
            close = difflib.get_close_matches(gid, list(known), n=1)
            problems.append(f"{rel}: the course has no hidden test {gid!r}"
                            + (f" (did you mean {close[0]}.py?)" if close else
                               " (name the file after a hidden test's grade id, such as m01_one_hot_hidden.py)"))
            continue
        if gid in where:
            problems.append(f"{rel}: a second file for {gid} (the first is {where[gid].relative_to(folder)})")
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            problems.append(f"{rel}: cannot be read ({e})")
            continue
        if not text.strip():
            problems.append(f"{rel}: empty")
            continue
        if "### BEGIN " in text or "### END " in text:
            problems.append(f"{rel}: holds an nbgrader marker (### BEGIN/END ...); write the test code alone")
            continue
        try:
            compile(text, str(path), "exec")
        except SyntaxError as e:
            problems.append(f"{rel}, line {e.lineno}: {e.msg}")
            continue
        code[gid], where[gid] = text, path
    if not code and not problems:
        problems.append("no private tests in it (expected files such as m01_one_hot_hidden.py)")
    if problems:
        raise PrivateTestsError(f"private tests in {folder}: nothing was graded.\n"
                                + "\n".join(f"  {p}" for p in problems))
    return code


def merge(solutions: Path, code: dict[str, str]) -> list[str]:
    """Append each private test to its hidden-test cell in the workspace copy `solutions`;
    returns the grade ids merged (those whose module is there)."""
    merged = []
    for path in sorted(solutions.glob("*/*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        changed = False
        for cell in nb.cells:
            gid = core.nbgrader_meta(cell).get("grade_id")
            if gid in code and HIDDEN_END in cell.source:
                at = cell.source.rindex(HIDDEN_END)
                cell.source = (cell.source[:at].rstrip("\n") + f"\n\n# private tests ({gid}.py)\n"
                               + code[gid].strip("\n") + "\n" + cell.source[at:])
                merged.append(gid)
                changed = True
        if changed:
            nbformat.write(nb, path)
    return merged


def digest(code: dict[str, str], module: str, sources: dict[str, Path]) -> str:
    """What a module's private tests add to its resume hash: a change regrades that module only."""
    ids = sorted(gid for gid in hidden_cells({n: p for n, p in sources.items() if p.parent.name == module})
                 if gid in code)
    if not ids:
        return ""
    h = hashlib.sha256()
    for gid in ids:
        h.update(gid.encode() + b"\0" + code[gid].encode() + b"\0")
    return "|private:" + h.hexdigest()
