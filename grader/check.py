"""`wcdl check`: a learner grades their own notebooks, as an instructor's autograde would.

Each module is graded in a throwaway workspace (nbgrader in this process when
one module is graded, several nbgrader processes otherwise) and the results
are printed as a table per notebook, a summary, or JSON.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import threading
import time
import warnings
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from grader import core


def _expand(paths: list[str]) -> list[Path]:
    files = []
    for p in map(Path, paths):
        if p.is_dir():
            files += sorted(f for f in p.rglob("*.ipynb") if ".ipynb_checkpoints" not in f.parts)
        else:
            files.append(p)
    return files


def _fmt_points(x: float) -> str:
    return f"{x:g}"


def format_table(results: list[core.NotebookResult]) -> str:
    lines = []
    for r in results:
        lines.append(f"{r.module} / {r.notebook}: {_fmt_points(r.score)} / {_fmt_points(r.max_score)} points")
        if r.problem:
            lines.append(f"  PROBLEM: {r.problem}")
        if r.exercises:
            width = max(len(e.id) for e in r.exercises)
            lines.append(f"  {'exercise'.ljust(width)}  points  result")
        for e in r.exercises:
            pts = f"{_fmt_points(e.score)}/{_fmt_points(e.max_score)}".rjust(6)
            msg = (e.message or "").splitlines() or [""]
            status = "passed" if e.passed else msg[0]
            lines.append(f"  {e.id.ljust(width)}  {pts}  {status}")
            if not e.passed:
                lines += [" " * (width + 12) + ln for ln in msg[1:]]
        for n in r.notes:
            lines += ["  note: " + n.splitlines()[0]] + ["        " + ln for ln in n.splitlines()[1:]]
        lines.append("")
    if len(results) > 1:
        total = sum(r.score for r in results)
        possible = sum(r.max_score for r in results)
        lines.append(f"total: {_fmt_points(total)} / {_fmt_points(possible)} points over {len(results)} notebooks")
    return "\n".join(lines)


class _Progress:
    """Show, as they come, the lines the grader writes while it runs the notebooks (one per test cell)."""

    def __init__(self, show: bool):
        self.show, self.stop, self.thread = show, threading.Event(), None

    def __enter__(self):
        if self.show:
            # its own copy of stderr: grading in this process silences fds 1 and 2 (see _silenced)
            self.out = os.fdopen(os.dup(2), "w")
            from grader.guard import PROGRESS_ENV

            fd, self.path = tempfile.mkstemp(prefix="wcdl-progress-", suffix=".txt")
            os.close(fd)
            self.env = PROGRESS_ENV
            os.environ[PROGRESS_ENV] = self.path
            self.thread = threading.Thread(target=self._follow, daemon=True)
            self.thread.start()
        return self

    def _follow(self):
        with open(self.path) as fh:
            while True:
                line = fh.readline()
                if line:
                    print("  " + line.rstrip("\n"), file=self.out, flush=True)
                elif self.stop.wait(0.2):
                    for rest in fh:
                        print("  " + rest.rstrip("\n"), file=self.out, flush=True)
                    return

    def __exit__(self, *exc):
        if self.thread is not None:
            self.stop.set()
            self.thread.join()
            os.environ.pop(self.env, None)
            os.unlink(self.path)
            self.out.close()


@contextlib.contextmanager
def _silenced():
    """fds 1 and 2 to /dev/null: what nbgrader, SQLAlchemy and the kernel print while grading
    (a subprocess's pipes would have swallowed it; `--json` output must stay clean)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, null):
            os.close(fd)


def _autograde_here(ws: Path, module: str, student: str) -> None:
    """What `nbgrader autograde MODULE --student S --force` runs, in this process.

    The same converter and the same course config, without starting another
    Python that imports nbgrader, nbconvert and jsonschema again (a second or
    more of every check). Only one module at a time: it works in `ws`.
    """
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    cwd = os.getcwd()
    os.chdir(ws)       # the course directory, as for the nbgrader command (the guard works there)
    try:
        with _silenced():
            config = PyFileConfigLoader("nbgrader_config.py", path=str(ws)).load_config()
            api = NbGraderAPI(CourseDirectory(config=config, root=str(ws)), config=config)
            out = api.autograde(module, student, force=True, create=True)
    finally:
        os.chdir(cwd)
    if not out.get("success"):
        tail = "\n".join(((out.get("log") or "") + (out.get("error") or "")).strip().splitlines()[-15:])
        raise core.GradingError(f"`nbgrader autograde {module}` failed:\n{tail}")


def _grade_here(ws: Path, module: str, student: str, files: dict[str, Path],
                sources: dict[str, Path]) -> list[core.NotebookResult]:
    """core.grade_submission_dir, with nbgrader's autograde run in this process."""
    results, good, notes = core.stage_submission(ws, module, student, files, sources)
    if good:
        _autograde_here(ws, module, student)
        for name, source_nb in good:
            r = core.results_for(ws, module, student, name, source_nb)
            r.notes = notes.get(name, []) + r.notes
            results.append(r)
    order = list(files)
    return sorted(results, key=lambda r: order.index(r.notebook))


def check(paths: list[Path], student: str = "learner", workers: int = 2,
          progress: bool = False, cell_timeout: float | None = None) -> list[core.NotebookResult]:
    """Grade a learner's notebooks with nbgrader in throwaway workspaces.

    Modules are graded in parallel (`workers`), each in its own workspace;
    `progress` prints a line per test cell as it finishes; `cell_timeout`
    replaces the course's limit for one cell (seconds).
    """
    sources = core.source_notebooks()
    by_module: dict[str, dict[str, Path]] = defaultdict(dict)
    results = []
    for path in paths:
        if path.stem not in sources:
            results.append(core.NotebookResult(student, "?", path.stem, [], (
                f"{path}: not a notebook of this course (expected one of: "
                f"{', '.join(sorted(sources))}).")))
            continue
        module = sources[path.stem].parent.name
        if path.stem in by_module[module]:
            raise core.GradingError(f"{path.name} was given twice ({by_module[module][path.stem]} and {path})")
        by_module[module][path.stem] = path

    problem = core.data_problem(sorted(by_module))
    if problem:
        core.log("warning: " + problem)

    # one module at a time: nbgrader runs in this process; several at once: each in its own
    here = workers <= 1 or len(by_module) <= 1

    def grade_module(module: str) -> list[core.NotebookResult]:
        if progress:
            core.log(f"{module}: running {', '.join(by_module[module])} ...")
        with tempfile.TemporaryDirectory(prefix="wcdl-check-") as tmp:
            ws = core.generated_workspace(Path(tmp), module)
            if cell_timeout:
                with (ws / "nbgrader_config.py").open("a") as fh:
                    fh.write(f"c.Execute.timeout = {int(cell_timeout)}  # noqa: F821\n")
            if here:
                return _grade_here(ws, module, student, by_module[module], sources)
            return core.grade_submission_dir(ws, module, student, by_module[module], sources)

    with _Progress(progress), ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for rs in pool.map(grade_module, sorted(by_module)):
            results += rs
    return results


def format_summary(results: list[core.NotebookResult]) -> str:
    """One line per notebook: progress at a glance."""
    rows = [("module", "notebook", "passed", "points", "first failing exercise")]
    for r in results:
        passed = sum(e.passed for e in r.exercises)
        first = next((e for e in r.exercises if not e.passed), None)
        why = r.problem or (f"{first.id}: {(first.message or '').splitlines()[0]}" if first else "-")
        rows.append((r.module, r.notebook, f"{passed}/{len(r.exercises)}",
                     f"{_fmt_points(r.score)}/{_fmt_points(r.max_score)}", why[:90]))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row[:4], widths)) + "  " + row[4] for row in rows)


def main(args) -> int:
    """`wcdl check [PATH ...]`: grade, print a table per notebook (or JSON)."""
    start = time.perf_counter()
    files = _expand(args.paths or [str(core.COURSE)])
    if not files:
        core.log("no notebooks found in " + " ".join(args.paths or [str(core.COURSE)]))
        return 2
    core.log(f"grading {len(files)} notebook(s) with nbgrader ...")
    results = check(files, workers=args.workers, progress=not args.quiet, cell_timeout=args.cell_timeout)
    if args.json:
        print(json.dumps([r.to_dict() for r in results], indent=2))
    else:
        print(format_table(results))
        if len(results) > 1:
            print(format_summary(results))
    core.log(f"graded in {time.perf_counter() - start:.1f} s")
    return 0
