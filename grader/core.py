"""Grading plumbing: the course's layout, submissions, real nbgrader runs.

Every grading job runs nbgrader itself (generate_assignment, autograde,
generate_feedback, export) in a *workspace*: a course directory holding a
copy of solutions/, the gradebook, and the submissions. The learner's own
files are only ever read.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from grader.preprocessors import hidden_lines, is_hidden_test_cell

REPO = Path(__file__).resolve().parents[1]
SOLUTIONS = REPO / "solutions"
# A class repository written by `wcdl publish` has no solutions/: there `wcdl check` grades against
# the release it was published with, whose hidden-test cells hold a comment only (grader/publish.py).
PUBLISHED_RELEASE = REPO / "grader" / "release"
PUBLISHED = not SOLUTIONS.is_dir() and PUBLISHED_RELEASE.is_dir()
if PUBLISHED:
    SOLUTIONS = PUBLISHED_RELEASE
COURSE = REPO / "course"
CONFIG = REPO / "grader" / "nbgrader_config.py"
HIDDEN_SUFFIX = "_hidden"
# \Z, not $: "$" also matches before a trailing newline ("x\n" would split a CSV row)
STUDENT_ID = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}\Z")
MAX_NOTEBOOK_BYTES = 50 << 20     # a course notebook with outputs is a few MB
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class GradingError(RuntimeError):
    """nbgrader itself failed; the message says which step and why."""


def log(msg: str) -> None:
    """A line for the person running a command (stderr: stdout may carry JSON)."""
    print(msg, file=sys.stderr, flush=True)


def nbgrader_meta(cell) -> dict:
    """A cell's nbgrader metadata: {} when it has none (or when what it has is not a mapping)."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


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
    return [dict(nbgrader_meta(c), source=c.source) for c in nb.cells
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


def data_problem(module_names, solutions: Path = SOLUTIONS) -> str | None:
    """Fetch the data the modules' notebooks load, outside any sandbox; None if all is there.

    Grading kernels may not write to the data cache (nor reach the network):
    without this, a missing download would surface as NameErrors in every
    cell after the one that loads the data.
    """
    needs = any("load_sms_spam" in p.read_text(errors="replace")
                for m in module_names for p in (solutions / m).glob("*.ipynb"))
    if not needs:
        return None
    from wcdl.data import DataError, load_sms_spam

    try:
        load_sms_spam()
    except DataError as e:
        return f"the SMS Spam Collection is not available, so notebooks that load it will fail:\n{e}"
    return None


# ---------------------------------------------------------------- workspaces

def make_workspace(root: Path, module_names: list[str] | None = None, solutions: Path = SOLUTIONS) -> Path:
    """Create (or refresh) a course directory at `root` for nbgrader to work in."""
    root.mkdir(parents=True, exist_ok=True)
    db = (root / "gradebook.db").resolve()
    (root / "nbgrader_config.py").write_text(
        "c = get_config()  # noqa: F821\n"
        f"load_subconfig({str(CONFIG)!r})  # noqa: F821\n"
        "# several nbgrader processes may write here at once (wcdl autograde --workers):\n"
        "# wait up to 120 s for the database lock instead of failing after 5 s\n"
        f"c.CourseDirectory.db_url = {db_url(db)!r}  # noqa: F821\n"
    )
    for module in module_names if module_names is not None else modules(solutions):
        dest = root / "solutions" / module
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(solutions / module, dest,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "*.pyc"))
    return root


def generated_cache(env: bool = True) -> Path:
    """Where `wcdl check` keeps generated modules: WCDL_CHECK_CACHE (unless env=False), else
    generated/ in the course's cache folder. It holds hidden tests: grading kernels may not read it."""
    from wcdl.data import default_cache_dir

    if env and os.environ.get("WCDL_CHECK_CACHE"):
        return Path(os.environ["WCDL_CHECK_CACHE"])
    return default_cache_dir() / "generated"


def _generation_key(module: str, solutions: Path) -> str:
    """A digest of everything generate_assignment's output depends on."""
    import hashlib

    import nbgrader

    h = hashlib.sha256(nbgrader.__version__.encode())
    files = sorted(p for p in (solutions / module).rglob("*") if p.is_file() and "__pycache__" not in p.parts
                   and ".ipynb_checkpoints" not in p.parts)
    for p in files + sorted((REPO / "grader").glob("*.py")) + [REPO / "nbgrader_config.py"]:
        h.update(str(p.relative_to(REPO) if p.is_relative_to(REPO) else p.name).encode() + b"\0")
        h.update(p.read_bytes() if p.exists() else b"-")
    return h.hexdigest()[:20]


def generated_workspace(root: Path, module: str, solutions: Path = SOLUTIONS) -> Path:
    """make_workspace + generate for one module, reusing a cached generation when nothing changed.

    generate_assignment takes about 10 s a module and its output (release and
    gradebook) depends only on the module's solutions and the grader's code
    and config: `wcdl check` after every exercise should not pay it each time.
    Falls back to generating in place when the cache cannot be written.
    """
    cached = generated_cache() / f"{module}-{_generation_key(module, solutions)}"
    if not (cached / "gradebook.db").exists():
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            build = Path(tempfile.mkdtemp(prefix=f".{module}-", dir=cached.parent))
        except OSError:
            make_workspace(root, [module], solutions)
            generate(root, module)
            return root
        try:
            make_workspace(build, [module], solutions)
            generate(build, module)
            (build / "nbgrader_config.py").unlink()    # it names this build's gradebook
            os.rename(build, cached)                   # atomic: a concurrent check never sees half of it
        except OSError:
            pass                                       # another check put it there first
        finally:
            shutil.rmtree(build, ignore_errors=True)
    root.mkdir(parents=True, exist_ok=True)
    # the gradebook and release from the cache; solutions/ and the config from make_workspace
    shutil.copytree(cached, root, dirs_exist_ok=True,
                    ignore=lambda folder, names: ["solutions"] if Path(folder) == cached else [])
    return make_workspace(root, [module], solutions)


def db_url(path: Path) -> str:
    """SQLAlchemy URL of a gradebook, with a busy timeout for concurrent writers."""
    return f"sqlite:///{path}?timeout=120"


def gradebook(root: Path):
    from nbgrader.api import Gradebook

    return Gradebook(db_url((root / "gradebook.db").resolve()), course_id="wcdl")


def run_killable(cmd: list[str], cwd: Path, timeout: float | None, env: dict | None = None) -> subprocess.CompletedProcess:
    """subprocess.run in a session of its own; on timeout the whole process group is killed."""
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(proc.pid)
        proc.communicate()
        raise
    except BaseException:
        kill_group(proc.pid)
        raise
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass


def nbgrader_env() -> dict:
    # nbgrader calls helper programs (alembic) by name: find this environment's first.
    bindir = str(Path(sys.executable).parent)
    return dict(os.environ, PATH=bindir + os.pathsep + os.environ.get("PATH", ""))


def nbgrader(root: Path, *args: str, timeout: float | None = None) -> subprocess.CompletedProcess:
    """Run one real `nbgrader` command in the course directory `root`.

    It runs in a session of its own: on timeout the whole process group
    (nbgrader and what it started) is killed; kernels die with nbgrader.
    """
    cmd = [sys.executable, "-m", "nbgrader", *args]
    try:
        proc = run_killable(cmd, root, timeout, nbgrader_env())
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

class FileProblem(ValueError):
    """A submitted file that is not read: a link, not a regular file, too large."""


def read_regular(path: Path, limit: int = MAX_NOTEBOOK_BYTES, follow_links: bool = False) -> bytes:
    """The bytes of `path`, a regular file of at most `limit` bytes, checked before reading.

    Without follow_links the file itself may not be a symbolic link (O_NOFOLLOW):
    a submitted link would make the grader read a classmate's notebook or solutions/.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | (0 if follow_links else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags)
    except OSError as e:
        if not follow_links and os.path.islink(path):
            raise FileProblem(f"{path.name}: a symbolic link, not a file; links are not graded. "
                              "Submit the notebook itself.") from e
        raise FileProblem(f"{path.name}: file not found.") from e
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise FileProblem(f"{path.name}: not a regular file; only notebook files are graded.")
        if info.st_size > limit:
            raise FileProblem(f"{path.name}: {info.st_size / 2**20:.0f} MiB, more than the {limit >> 20} MiB a "
                              "notebook may have; clear its outputs (Edit > Clear Outputs of All Cells) and save.")
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise FileProblem(f"{path.name}: more than the {limit >> 20} MiB a notebook may have.")
    return data


def inspect_submission(path: Path, source_path: Path, follow_links: bool = False):
    """Read a submitted notebook. Return `(notebook, None)` or `(None, problem)`.

    A problem is a sentence for the learner: the file is missing, a link or
    not a regular file, too large, empty, not JSON, not a notebook, or has
    none of this notebook's exercise cells.
    """
    name = source_path.name
    try:
        raw = read_regular(path, follow_links=follow_links)
    except FileProblem as e:
        return None, str(e)
    if not raw.strip():
        return None, f"{path.name}: the file is empty. Submit your saved copy of {name}."
    try:
        data = json.loads(raw.decode("utf-8", errors="replace"))
    except json.JSONDecodeError as e:
        return None, (f"{path.name}: not valid JSON (line {e.lineno}, column {e.colno}); the file is damaged. "
                      f"Start from a fresh copy of {name} and paste your answers in.")
    except RecursionError:
        return None, (f"{path.name}: its JSON is nested too deeply to be a notebook; the file is damaged. "
                      f"Start from a fresh copy of {name} and paste your answers in.")
    try:
        with warnings.catch_warnings():
            # a copied cell repeats its cell id: nbformat renumbers it (and says so on stderr)
            warnings.simplefilter("ignore")
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


def submission_notes(nb, source_path: Path, release_path: Path | None = None) -> list[str]:
    """What the grader will undo in a submitted notebook: deleted or edited test cells."""
    from grader.preprocessors import HIDDEN_BEGIN

    source = nbformat.read(source_path, as_version=4)
    release = nbformat.read(release_path, as_version=4) if release_path and release_path.exists() else None
    shown = {nbgrader_meta(c)["grade_id"]: c.source for c in (release or source).cells
             if nbgrader_meta(c).get("grade_id")}
    notes = []
    submitted = {nbgrader_meta(c)["grade_id"]: c for c in nb.cells
                 if nbgrader_meta(c).get("grade_id")}
    for c in source.cells:
        meta = nbgrader_meta(c)
        gid = meta.get("grade_id")
        if not gid or meta.get("solution") or not (meta.get("grade") or meta.get("locked")):
            continue
        what = "test cell" if meta.get("grade") else "locked cell"
        if gid not in submitted:
            if meta.get("grade"):
                notes.append(f"{what} {gid!r} was deleted; the grader put it back")
        elif submitted[gid].source.strip() != shown.get(gid, c.source).strip() and HIDDEN_BEGIN not in c.source:
            notes.append(f"{what} {gid!r} was edited; the grader used the original")
    return notes


# ---------------------------------------------------------------- results

@dataclass
class ExerciseResult:
    id: str
    score: float
    max_score: float
    message: str | None = None   # learner-safe: never hidden-test code
    cells: dict[str, tuple[float, float]] = field(default_factory=dict)  # test cell grade id -> (score, max)

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
    notes: list[str] = field(default_factory=list)      # learner-safe: what the grader did or undid
    review: list[str] = field(default_factory=list)     # for the instructor: constructs worth a look

    @property
    def score(self) -> float:
        return sum(e.score for e in self.exercises)

    @property
    def max_score(self) -> float:
        return sum(e.max_score for e in self.exercises)

    def to_dict(self) -> dict:
        return {"student": self.student, "module": self.module, "notebook": self.notebook,
                "score": self.score, "max_score": self.max_score, "problem": self.problem,
                "notes": self.notes, "review": self.review,
                "exercises": [e.__dict__ | {"passed": e.passed} for e in self.exercises]}

    @classmethod
    def from_dict(cls, d: dict) -> "NotebookResult":
        return cls(d["student"], d["module"], d["notebook"],
                   [ExerciseResult(e["id"], e["score"], e["max_score"], e.get("message"),
                                   {k: tuple(v) for k, v in e.get("cells", {}).items()}) for e in d["exercises"]],
                   d.get("problem"), list(d.get("notes", [])), list(d.get("review", [])))


def _first_error(cell) -> tuple[str, str] | None:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            return out.get("ename", "Error"), ANSI.sub("", out.get("evalue", ""))
    return None


def _first_setup_error(nb) -> str | None:
    """The real cause of later failures: the first error in a cell that is not a test.

    Later failures (NameErrors, KeyErrors) usually follow from it. When an
    exercise above that cell was not attempted, or a cell above it was
    stopped at the time limit, that is the cause, and the note says so.
    """
    earlier = None
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if cell.cell_type != "code" or (meta.get("grade") and not meta.get("solution")):
            continue
        error = _first_error(cell)
        if error is None:
            continue
        first_line = next((ln.strip() for ln in cell.source.splitlines() if ln.strip()
                           and not ln.lstrip().startswith("#")), "")
        where = (f"your answer cell {meta['grade_id']}" if meta.get("grade_id")
                 else f"the cell starting `{first_line[:60]}`")
        if error[0] == "NotImplementedError":
            earlier = earlier or (
                f"exercise {meta['grade_id'].removesuffix('_answer')} is not attempted yet" if meta.get("grade_id")
                else f"{where} stopped at an exercise not attempted yet (NotImplementedError)")
            continue
        if error[0] in ("CellTimeoutError", "KeyboardInterrupt", "KernelDied", "DeadKernelError"):
            earlier = earlier or f"{where} was stopped (time limit, or the kernel stopped)"
            continue
        lines = error[1].splitlines() or [""]
        if earlier:
            return (f"{earlier}, so later cells that need what it defines failed too "
                    f"(first: {where} raised {error[0]}: {lines[0][:100]})")
        return (f"{where} raised {error[0]}: {lines[0]}" + "".join("\n  " + ln for ln in lines[1:6]) +
                "\n  (this is the cause: the cells after it ran without what it should have defined)")
    return None


def learner_message(error: tuple[str, str] | None, hidden: bool, hidden_text: set[str] = frozenset()) -> str | None:
    """What a learner may read about a failed test cell.

    Never hidden-test code: for a hidden test only the kind of failure (its
    message could quote the test, or carry what the notebook smuggled in).
    """
    if error is None:
        return None
    ename, evalue = error
    if ename == "NotImplementedError":
        return "not attempted yet"
    if ename == "CellTimeoutError":   # the grader's own message names the limit
        return redact("stopped: " + ((evalue.splitlines() or [""])[0] or "the cell ran past the time limit"),
                      hidden_text)
    if ename in ("DeadKernelError", "KernelDied"):
        return ("the Python kernel died before this test could finish (a crash, os._exit, or a cell that "
                "never answered?); see the grader notes")
    if ename == "GraderIntegrityError":
        return ("no points: this test did not run under the grader's control (did the notebook change how "
                "cells run, or stop before the test?)")
    if ename == "KeyboardInterrupt":
        return "stopped: the test was interrupted (the time limit?)"
    if hidden:
        if ename in ("CheckFailed", "AssertionError"):
            return ("hidden tests failed: wrong result on inputs the visible tests do not show "
                    "(other sizes, size 1, other dtypes or seeds)")
        return f"hidden tests raised {ename}"
    if ename == "NameError":
        return redact(f"NameError: {evalue} (did you run your answer cell, and keep the function's name?)",
                      hidden_text)
    lines = evalue.splitlines() or [""]
    text = f"{ename}: {lines[0]}" + "".join("\n" + ln for ln in lines[1:12])
    return redact(text, hidden_text)


def redact(text: str, hidden_text: set[str]) -> str:
    """`text`, unless it quotes a hidden test's code."""
    if any(h in text for h in hidden_text):
        return "(message not shown: it quotes hidden test code)"
    return text


def _read_graded(path: Path):
    """The graded notebook nbgrader wrote, read without following a link; None if absent."""
    try:
        return nbformat.reads(read_regular(path, limit=4 * MAX_NOTEBOOK_BYTES).decode("utf-8", "replace"),
                              as_version=4)
    except (FileProblem, ValueError):
        return None


def results_for(root: Path, module: str, student: str, notebook: str, source_nb) -> NotebookResult:
    """Read one graded notebook's per-exercise scores from the gradebook."""
    from nbgrader.api import MissingEntry

    hidden_text = hidden_lines(source_nb)      # kept out of anything a learner sees
    with gradebook(root) as gb:
        try:
            grades = {g.name: (float(g.score), float(g.max_score))
                      for g in gb.find_submission_notebook(notebook, module, student).grades}
        except MissingEntry:
            grades = {}
    graded = root / "autograded" / student / module / f"{notebook}.ipynb"
    graded_nb = _read_graded(graded)
    cells = {}
    if graded_nb is not None:
        for cell in graded_nb.cells:
            gid = nbgrader_meta(cell).get("grade_id")
            if gid:
                cells[gid] = cell
    out = []
    for spec in exercises(source_nb):
        score, message, per_cell = 0.0, None, {}
        for gid in spec.test_cells:
            got, most = grades.get(gid, (0.0, 0.0))
            per_cell[gid] = (got, most)
            score += got
            cell = cells.get(gid)
            if message is None and cell is not None:
                message = learner_message(_first_error(cell), is_hidden_test_cell(cell) or gid.endswith(HIDDEN_SUFFIX),
                                          hidden_text)
        if score >= spec.points:
            message = None
        elif message is None:
            message = "no points (the test did not run)"
        out.append(ExerciseResult(spec.id, score, spec.points, message, per_cell))
    notes, review = [], []
    guard = root / "guard" / student / module / f"{notebook}.json"
    if guard.is_file() and not guard.is_symlink():
        info = json.loads(guard.read_text())
        notes = [redact(n, hidden_text) for n in info.get("notes", [])]
        review = list(info.get("review", []))
    if any(not e.passed for e in out) and graded_nb is not None:
        first = _first_setup_error(graded_nb)
        if first:
            notes.append(redact(first, hidden_text))
    result = NotebookResult(student, module, notebook, out, None, notes, review)
    if PUBLISHED:       # a class repository: no hidden tests to count (grader/publish.py)
        from grader.publish import visible_only

        result = visible_only(result)
    return result


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
    # `wcdl check`: the learner's own notebooks (a link to one is theirs to give)
    results, good, notes = stage_submission(root, module, student, files, sources, follow_links=True)
    if good:
        nbgrader(root, "autograde", module, "--student", student, "--force", timeout=timeout)
        for name, snb in good:
            r = results_for(root, module, student, name, snb)
            r.notes = notes.get(name, []) + r.notes
            results.append(r)
    else:
        _ensure_student(root, student)
    order = list(files)
    return sorted(results, key=lambda r: order.index(r.notebook))


def dedupe_cells(nb) -> list[str]:
    """Cells that carry the same nbgrader grade_id (an answer cell copied in JupyterLab keeps
    its metadata): nbgrader cannot grade such a notebook. The last copy of an answer cell
    keeps the metadata (it runs last, so its code is what the tests see), the first copy of
    any other cell; the other copies stay in the notebook as plain cells. Returns notes."""
    by_id: dict[str, list[int]] = {}
    for i, cell in enumerate(nb.cells):
        gid = nbgrader_meta(cell).get("grade_id")
        if gid:
            by_id.setdefault(gid, []).append(i)
    notes = []
    for gid, where in by_id.items():
        if len(where) < 2:
            continue
        answer = any(nbgrader_meta(nb.cells[i]).get("solution") for i in where)
        keep = where[-1] if answer else where[0]
        for i in where:
            if i != keep:
                del nb.cells[i].metadata["nbgrader"]
        notes.append(f"cell {gid!r} appears {len(where)} times (a copied cell?); the grader graded the "
                     f"{'last' if answer else 'first'} copy and ran the others as ordinary cells")
    return notes


def foreign_cells(nb, source_nb) -> list[str]:
    """Cells whose nbgrader metadata names a cell this notebook does not have (a cell pasted from
    another notebook, or made up): nbgrader cannot grade a notebook holding one. They stay in
    the notebook as ordinary cells, earning nothing. Returns notes."""
    known = {m.get("grade_id") for m in grade_cells(source_nb)}
    notes = []
    for cell in nb.cells:
        meta = cell.get("metadata", {})
        if "nbgrader" not in meta:
            continue
        nbg = meta["nbgrader"] if isinstance(meta["nbgrader"], dict) else {"grade": True}
        gid = nbg.get("grade_id")
        if isinstance(gid, str) and gid in known:
            continue
        if gid is None and not any(nbg.get(k) for k in ("grade", "solution", "task", "locked")):
            continue            # metadata nbgrader ignores
        del meta["nbgrader"]
        name = repr(gid[:80]) if isinstance(gid, str) else "(with no grade id)"
        notes.append(f"cell {name} is not one of this notebook's graded cells (pasted from another "
                     "notebook?); the grader ran it as an ordinary cell")
    return notes


def stage_submission(root: Path, module: str, student: str, files: dict[str, Path], sources: dict[str, Path],
                     follow_links: bool = False):
    """Copy a student's readable notebooks into submitted/<student>/<module>/.

    Submitted symbolic links are refused unless `follow_links` (`wcdl check`, a
    learner's own files).

    Returns (zero results for unreadable files, [(name, source notebook)] to
    grade, {name: notes about cells the grader will put back}).
    """
    dest_dir = root / "submitted" / student / module
    if dest_dir.exists():
        shutil.rmtree(dest_dir)
    dest_dir.mkdir(parents=True)
    results, good, notes = [], [], {}
    for name, path in files.items():
        source_nb = nbformat.read(sources[name], as_version=4)
        nb, problem = inspect_submission(path, sources[name], follow_links=follow_links)
        if problem:
            results.append(zero_result(student, module, name, source_nb, problem))
            continue
        notes[name] = foreign_cells(nb, source_nb) + dedupe_cells(nb) + submission_notes(nb, sources[name], COURSE / module / f"{name}.ipynb")
        nbformat.write(nb, dest_dir / f"{name}.ipynb")
        good.append((name, source_nb))
    return results, good, notes


def _ensure_student(root: Path, student: str) -> None:
    """Put a student whose files were all unreadable into the gradebook (0 points in exports)."""
    with gradebook(root) as gb:
        gb.update_or_create_student(student)


def forget_submission(root: Path, module: str, student: str) -> None:
    """Remove a student's graded module from the gradebook (it then counts 0 in exports)."""
    from nbgrader.api import MissingEntry

    with gradebook(root) as gb:
        gb.update_or_create_student(student)
        try:
            gb.remove_submission(module, student)
        except MissingEntry:
            pass
