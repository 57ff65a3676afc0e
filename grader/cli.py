"""`wcdl`: the course's grading commands.

    wcdl release      regenerate course/ from solutions/ (nbgrader generate_assignment)
    wcdl check        grade your own notebooks and see a table per exercise
    wcdl autograde    grade a folder of submissions: grades CSV and feedback
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import nbformat

from grader import core


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
        lines.append("")
    if len(results) > 1:
        total = sum(r.score for r in results)
        possible = sum(r.max_score for r in results)
        lines.append(f"total: {_fmt_points(total)} / {_fmt_points(possible)} points over {len(results)} notebooks")
    return "\n".join(lines)


def check(paths: list[Path], student: str = "learner") -> list[core.NotebookResult]:
    """Grade a learner's notebooks with nbgrader in a throwaway workspace."""
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
            raise SystemExit(f"{path.name} was given twice ({by_module[module][path.stem]} and {path})")
        by_module[module][path.stem] = path
    with tempfile.TemporaryDirectory(prefix="wcdl-check-") as tmp:
        ws = core.make_workspace(Path(tmp), sorted(by_module))
        for module, files in sorted(by_module.items()):
            core.generate(ws, module)
            results += core.grade_submission_dir(ws, module, student, files, sources)
    return results


def cmd_check(args) -> int:
    start = time.perf_counter()
    files = _expand(args.paths or [str(core.COURSE)])
    if not files:
        _log("no notebooks found in " + " ".join(args.paths or [str(core.COURSE)]))
        return 2
    _log(f"grading {len(files)} notebook(s) with nbgrader ...")
    results = check(files)
    if args.json:
        print(json.dumps([r.to_dict() for r in results], indent=2))
    else:
        print(format_table(results))
    _log(f"graded in {time.perf_counter() - start:.1f} s")
    return 0


# ---------------------------------------------------------------- autograde

def collect_submissions(folder: Path) -> dict[str, list[Path]]:
    """`<student>/<notebook>.ipynb` (any depth below the student) -> {student: files}."""
    subs = {}
    for d in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        subs[d.name] = sorted(f for f in d.rglob("*.ipynb") if ".ipynb_checkpoints" not in f.parts)
    return subs


def autograde(submissions: Path, out: Path, timeout: float | None = None) -> dict:
    """Grade every student's notebooks; write grades CSVs and feedback under `out`."""
    sources = core.source_notebooks()
    subs = collect_submissions(submissions)
    plan: dict[str, dict[str, dict[str, Path]]] = defaultdict(lambda: defaultdict(dict))
    results: list[core.NotebookResult] = []
    problems: dict[str, list[str]] = defaultdict(list)
    for student, files in subs.items():
        if not core.STUDENT_ID.match(student):
            problems[student].append(f"folder name {student!r} is not a usable student id; skipped")
            continue
        if not files:
            problems[student].append("no .ipynb files in the submission folder")
        for f in files:
            if f.stem in sources:
                plan[student][sources[f.stem].parent.name][f.stem] = f
            else:
                problems[student].append(f"{f.name}: not a notebook of this course; ignored")
    mods = sorted({m for per in plan.values() for m in per})
    ws = core.make_workspace(out, mods)
    for m in mods:
        core.generate(ws, m)
    students = [s for s in subs if core.STUDENT_ID.match(s)]
    for i, student in enumerate(students, 1):
        _log(f"[{i}/{len(students)}] {student}")
        for module, files in sorted(plan[student].items()):
            try:
                rs = core.grade_submission_dir(ws, module, student, files, sources, timeout=timeout)
            except core.GradingError as e:
                rs = [core.zero_result(student, module, name, nbformat.read(sources[name], as_version=4),
                                       f"grading failed: {e}") for name in files]
            results += rs
            problems[student] += [r.problem for r in rs if r.problem]
        if not plan[student]:
            core._ensure_student(ws, student)
    for m in mods:
        core.nbgrader(ws, "generate_feedback", m, "--force")
    core.nbgrader(ws, "export", "--to", "grades.csv")
    for student, msgs in problems.items():
        if msgs and core.STUDENT_ID.match(student):
            fb = ws / "feedback" / student
            fb.mkdir(parents=True, exist_ok=True)
            (fb / "problems.txt").write_text("\n".join(msgs) + "\n")
    write_exercise_csv(ws / "grades_by_exercise.csv", students, results, sources)
    report = {"students": students, "problems": dict(problems),
              "results": [r.to_dict() for r in results]}
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
    start = time.perf_counter()
    out = Path(args.out).resolve()
    report = autograde(Path(args.submissions), out, timeout=args.timeout)
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
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("autograde", help="grade a folder of submissions (instructors)",
                       description="Grade SUBMISSIONS/<student>/<notebook>.ipynb with nbgrader. Writes, under "
                                   "--out: grades.csv (nbgrader export), grades_by_exercise.csv, "
                                   "feedback/<student>/ (HTML, hidden tests removed) and report.json.")
    p.add_argument("submissions", help="folder with one subfolder per student")
    p.add_argument("--out", default="grading", help="grading workspace (default: ./grading)")
    p.add_argument("--timeout", type=float, default=None,
                   help="seconds allowed for one student's module (default: none; cells have their own limit)")
    p.set_defaults(func=cmd_autograde)

    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except core.GradingError as e:
        _log(f"error: {e}")
        return 1
