"""Grading plumbing: the course's layout, submissions, real nbgrader runs.

Every grading job runs nbgrader itself (generate_assignment, autograde,
generate_feedback, export) in a *workspace*: a course directory holding a
copy of solutions/, the gradebook, and the submissions. The learner's own
files are only ever read.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from grader.preprocessors import is_hidden_test_cell

REPO = Path(__file__).resolve().parents[1]
SOLUTIONS = REPO / "solutions"
COURSE = REPO / "course"
CONFIG = REPO / "grader" / "nbgrader_config.py"
HIDDEN_SUFFIX = "_hidden"
STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]*$")
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class GradingError(RuntimeError):
    """nbgrader itself failed; the message says which step and why."""


# ---------------------------------------------------------------- the course

def modules(solutions: Path = SOLUTIONS) -> list[str]:
    """Module folders of the course, in order (e.g. 01_matmul_is_all_you_need)."""
    return sorted(p.name for p in solutions.iterdir() if p.is_dir() and re.match(r"^\d\d_", p.name))


def source_notebooks(solutions: Path = SOLUTIONS) -> dict[str, Path]:
    """Map notebook name (no .ipynb) to its source; names are unique course-wide."""
    found: dict[str, Path] = {}
    for module in modules(solutions):
        for path in sorted((solutions / module).glob("*.ipynb")):
            if path.stem in found:
                raise GradingError(f"notebook name {path.stem} is used twice: {found[path.stem]} and {path}")
            found[path.stem] = path
    return found


def grade_cells(nb) -> list[dict]:
    """The nbgrader metadata of every cell that carries one, in order."""
    return [dict(c.metadata["nbgrader"], source=c.source) for c in nb.cells
            if "nbgrader" in c.get("metadata", {})]


def exercise_of(grade_id: str) -> str:
    return grade_id[: -len(HIDDEN_SUFFIX)] if grade_id.endswith(HIDDEN_SUFFIX) else grade_id


@dataclass
class ExerciseSpec:
    id: str
    points: float
    answer_cells: list[str] = field(default_factory=list)
    test_cells: list[str] = field(default_factory=list)


def exercises(source_nb) -> list[ExerciseSpec]:
    """Exercises of a source notebook: graded test cells grouped by exercise id."""
    specs: dict[str, ExerciseSpec] = {}
    for meta in grade_cells(source_nb):
        if meta.get("grade") and not meta.get("solution"):
            ex = specs.setdefault(exercise_of(meta["grade_id"]), ExerciseSpec(exercise_of(meta["grade_id"]), 0))
            ex.points += float(meta.get("points", 0))
            ex.test_cells.append(meta["grade_id"])
    for meta in grade_cells(source_nb):
        if meta.get("solution"):
            ex_id = meta["grade_id"].removesuffix("_answer")
            if ex_id in specs:
                specs[ex_id].answer_cells.append(meta["grade_id"])
    return list(specs.values())


# ---------------------------------------------------------------- workspaces

def make_workspace(root: Path, module_names: list[str] | None = None, solutions: Path = SOLUTIONS) -> Path:
    """Create (or refresh) a course directory at `root` for nbgrader to work in."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "nbgrader_config.py").write_text(
        "c = get_config()  # noqa: F821\n"
        f"load_subconfig({str(CONFIG)!r})  # noqa: F821\n"
    )
    for module in module_names if module_names is not None else modules(solutions):
        dest = root / "solutions" / module
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(solutions / module, dest,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "*.pyc"))
    return root


def nbgrader(root: Path, *args: str, timeout: float | None = None) -> subprocess.CompletedProcess:
    """Run one real `nbgrader` command in the course directory `root`."""
    cmd = [sys.executable, "-m", "nbgrader", *args]
    try:
        proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise GradingError(f"`nbgrader {' '.join(args)}` did not finish within {timeout:.0f} s") from e
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise GradingError(f"`nbgrader {' '.join(args)}` failed (exit {proc.returncode}):\n{tail}")
    return proc


def generate(root: Path, module: str) -> None:
    """nbgrader generate_assignment: release notebooks and gradebook entries."""
    nbgrader(root, "generate_assignment", module, "--force")


# ---------------------------------------------------------------- submissions

def inspect_submission(path: Path, source_path: Path):
    """Read a submitted notebook. Return `(notebook, None)` or `(None, problem)`.

    A problem is a sentence for the learner: the file is missing, empty, not
    JSON, not a notebook, or has none of this notebook's exercise cells.
    """
    name = source_path.name
    if not path.is_file():
        return None, f"{path.name}: file not found."
    raw = path.read_bytes()
    if not raw.strip():
        return None, f"{path.name}: the file is empty. Submit your saved copy of {name}."
    try:
        data = json.loads(raw.decode("utf-8", errors="replace"))
    except json.JSONDecodeError as e:
        return None, (f"{path.name}: not valid JSON (line {e.lineno}, column {e.colno}); the file is damaged. "
                      f"Start from a fresh copy of {name} and paste your answers in.")
    try:
        nb = nbformat.reads(json.dumps(data), as_version=4)
        nbformat.validate(nb)
    except Exception as e:  # nbformat raises several types for bad structure
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        return None, f"{path.name}: not a Jupyter notebook ({first[:150]})."
    source = nbformat.read(source_path, as_version=4)
    wanted = {m["grade_id"] for m in grade_cells(source) if m.get("solution")}
    present = {m.get("grade_id") for m in grade_cells(nb)}
    if wanted and not wanted & present:
        return None, (f"{path.name}: none of the exercise cells of {name} are in this file. "
                      "Is it a notebook from another assignment, or were the cells pasted into new ones?")
    return nb, None


# ---------------------------------------------------------------- results

@dataclass
class ExerciseResult:
    id: str
    score: float
    max_score: float
    message: str | None = None   # learner-safe: never hidden-test code

    @property
    def passed(self) -> bool:
        return self.score >= self.max_score


@dataclass
class NotebookResult:
    student: str
    module: str
    notebook: str
    exercises: list[ExerciseResult]
    problem: str | None = None

    @property
    def score(self) -> float:
        return sum(e.score for e in self.exercises)

    @property
    def max_score(self) -> float:
        return sum(e.max_score for e in self.exercises)

    def to_dict(self) -> dict:
        return {"student": self.student, "module": self.module, "notebook": self.notebook,
                "score": self.score, "max_score": self.max_score, "problem": self.problem,
                "exercises": [e.__dict__ | {"passed": e.passed} for e in self.exercises]}


def _first_error(cell) -> tuple[str, str] | None:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            return out.get("ename", "Error"), ANSI.sub("", out.get("evalue", ""))
    return None


def learner_message(error: tuple[str, str] | None, hidden: bool) -> str | None:
    """What a learner may read about a failed test cell."""
    if error is None:
        return None
    ename, evalue = error
    if ename == "NotImplementedError":
        return "not attempted yet"
    if ename == "CellTimeoutError":
        return "stopped: the cell ran past the time limit (an endless loop, or far too slow?)"
    if ename in ("DeadKernelError", "KernelDied"):
        return "the Python kernel died while running this test (a crash or sys.exit in your code?)"
    if hidden:
        if ename in ("CheckFailed", "AssertionError"):
            return ("hidden tests failed: wrong result on inputs the visible tests do not show "
                    "(other sizes, size 1, other dtypes or seeds)")
        return f"hidden tests raised {ename}" + (f": {evalue.splitlines()[0][:200]}" if evalue.strip() else "")
    if ename == "NameError":
        return f"NameError: {evalue} (did you run your answer cell, and keep the function's name?)"
    lines = evalue.splitlines() or [""]
    text = f"{ename}: {lines[0]}" + "".join("\n" + ln for ln in lines[1:12])
    return text


def results_for(root: Path, module: str, student: str, notebook: str, source_nb) -> NotebookResult:
    """Read one graded notebook's per-exercise scores from the gradebook."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", course_id="wcdl") as gb:
        try:
            grades = {g.name: (float(g.score), float(g.max_score))
                      for g in gb.find_submission_notebook(notebook, module, student).grades}
        except MissingEntry:
            grades = {}
    graded = root / "autograded" / student / module / f"{notebook}.ipynb"
    cells = {}
    if graded.exists():
        for cell in nbformat.read(graded, as_version=4).cells:
            gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if gid:
                cells[gid] = cell
    out = []
    for spec in exercises(source_nb):
        score, message = 0.0, None
        for gid in spec.test_cells:
            got, _ = grades.get(gid, (0.0, 0.0))
            score += got
            cell = cells.get(gid)
            if message is None and cell is not None:
                message = learner_message(_first_error(cell), is_hidden_test_cell(cell) or gid.endswith(HIDDEN_SUFFIX))
        if score >= spec.points:
            message = None
        elif message is None:
            message = "no points (the test did not run)"
        out.append(ExerciseResult(spec.id, score, spec.points, message))
    return NotebookResult(student, module, notebook, out)


def zero_result(student: str, module: str, notebook: str, source_nb, problem: str) -> NotebookResult:
    return NotebookResult(student, module, notebook,
                          [ExerciseResult(s.id, 0.0, s.points, "not graded: see the problem above")
                           for s in exercises(source_nb)], problem)


def grade_submission_dir(root: Path, module: str, student: str, files: dict[str, Path],
                         sources: dict[str, Path], timeout: float | None = None) -> list[NotebookResult]:
    """Grade one student's notebooks of one module in workspace `root`.

    `files` maps notebook name to the submitted file. Broken files score zero
    with a message; the rest go through `nbgrader autograde`.
    """
    dest_dir = root / "submitted" / student / module
    if dest_dir.exists():
        shutil.rmtree(dest_dir)
    dest_dir.mkdir(parents=True)
    results, good = [], []
    for name, path in files.items():
        source_nb = nbformat.read(sources[name], as_version=4)
        nb, problem = inspect_submission(path, sources[name])
        if problem:
            results.append(zero_result(student, module, name, source_nb, problem))
            continue
        nbformat.write(nb, dest_dir / f"{name}.ipynb")
        good.append((name, source_nb))
    if good:
        nbgrader(root, "autograde", module, "--student", student, "--force", timeout=timeout)
        results.extend(results_for(root, module, student, name, snb) for name, snb in good)
    else:
        _ensure_student(root, student)
    order = list(files)
    return sorted(results, key=lambda r: order.index(r.notebook))


def _ensure_student(root: Path, student: str) -> None:
    """Put a student whose files were all unreadable into the gradebook (0 points in exports)."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", course_id="wcdl") as gb:
        gb.update_or_create_student(student)
