"""`wcdl`: the course's grading commands.

    wcdl release      regenerate course/ from solutions/ (nbgrader generate_assignment)
    wcdl check        grade your own notebooks and see a table per exercise
    wcdl autograde    grade a folder of submissions: grades CSV and feedback
    wcdl audit        profile a model: where its time goes, and what-ifs
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import hashlib
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import warnings
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

# jsonschema (imported by nbformat) loads rfc3987_syntax when it is installed (jupyter-events
# brings it), which builds an IRI grammar at import: 0.7 s of every `wcdl check`, for a format
# that no notebook schema uses. Without it jsonschema simply skips that format.
sys.modules.setdefault("rfc3987_syntax", None)

import nbformat  # noqa: E402
from tqdm import tqdm  # noqa: E402

from grader import batch, colab, core  # noqa: E402


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- release

def release(out: Path = core.COURSE, solutions: Path = core.SOLUTIONS, only: list[str] | None = None) -> list[str]:
    """Regenerate the release folder `out` from `solutions`; return the modules.

    `only` limits the work to some modules (others in `out` are left alone).
    """
    all_mods = core.modules(solutions)
    unknown = sorted(set(only or []) - set(all_mods))
    if unknown:
        raise core.GradingError(f"no such module(s) in {solutions}: {', '.join(unknown)}")
    mods = sorted(only) if only else all_mods
    with tempfile.TemporaryDirectory(prefix="wcdl-release-") as tmp:
        ws = core.make_workspace(Path(tmp), mods, solutions)
        for m in mods:
            core.generate(ws, m)
        out.mkdir(parents=True, exist_ok=True)
        for stale in out.iterdir():
            if stale.is_dir() and stale.name[:2].isdigit() and stale.name not in all_mods:
                shutil.rmtree(stale)
        for m in mods:
            if (out / m).exists():
                shutil.rmtree(out / m)
            shutil.copytree(ws / "course" / m, out / m)
            colab.stamp_module(out / m)
    return mods


def cmd_release(args) -> int:
    mods = release(Path(args.out), only=[m.rstrip("/").split("/")[-1] for m in args.modules])
    _log(f"released {len(mods)} module(s) into {args.out}: {', '.join(mods)}")
    return 0


# ---------------------------------------------------------------- check

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
        _log("warning: " + problem)

    # one module at a time: nbgrader runs in this process; several at once: each in its own
    here = workers <= 1 or len(by_module) <= 1

    def grade_module(module: str) -> list[core.NotebookResult]:
        if progress:
            _log(f"{module}: running {', '.join(by_module[module])} ...")
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


def cmd_check(args) -> int:
    start = time.perf_counter()
    files = _expand(args.paths or [str(core.COURSE)])
    if not files:
        _log("no notebooks found in " + " ".join(args.paths or [str(core.COURSE)]))
        return 2
    _log(f"grading {len(files)} notebook(s) with nbgrader ...")
    results = check(files, workers=args.workers, progress=not args.quiet, cell_timeout=args.cell_timeout)
    if args.json:
        print(json.dumps([r.to_dict() for r in results], indent=2))
    else:
        print(format_table(results))
        if len(results) > 1:
            print(format_summary(results))
    _log(f"graded in {time.perf_counter() - start:.1f} s")
    return 0


# ---------------------------------------------------------------- autograde

def collect_submissions(folder: Path) -> dict[str, list[Path]]:
    """`<student>/<notebook>.ipynb` (any depth below the student) -> {student: files}.

    Links are never followed: a student folder that is a symbolic link is listed
    with no files, and notebook paths that are links (or not regular files) are
    listed as they are, to be refused by plan_submissions with a message.
    """
    subs = {}
    for d in sorted(folder.iterdir()):
        if d.name.startswith(".") or not (d.is_dir() or d.is_symlink()):
            continue
        if d.is_symlink():
            subs[d.name] = [d]
            continue
        found = []
        for dirpath, dirnames, filenames in os.walk(d):            # does not follow links to folders
            dirnames[:] = sorted(x for x in dirnames if x != ".ipynb_checkpoints")
            for name in dirnames + filenames:
                path = Path(dirpath) / name
                if name.endswith(".ipynb") and (name in filenames or path.is_symlink()):
                    found.append(path)
        subs[d.name] = sorted(found)
    return subs


def _refusal(path: Path, student_dir: Path) -> str | None:
    """Why a submitted path is not graded (a link, not a regular file), or None."""
    shown = str(path.relative_to(student_dir)) if path != student_dir else path.name
    if path.is_symlink():
        return f"{shown}: a symbolic link, not a file; links are not graded. Submit the notebook itself."
    try:
        mode = path.lstat().st_mode
    except OSError:
        return f"{shown}: could not be read"
    import stat

    if not stat.S_ISREG(mode):
        return f"{shown}: not a regular file; only notebook files are graded"
    return None


def plan_submissions(subs: dict[str, list[Path]], sources: dict[str, Path]):
    """{(student, module): {notebook: file}} and {student: [problems]}."""
    plan: dict[tuple[str, str], dict[str, Path]] = defaultdict(dict)
    problems: dict[str, list[str]] = defaultdict(list)
    for student, files in subs.items():
        if not core.STUDENT_ID.match(student):
            problems[student].append(f"folder name {student!r} is not a usable student id; skipped")
            continue
        if len(files) == 1 and files[0].name == student and files[0].is_symlink():
            problems[student].append(f"{student}: the student's folder is a symbolic link; links are not "
                                     "graded, so nothing of it was")
            continue
        if not files:
            problems[student].append("no .ipynb files in the submission folder")
        for f in files:
            student_dir = next(p for p in f.parents if p.name == student)
            why = _refusal(f, student_dir)
            if why and f.stem in sources:
                # scores zero with this message (the notebook is in the plan, its file is refused)
                plan[(student, sources[f.stem].parent.name)][f.stem] = f
            elif why:
                problems[student].append(why)
            elif f.stem in sources:
                plan[(student, sources[f.stem].parent.name)][f.stem] = f
            else:
                problems[student].append(f"{f.name}: not a notebook of this course; ignored")
    return dict(plan), problems


def rejected_folders(problems: dict[str, list[str]]) -> dict[str, str]:
    """Submission folders that were not graded at all (no usable student id): {name: why}."""
    return {s: v[0] for s, v in problems.items() if not core.STUDENT_ID.match(s)}


def _generate_changed(ws: Path, mods: list[str], state: Path) -> None:
    """nbgrader generate_assignment for modules whose source changed since the last run."""
    stamp = state / "generated.json"
    done = json.loads(stamp.read_text()) if stamp.exists() else {}
    for m in mods:
        digest = hashlib.sha256(b"".join(p.read_bytes() for p in sorted((ws / "solutions" / m).rglob("*"))
                                         if p.is_file())).hexdigest()
        if done.get(m) != digest or not (ws / "gradebook.db").exists():
            core.generate(ws, m)
            done[m] = digest
            stamp.write_text(json.dumps(done, indent=1))


def _failed_entry(job, outcome: dict, sources: dict[str, Path]) -> dict:
    problem = outcome.get("error") or "grading failed"
    results = [core.zero_result(job.student, job.module, name, nbformat.read(sources[name], as_version=4),
                                problem).to_dict() for name in job.notebooks]
    return {"results": job.zero + results, "failed": True, "retry": bool(outcome.get("retry"))}


def autograde(submissions: Path, out: Path, timeout: float | None = None, workers: int = 1,
              cell_timeout: float | None = None, progress: bool = False) -> dict:
    """Grade every student's notebooks; write grades CSVs and feedback under `out`.

    Pairs (student, module) are graded `workers` at a time; a pair running
    past `timeout` seconds is stopped and scores zero. Progress is journaled
    in out/progress.jsonl: run it again after an interruption and it grades
    only what is missing or changed (see grader/batch.py).
    """
    sources = core.source_notebooks()
    subs = collect_submissions(submissions)
    plan, problems = plan_submissions(subs, sources)
    students = [s for s in subs if core.STUDENT_ID.match(s)]
    mods = sorted({m for _, m in plan})
    out.mkdir(parents=True, exist_ok=True)
    state = out / batch.STATE
    config = {"Execute": {"timeout": int(cell_timeout)}} if cell_timeout else {}
    extra = json.dumps(config, sort_keys=True)
    problem = core.data_problem(mods)
    if problem:
        # grading on would give every student zeros (and the journal would keep them)
        raise core.GradingError(problem + "\nNothing was graded.")
    with batch.run_lock(state):
        ws = core.make_workspace(out, mods)
        _generate_changed(ws, mods, state)
        journal = batch.Journal(out / "progress.jsonl")
        earlier = journal.load()
        entries: dict[tuple[str, str], dict] = {}
        with core.gradebook(ws) as gb:
            for s in students:
                gb.update_or_create_student(s)
        todo = []
        for (student, module), files in sorted(plan.items()):
            digest = batch.pair_hash(files, sources, module, extra)
            old = earlier.get((student, module))
            if old and old.get("hash") == digest and not old.get("retry") and not (
                    old.get("timeout") and timeout and timeout > old["timeout"]):
                entries[(student, module)] = old
            else:
                todo.append((student, module, files, digest))
        bar = tqdm(total=len(plan), initial=len(plan) - len(todo), desc="autograde", unit="set",
                   file=sys.stderr, disable=not progress, dynamic_ncols=True)

        def finish(student, module, digest, body):
            entry = {"student": student, "module": module, "hash": digest, "time": time.time(),
                     "timeout": timeout} | body
            journal.append(entry)
            entries[(student, module)] = entry
            bar.update(1)

        jobs = []
        for student, module, files, digest in todo:
            zero, good, notes = core.stage_submission(ws, module, student, files, sources)
            if not good:
                core.forget_submission(ws, module, student)
                shutil.rmtree(ws / "feedback" / student / module, ignore_errors=True)
                finish(student, module, digest, {"results": [r.to_dict() for r in zero]})
            else:
                jobs.append(batch.Job(student, module, digest, [n for n, _ in good], [r.to_dict() for r in zero],
                                      notes))
        pool = batch.Pool(ws, workers, timeout, config)
        try:
            for job, outcome in pool.run(jobs):
                if outcome.get("error"):
                    core.forget_submission(ws, job.module, job.student)
                    shutil.rmtree(ws / "feedback" / job.student / job.module, ignore_errors=True)
                    body = _failed_entry(job, outcome, sources)
                else:
                    results = outcome["results"]
                    for r in results:
                        r["notes"] = job.notes.get(r["notebook"], []) + r.get("notes", [])
                    body = {"results": job.zero + results}
                if outcome.get("timeout"):
                    body["timeout"] = timeout
                finish(job.student, job.module, job.hash, body)
        finally:
            pool.close()
            bar.close()
        return write_exports(ws, students, problems, [entries[k] for k in sorted(entries) if k in plan], sources)


def write_exports(ws: Path, students: list[str], problems: dict[str, list[str]], entries: list[dict],
                  sources: dict[str, Path]) -> dict:
    """grades.csv (nbgrader export), grades_by_exercise.csv, feedback/<student>/problems.txt, report.json."""
    results = [core.NotebookResult.from_dict(r) for e in entries for r in e["results"]]
    problems = defaultdict(list, {s: list(v) for s, v in problems.items()})
    notes: dict[str, list[str]] = defaultdict(list)
    for r in results:
        if r.problem:
            problems[r.student].append(r.problem)
        notes[r.student] += [f"{r.notebook}: {n}" for n in r.notes]
    core.nbgrader(ws, "export", "--to", "grades.csv")
    for student in students:
        fb = ws / "feedback" / student
        text = ""
        if problems.get(student):
            text += "Problems (these files scored zero):\n" + "".join(f"- {m}\n" for m in problems[student])
        if notes.get(student):
            text += ("\n" if text else "") + "What the grader did:\n" + "".join(f"- {m}\n" for m in notes[student])
        if text:
            fb.mkdir(parents=True, exist_ok=True)
            (fb / "problems.txt").write_text(text)
        elif (fb / "problems.txt").exists():
            (fb / "problems.txt").unlink()
    write_exercise_csv(ws / "grades_by_exercise.csv", students, results, sources)
    rejected = rejected_folders(problems)
    with (ws / "rejected.csv").open("w", newline="") as fh:
        # folders that are in no other export: the instructor must hear of them
        w = csv.writer(fh)
        w.writerow(["folder", "reason"])
        for name, why in sorted(rejected.items()):
            w.writerow([ascii(name), why])
    report = {"students": students, "problems": {s: v for s, v in problems.items() if v},
              "rejected": rejected,
              "results": [r.to_dict() for r in results],
              "review": {f"{r.student}/{r.notebook}": r.review for r in results if r.review}}
    (ws / "report.json").write_text(json.dumps(report, indent=2))
    return report


def write_exercise_csv(path: Path, students: list[str], results: list[core.NotebookResult],
                       sources: dict[str, Path]) -> None:
    """One row per student, one column per exercise of the graded modules."""
    graded_nbs = {r.notebook for r in results}
    columns = [ex.id for name, src in sources.items() if name in graded_nbs
               for ex in core.exercises(nbformat.read(src, as_version=4))]
    maxima = {}
    for name, src in sources.items():
        if name in graded_nbs:
            maxima.update({ex.id: ex.points for ex in core.exercises(nbformat.read(src, as_version=4))})
    scores: dict[str, dict[str, float]] = defaultdict(dict)
    for r in results:
        for e in r.exercises:
            scores[r.student][e.id] = e.score
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["student", *columns, "total", "max_total"])
        for s in students:
            row = [scores[s].get(c, 0.0) for c in columns]
            w.writerow([s, *row, sum(row), sum(maxima[c] for c in columns)])


def cmd_autograde(args) -> int:
    from grader.guard import guard_disabled
    from grader.sandbox import os_sandbox_available

    start = time.perf_counter()
    # Without the OS sandbox only the audit hook stands between a submission and the grader's
    # files, and native code gets around it: grade so only when the instructor says so.
    explicit = args.without_os_sandbox or guard_disabled() or \
        os.environ.get("WCDL_NO_LANDLOCK", "") not in ("", "0")
    ok, why = os_sandbox_available()
    if not ok and not explicit:
        _log(f"error: no OS sandbox here: {why}.\n"
             "  Grading kernels would be confined by a Python audit hook alone, which native code and some\n"
             "  Python routes get around (README, 'Threat model'). Grade on Linux 5.13+ with Landlock, in a\n"
             "  container per student (README, 'Thousands of submissions'), or pass --without-os-sandbox\n"
             "  to grade anyway with the weaker protection.")
        return 2
    if not ok:
        _log(f"warning: grading without an OS sandbox ({why}): the audit hook alone confines the kernels")
    out = Path(args.out).resolve()
    # a polite kill (SIGTERM) stops the workers and their kernels too
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    report = autograde(Path(args.submissions), out, timeout=args.timeout, workers=args.workers,
                       cell_timeout=args.cell_timeout, progress=not args.quiet)
    by_student: dict[str, list] = defaultdict(list)
    for r in report["results"]:
        by_student[r["student"]].append(r)
    for s in report["students"]:
        got = sum(r["score"] for r in by_student[s])
        possible = sum(r["max_score"] for r in by_student[s])
        note = f"  ({len(report['problems'].get(s, []))} problem(s), see feedback/{s}/problems.txt)" \
            if report["problems"].get(s) else ""
        print(f"{s}: {got:g} / {possible:g}{note}")
    print(f"\ngrades: {out / 'grades.csv'} (nbgrader export), {out / 'grades_by_exercise.csv'}")
    print(f"feedback: {out / 'feedback'}/<student>/")
    if report.get("rejected"):
        print(f"\nNOT GRADED: {len(report['rejected'])} submission folder(s) are not usable student ids "
              f"(listed in {out / 'rejected.csv'}):")
        for name, why in sorted(report["rejected"].items()):
            print(f"  {ascii(name)}: {why}")
    if report.get("review"):
        print(f"for review: {len(report['review'])} notebook(s) use constructs worth a look (report.json, \"review\")")
    _log(f"graded {len(report['students'])} student(s) in {time.perf_counter() - start:.1f} s")
    return 0


# ---------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="wcdl", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("release", help="regenerate course/ from solutions/",
                       description="Regenerate the learners' notebooks (course/) from solutions/ with "
                                   "nbgrader generate_assignment: solutions and hidden tests removed, "
                                   "outputs stripped.")
    p.add_argument("modules", nargs="*", help="modules to release (default: all)")
    p.add_argument("--out", default=str(core.COURSE), help="release folder (default: course/)")
    p.set_defaults(func=cmd_release)

    p = sub.add_parser("check", help="grade your own notebooks",
                       description="Grade your notebooks exactly as an instructor's autograde would, and "
                                   "print per exercise the points and what failed. Hidden tests are "
                                   "counted, never shown. Your notebooks are only read, never changed.")
    p.add_argument("paths", nargs="*", help="notebooks or folders (default: course/)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--workers", type=int, default=2, help="modules graded at once (default: 2)")
    p.add_argument("--quiet", action="store_true", help="no progress lines while grading")
    p.add_argument("--cell-timeout", type=float, default=None,
                   help="seconds allowed for one cell (default: the course config's, 60)")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("autograde", help="grade a folder of submissions (instructors)",
                       description="Grade SUBMISSIONS/<student>/<notebook>.ipynb with nbgrader, several students' "
                                   "modules at once, each notebook in a sandboxed kernel. Writes, under --out: "
                                   "grades.csv (nbgrader export), grades_by_exercise.csv, feedback/<student>/ "
                                   "(HTML, hidden tests removed; problems.txt), report.json and progress.jsonl. "
                                   "Interrupted? Run the same command again: it grades only what is missing or "
                                   "changed.")
    p.add_argument("submissions", help="folder with one subfolder per student")
    p.add_argument("--out", default="grading", help="grading workspace (default: ./grading)")
    p.add_argument("--workers", type=int, default=max(1, min(4, os.cpu_count() or 1)),
                   help="student modules graded at once, each by its own nbgrader (default: CPU cores, at most 4)")
    p.add_argument("--timeout", type=float, default=1800,
                   help="seconds allowed for one student's module; past it the grading is killed and scores "
                        "zero (default: 1800)")
    p.add_argument("--cell-timeout", type=float, default=None,
                   help="seconds allowed for one cell (default: the course config's, 60)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--without-os-sandbox", action="store_true",
                   help="grade even where the OS sandbox (Landlock) is missing, with the audit hook alone "
                        "(weaker: see the README's threat model)")
    p.set_defaults(func=cmd_autograde)

    from wcdl.audit import add_arguments as audit_arguments, main as audit_main
    p = sub.add_parser("audit", help="profile a model: where its time goes, and what-ifs",
                       description="Profile one forward pass of a model and say where its time goes.")
    audit_arguments(p)
    p.set_defaults(func=audit_main)

    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except core.GradingError as e:
        _log(f"error: {e}")
        return 1
