"""`wcdl autograde`: grade a folder of submissions; write the grades and the feedback.

    collect_submissions -> plan_submissions -> autograde (journal, batch.Pool) -> write_exports

SUBMISSIONS/<student>/<notebook>.ipynb is planned into (student, module) pairs,
graded several at a time by grader/batch.py, journaled so that an interrupted
run resumes, and exported: grades.csv (nbgrader export), grades_by_exercise.csv,
rejected.csv, feedback/<student>/problems.txt and report.json.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import signal
import sys
import time
from collections import defaultdict
from pathlib import Path

import nbformat
from tqdm import tqdm

from grader import batch, core, private_tests, shards


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
              cell_timeout: float | None = None, progress: bool = False,
              private_dir: Path | None = None, shard: tuple[int, int] | None = None) -> dict:
    """Grade every student's notebooks; write grades CSVs and feedback under `out`.

    Pairs (student, module) are graded `workers` at a time; a pair running
    past `timeout` seconds is stopped and scores zero. Progress is journaled
    in out/progress.jsonl: run it again after an interruption and it grades
    only what is missing or changed (see grader/batch.py).
    """
    sources = core.source_notebooks()
    private = private_tests.load(private_dir, sources) if private_dir else {}   # bad folder: nothing graded
    subs = collect_submissions(submissions)
    plan, problems = plan_submissions(subs, sources)
    students = [s for s in subs if core.STUDENT_ID.match(s)]
    if shard:       # --shard K/N: only this shard's pairs (grader/shards.py)
        plan, students, problems = shards.select(out, shard, plan, students, problems)
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
        if private:
            private_tests.merge(ws / "solutions", private)
        _generate_changed(ws, mods, state)
        journal = batch.Journal(out / "progress.jsonl")
        earlier = journal.load()
        entries: dict[tuple[str, str], dict] = {}
        with core.gradebook(ws) as gb:
            for s in students:
                gb.update_or_create_student(s)
        todo = []
        # a module's private tests are part of its hash: changing them regrades that module
        private_extra = {m: private_tests.digest(private, m, sources) if private else "" for m in mods}
        for (student, module), files in sorted(plan.items()):
            digest = batch.pair_hash(files, sources, module, extra + private_extra[module])
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
        report = write_exports(ws, students, problems, [entries[k] for k in sorted(entries) if k in plan], sources)
        if shard:
            shards.finish(out, plan)
        return report


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


def main(args) -> int:
    """`wcdl autograde SUBMISSIONS --out DIR`: refuse without an OS sandbox unless told, grade, summarise."""
    from grader.guard import guard_disabled
    from grader.sandbox import os_sandbox_available

    start = time.perf_counter()
    # Without the OS sandbox only the audit hook stands between a submission and the grader's
    # files, and native code gets around it: grade so only when the instructor says so.
    explicit = args.without_os_sandbox or guard_disabled() or \
        os.environ.get("WCDL_NO_LANDLOCK", "") not in ("", "0")
    ok, why = os_sandbox_available()
    if not ok and not explicit:
        core.log(f"error: no OS sandbox here: {why}.\n"
             "  Grading kernels would be confined by a Python audit hook alone, which native code and some\n"
             "  Python routes get around (README, 'Threat model'). Grade on Linux 5.13+ with Landlock, in a\n"
             "  container per student (README, 'Thousands of submissions'), or pass --without-os-sandbox\n"
             "  to grade anyway with the weaker protection.")
        return 2
    if not ok:
        core.log(f"warning: grading without an OS sandbox ({why}): the audit hook alone confines the kernels")
    out = Path(args.out).resolve()
    # a polite kill (SIGTERM) stops the workers and their kernels too
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    report = autograde(Path(args.submissions), out, timeout=args.timeout, workers=args.workers,
                       cell_timeout=args.cell_timeout, progress=not args.quiet,
                       private_dir=Path(args.private_tests) if args.private_tests else None,
                       shard=args.shard)
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
    core.log(f"graded {len(report['students'])} student(s) in {time.perf_counter() - start:.1f} s")
    return 0
