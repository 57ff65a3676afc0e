"""Grading a class in shards, on several machines, and gathering the shards into one course folder.

    wcdl autograde SUBMISSIONS --out DIR_K --shard K/N    (K = 1 .. N, one job each, anywhere)
    wcdl gather DIR_1 ... DIR_N --out FINAL

Assignment. A (student, module) pair belongs to shard `1 + sha256(student, module) mod N`: it
depends on the pair alone, not on the order or number of submissions, so a re-run of shard K
grades the same pairs and resumes from its own DIR_K/progress.jsonl like any `wcdl autograde`.

Manifest. Every shard run writes DIR_K/shard.json before grading: K, N, the whole class as the
shard saw it (students, their module/notebook names, folder problems; every shard computes the
same from a listing of SUBMISSIONS, no file read), its own pairs and the digests of the grading
code and of each module's solutions, with "complete": false. At the end of the run it is
rewritten with "complete": true and each pair's journal hash.

Gather checks before it writes anything: every K of 1..N is there exactly once, all shards saw
the same class and graded with the same code and solutions, each shard completed and journaled
each of its pairs. Otherwise it names the shards to run again (with their command) and exits 1.
Then it builds FINAL afresh (a new gradebook with every student, each pair's grades copied from
its one shard's gradebook, the pair's submitted/autograded/feedback folders, the merged journal)
and writes the exports exactly as a single run does. FINAL is replaced as a whole, so gathering
again after a re-run gives the complete result and nothing is counted twice.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shlex
import shutil
import stat
import sys
import time
import warnings
from collections import defaultdict
from pathlib import Path

from grader import batch, core

MANIFEST = "shard.json"
GATHERED = "gathered.json"            # in FINAL/.wcdl: marks a folder that gather may replace
FORMAT = 1
PAIR_FOLDERS = ("submitted", "autograded", "feedback", "guard")


class GatherError(core.GradingError):
    """The shards cannot be gathered (yet); the message says which to run again."""


def parse_shard(text: str) -> tuple[int, int]:
    """'K/N' -> (K, N), 1 <= K <= N."""
    try:
        k, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--shard takes K/N (for example 2/8), not {text!r}") from None
    if not 1 <= k <= n:
        raise argparse.ArgumentTypeError(f"--shard {text}: K counts from 1 to N")
    return k, n


def shard_of(student: str, module: str, n: int) -> int:
    """The shard (1..n) that grades a pair: a hash of the pair alone."""
    digest = hashlib.sha256(f"{student}\0{module}".encode()).digest()
    return 1 + int.from_bytes(digest[:8], "big") % n


def module_digest(module: str) -> str:
    """The module's solutions, as the pair hash sees them."""
    h = hashlib.sha256()
    for p in sorted((core.SOLUTIONS / module).glob("*.ipynb")):
        h.update(p.name.encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    os.replace(tmp, path)                       # a killed run leaves the old manifest or the new one


# ---------------------------------------------------------------- one shard (hooks in autograde)

def select(out: Path, shard: tuple[int, int], plan: dict, students: list[str], problems: dict):
    """This shard's part of a class: (plan, students, problems) restricted to its pairs.

    Writes out/shard.json (incomplete) with the whole class, for gather.
    """
    k, n = shard
    klass = {"students": list(students),
             "pairs": sorted([s, m, sorted(files)] for (s, m), files in plan.items()),
             "problems": {s: list(v) for s, v in sorted(problems.items()) if v}}
    mine = {pair: files for pair, files in plan.items() if shard_of(*pair, n) == k}
    out.mkdir(parents=True, exist_ok=True)
    _write_json(out / MANIFEST, {
        "format": FORMAT, "shard": k, "of": n, "complete": False, "started": time.time(),
        "class": hashlib.sha256(json.dumps(klass, sort_keys=True).encode()).hexdigest(), "class_plan": klass,
        "pairs": sorted([s, m] for s, m in mine), "code": batch.code_digest(),
        "modules": {m: module_digest(m) for m in sorted({m for _, m in plan})},
        "command": shlex.join(["wcdl", *sys.argv[1:]]) if sys.argv and sys.argv[0].endswith("wcdl") else None})
    bindir = str(Path(sys.executable).parent)
    if not mine and bindir not in os.environ.get("PATH", "").split(os.pathsep):
        # a shard with nothing to grade opens its new gradebook in this process, and nbgrader
        # then runs `alembic` by name (otherwise generate_assignment creates it, with this PATH)
        os.environ["PATH"] = core.nbgrader_env()["PATH"]
    keep = {s for s, _ in mine}
    return mine, [s for s in students if s in keep], {s: v for s, v in problems.items() if s in keep}


def finish(out: Path, plan: dict) -> None:
    """Mark out/shard.json complete, with the journal hash of each of its pairs."""
    manifest = json.loads((out / MANIFEST).read_text())
    journal = batch.Journal(out / "progress.jsonl").load()
    manifest.update(complete=True, finished=time.time(),
                    graded={f"{s}/{m}": journal[(s, m)]["hash"] for s, m in plan})
    _write_json(out / MANIFEST, manifest)


# ---------------------------------------------------------------- gather: checks

def _rerun(m: dict, folder: Path) -> str:
    cmd = m.get("command") or f"wcdl autograde SUBMISSIONS --out {shlex.quote(str(folder))}"
    if "--shard" not in cmd:
        cmd += f" --shard {m['shard']}/{m['of']}"
    return cmd


def check_shards(folders: list[Path]) -> tuple[int, dict[int, tuple[Path, dict]], list[str]]:
    """Read and check the shards' manifests: (N, {K: (folder, manifest)}, warnings to print).

    Raises GatherError naming every shard that is missing, incomplete or inconsistent.
    """
    errors, notes, found = [], [], []
    for folder in folders:
        path = folder / MANIFEST
        try:
            m = json.loads(path.read_text())
            assert m.get("format") == FORMAT and {"shard", "of", "class", "pairs"} <= set(m)
        except FileNotFoundError:
            errors.append(f"{folder}: no {MANIFEST}: not a shard's folder, or its shard never started "
                          "(run it: `wcdl autograde SUBMISSIONS --out FOLDER --shard K/N`)")
            continue
        except (OSError, ValueError, AssertionError):
            errors.append(f"{folder}: {MANIFEST} is damaged; run this shard again")
            continue
        found.append((folder, m))
    if not found:
        raise GatherError("nothing to gather:\n  " + "\n  ".join(errors or ["no folders given"]))
    counts = sorted({m["of"] for _, m in found})
    if len(counts) > 1:
        raise GatherError("the folders are shards of different splits (" +
                          ", ".join(f"{f}: {m['shard']}/{m['of']}" for f, m in found) +
                          "); gather the folders of one `--shard K/N` run")
    n = counts[0]
    by_k: dict[int, tuple[Path, dict]] = {}
    for folder, m in found:
        k = m["shard"]
        if k in by_k:
            errors.append(f"shard {k}/{n} given twice: {by_k[k][0]} and {folder}")
            continue
        by_k[k] = (folder, m)
    for k in range(1, n + 1):
        if k not in by_k:
            errors.append(f"shard {k}/{n}: missing (no folder given holds it); run it: "
                          f"`wcdl autograde SUBMISSIONS --out FOLDER --shard {k}/{n}`")
    # every shard must have seen the same class, and graded it with the same code and solutions
    for key, what in (("class", "saw other submissions (a folder was added or removed in between?)"),
                      ("code", "graded with other grading code (grader/, wcdl/)"),
                      ("modules", "graded from other solutions")):
        groups = defaultdict(list)
        for k, (_, m) in sorted(by_k.items()):
            groups[json.dumps(m.get(key), sort_keys=True)].append(k)
        if len(groups) > 1:
            latest = max(by_k.values(), key=lambda fm: fm[1].get("started", 0))[1]
            newest = json.dumps(latest.get(key), sort_keys=True)
            for value, ks in groups.items():
                if value != newest:
                    errors += [f"shard {k}/{n} ({by_k[k][0]}): {what} than shard {latest['shard']}/{n}, "
                               f"the last one started; run it again: `{_rerun(by_k[k][1], by_k[k][0])}`"
                               for k in ks]
    mine = {m: module_digest(m) for m in {p[1] for _, fm in by_k.items() for p in fm[1]["class_plan"]["pairs"]}
            if (core.SOLUTIONS / m).is_dir()}
    for k, (folder, m) in sorted(by_k.items()):
        for module, digest in sorted(m.get("modules", {}).items()):
            if mine.get(module) != digest:
                errors.append(f"shard {k}/{n} ({folder}): module {module} was graded from other solutions "
                              "than this repository's; gather with the repository (image) the shards used")
                break
        if m.get("code") != batch.code_digest():
            notes.append(f"shard {k}/{n} was graded by other grading code than this one's")
        if not m.get("complete"):
            journal = batch.Journal(folder / "progress.jsonl").load()
            done = sum((s, mod) in journal for s, mod in m["pairs"])
            errors.append(f"shard {k}/{n} ({folder}): did not finish ({done} of {len(m['pairs'])} pairs graded, "
                          f"the run was stopped or failed); run it again, it resumes: `{_rerun(m, folder)}`")
            continue
        journal = batch.Journal(folder / "progress.jsonl").load()
        lost = [f"{s}/{mod}" for s, mod in m["pairs"]
                if journal.get((s, mod), {}).get("hash") != m["graded"].get(f"{s}/{mod}")]
        if lost:
            errors.append(f"shard {k}/{n} ({folder}): its journal lacks {len(lost)} of its pairs "
                          f"({', '.join(lost[:3])}...); run it again: `{_rerun(m, folder)}`")
        retry = [f"{s}/{mod}" for s, mod in m["pairs"] if journal.get((s, mod), {}).get("retry")]
        if retry:
            notes.append(f"shard {k}/{n}: grading failed for {', '.join(retry)} (scored zero); running the "
                            f"shard again grades them again: `{_rerun(m, folder)}`")
    if errors:
        raise GatherError("cannot gather yet:\n  " + "\n  ".join(errors) +
                          "\nNothing was written. Gather again once those shards are complete.")
    # a pair in two shards would be counted twice: by construction it cannot be, but check
    seen: dict[tuple[str, str], int] = {}
    for k, (_, m) in by_k.items():
        for s, mod in m["pairs"]:
            if (s, mod) in seen:
                raise GatherError(f"{s}/{mod} was graded by shards {seen[(s, mod)]} and {k}")
            seen[(s, mod)] = k
    klass = by_k[1][1]["class_plan"]
    if set(seen) != {(s, mod) for s, mod, _ in klass["pairs"]}:
        raise GatherError("the shards' pairs are not the class's pairs; run every shard again")
    return n, by_k, notes


# ---------------------------------------------------------------- gather: merge

def _copy_tree(src: Path, dst: Path) -> None:
    """Copy folders and regular files only: no link of a shard's folder is followed or copied."""
    try:
        info = src.lstat()
    except FileNotFoundError:
        return
    if stat.S_ISDIR(info.st_mode):
        dst.mkdir(parents=True, exist_ok=True)
        for child in sorted(src.iterdir()):
            _copy_tree(child, dst / child.name)
    elif stat.S_ISREG(info.st_mode):
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst, follow_symlinks=False)


def _copy_grades(src, dst, module: str, student: str) -> None:
    """One pair's submission, from a shard's gradebook into the course gradebook."""
    from nbgrader.api import MissingEntry

    try:
        sub = src.find_submission(module, student)
    except MissingEntry:
        return                       # every file of the pair was refused: it counts zero, as in one run
    extra = {"timestamp": sub.timestamp} if sub.timestamp else {}
    dst.update_or_create_submission(module, student, **extra)
    for snb in sub.notebooks:
        dnb = dst.find_submission_notebook(snb.name, module, student)
        dnb.flagged, dnb.late_submission_penalty = snb.flagged, snb.late_submission_penalty
        for g in snb.grades:
            d = dst.find_grade(g.name, snb.name, module, student)
            d.auto_score, d.manual_score, d.extra_credit = g.auto_score, g.manual_score, g.extra_credit
            d.needs_manual_grade = g.needs_manual_grade
        for c in snb.comments:
            d = dst.find_comment(c.name, snb.name, module, student)
            d.auto_comment, d.manual_comment = c.auto_comment, c.manual_comment
    dst.db.commit()


def gather(folders: list[Path], final: Path, log=lambda msg: None) -> dict:
    """Merge complete shards into the course folder `final`; return the report (as autograde's)."""
    from grader.autograde import write_exports

    folders = [f.resolve() for f in folders]
    final = final.resolve()
    if final in folders or any(final.is_relative_to(f) or f.is_relative_to(final) for f in folders):
        raise GatherError(f"--out {final} must be a folder of its own, not a shard's or one holding shards")
    if final.exists() and any(final.iterdir()) and not (final / batch.STATE / GATHERED).exists():
        raise GatherError(f"{final} holds something other than an earlier gather; give an empty or new folder")
    n, by_k, notes = check_shards(folders)
    for w in notes:
        log("warning: " + w)
    klass = by_k[1][1]["class_plan"]
    students, problems = klass["students"], klass["problems"]
    mods = sorted({m for _, m, _ in klass["pairs"]})
    sources = core.source_notebooks()

    build = final.parent / f".{final.name}.gathering"
    shutil.rmtree(build, ignore_errors=True)
    ws = core.make_workspace(build, mods)
    for m in mods:
        log(f"gather: generating {m} ...")
        core.generate(ws, m)
    entries = []
    with warnings.catch_warnings(), core.gradebook(ws) as dst:
        warnings.simplefilter("ignore")       # SQLAlchemy's notes on nbgrader's own session use
        for s in students:
            dst.update_or_create_student(s)
        for k, (folder, m) in sorted(by_k.items()):
            log(f"gather: shard {k}/{n}: {len(m['pairs'])} pair(s) from {folder}")
            journal = batch.Journal(folder / "progress.jsonl").load()
            with core.gradebook(folder) as src:
                for s, mod in m["pairs"]:
                    _copy_grades(src, dst, mod, s)
                    for sub in PAIR_FOLDERS:
                        _copy_tree(folder / sub / s / mod, build / sub / s / mod)
                    entries.append(journal[(s, mod)])
            _copy_tree(folder / batch.STATE / "logs", build / batch.STATE / "logs" / f"shard-{k}")
    entries.sort(key=lambda e: (e["student"], e["module"]))
    # the merged journal, in batch.Journal's format (one write: thousands of fsyncs would be slow)
    (build / "progress.jsonl").write_text("".join(json.dumps(e, sort_keys=True) + "\n" for e in entries))
    report = write_exports(ws, students, defaultdict(list, problems), entries, sources)
    _write_json(build / batch.STATE / GATHERED, {
        "shards": {str(k): str(f) for k, (f, _) in sorted(by_k.items())}, "of": n, "time": time.time(),
        "class": by_k[1][1]["class"], "warnings": notes})
    # replace FINAL as a whole: no pair of an earlier gather stays behind
    if final.exists():
        old = final.parent / f".{final.name}.old"
        shutil.rmtree(old, ignore_errors=True)
        os.rename(final, old)
        os.rename(build, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(build, final)
    core.make_workspace(final, mods)           # its nbgrader config names the gradebook at its new place
    report["warnings"] = notes
    return report


def gather_main(args) -> int:
    """`wcdl gather`: merge the shards' folders, or name what is missing."""
    start = time.perf_counter()
    out = Path(args.out)
    try:
        report = gather([Path(f) for f in args.shards], out, log=lambda msg: print(msg, file=sys.stderr, flush=True))
    except GatherError as e:
        print(f"error: {e}", file=sys.stderr, flush=True)
        return 1
    print(f"gathered {len(args.shards)} shard(s): {len(report['students'])} student(s), "
          f"{len(report['results'])} graded notebook(s)")
    print(f"grades: {out / 'grades.csv'} (nbgrader export), {out / 'grades_by_exercise.csv'}")
    print(f"feedback: {out / 'feedback'}/<student>/; rejected folders: {out / 'rejected.csv'}")
    if report.get("rejected"):
        print(f"NOT GRADED: {len(report['rejected'])} submission folder(s) are not usable student ids")
    print(f"gathered in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return 0
