"""`wcdl autograde --workers N`: parallel, killable, resumable, consistent.

A class is graded with 2 workers; the run is stopped twice (SIGTERM, then
SIGKILL of its whole process group) once the journal shows progress, then
resumed. The gradebook, nbgrader's export and grades_by_exercise.csv must
end up complete and correct, with one row per student and nothing counted
twice, and nothing of the killed runs may be left running.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader import core
from tests.adversarial import DEAF_LOOP, DO_ANS, LN_ANS, NB, WRONG, max_points, nb

MODULE = "01_matmul_is_all_you_need"
WCDL = os.path.join(os.path.dirname(sys.executable), "wcdl")

# the notebook's points, read from its source (the grading tests never hard-code a total)
LN_MAX, DO_MAX = (max_points()[ex] for ex in ("m01_layer_norm", "m01_dropout"))
TOTAL = LN_MAX + DO_MAX

# student -> (submission, points expected for m01_layer_norm, m01_dropout)
CLASS = {
    "ada": (lambda: nb(), LN_MAX, DO_MAX),
    "bea": (lambda: nb(solved=False), 0, 0),
    "cyd": (lambda: nb(edit={LN_ANS: WRONG[LN_ANS]}), 0, DO_MAX),
    "dan": (lambda: nb(edit={DO_ANS: WRONG[DO_ANS]}), LN_MAX, 0),
}


def _write(subs: Path, students: dict) -> None:
    for student, (build, *_) in students.items():
        (subs / student).mkdir(parents=True, exist_ok=True)
        (subs / student / f"{NB}.ipynb").write_bytes(build())


def _start(subs: Path, out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([WCDL, "autograde", str(subs), "--out", str(out), "--workers", "2", "--quiet",
                             "--cell-timeout", "60", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def _journal(out: Path) -> list[dict]:
    path = out / "progress.jsonl"
    if not path.exists():
        return []
    lines = []
    for line in path.read_text().splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            pass
    return lines


def _interrupt_after(proc: subprocess.Popen, out: Path, done: int, sig: int, limit: float = 900) -> None:
    """Once `done` pairs are journaled, send `sig` to the run's whole process group."""
    deadline = time.monotonic() + limit
    while len(_journal(out)) < done:
        assert proc.poll() is None, f"the run ended before it could be interrupted:\n{proc.stderr.read()[-2000:]}"
        assert time.monotonic() < deadline, "no progress"
        time.sleep(0.5)
    os.killpg(proc.pid, sig)
    proc.communicate(timeout=120)


def _processes_in(folder: Path) -> list[str]:
    """Processes whose working directory is inside `folder` (kernels run in autograded/...)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:200]
        except OSError:
            continue
        if cwd.startswith(str(folder)):
            found.append(f"{pid}: {cmd}")
    return found


def _no_leftovers(folder: Path) -> None:
    deadline = time.monotonic() + 20        # kernels notice their parent's death within a second or so
    while _processes_in(folder) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _processes_in(folder), f"left running: {_processes_in(folder)}"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc to look for leftover processes")
def test_interrupted_twice_then_resumed(tmp_path):
    subs, out = tmp_path / "submissions", tmp_path / "grading"
    _write(subs, CLASS)

    run = _start(subs, out)
    _interrupt_after(run, out, 1, signal.SIGTERM)
    first = len(_journal(out))
    _no_leftovers(out)

    run = _start(subs, out)
    _interrupt_after(run, out, first + 1, signal.SIGKILL)
    second = len(_journal(out))
    _no_leftovers(out)
    assert first < second < len(CLASS) or second == len(CLASS)

    run = _start(subs, out)
    stdout, stderr = run.communicate(timeout=1800)
    assert run.returncode == 0, stderr[-3000:]
    _no_leftovers(out)

    journal = _journal(out)
    pairs = [(e["student"], e["module"]) for e in journal]
    assert sorted(pairs) == sorted((s, MODULE) for s in CLASS), "every pair journaled exactly once"

    # the gradebook: one submission per student, the right scores
    with core.gradebook(out) as gb:
        for student, (_, ln, do) in CLASS.items():
            subs_of = gb.find_student(student).submissions
            assert len(subs_of) == 1, f"{student}: {len(subs_of)} submissions in the gradebook"
            grades = {g.name: g.score for g in gb.find_submission_notebook(NB, MODULE, student).grades}
            assert grades["m01_layer_norm"] + grades["m01_layer_norm_hidden"] == ln, (student, grades)
            assert grades["m01_dropout"] + grades["m01_dropout_hidden"] == do, (student, grades)

    # nbgrader's export: one row per student and module
    rows = list(csv.DictReader((out / "grades.csv").open()))
    assert sorted(r["student_id"] for r in rows if r["assignment"] == MODULE) == sorted(CLASS)
    by_student = {r["student_id"]: float(r["score"]) for r in rows if r["assignment"] == MODULE}
    assert by_student == {s: float(ln + do) for s, (_, ln, do) in CLASS.items()}

    # the course's export: one row per student, one column per exercise
    table = list(csv.DictReader((out / "grades_by_exercise.csv").open()))
    assert sorted(r["student"] for r in table) == sorted(CLASS)
    for r in table:
        _, ln, do = CLASS[r["student"]]
        assert (float(r["m01_layer_norm"]), float(r["m01_dropout"]), float(r["total"])) == (ln, do, ln + do)
        assert float(r["max_total"]) == TOTAL
    for student in CLASS:
        assert (out / "feedback" / student / MODULE / f"{NB}.html").exists()

    # a changed submission is graded again; the others are not
    (subs / "bea" / f"{NB}.ipynb").write_bytes(nb())
    again = _start(subs, out)
    _, stderr = again.communicate(timeout=900)
    assert again.returncode == 0, stderr[-3000:]
    journal = _journal(out)
    assert len(journal) == len(CLASS) + 1 and journal[-1]["student"] == "bea"
    rows = list(csv.DictReader((out / "grades.csv").open()))
    assert [float(r["score"]) for r in rows if r["student_id"] == "bea"] == [float(TOTAL)]
    table = {r["student"]: r for r in csv.DictReader((out / "grades_by_exercise.csv").open())}
    assert len(table) == len(CLASS) and float(table["bea"]["total"]) == TOTAL


def test_timeout_kills_the_pair_and_the_batch_goes_on(tmp_path):
    subs, out = tmp_path / "submissions", tmp_path / "grading"
    _write(subs, {"stuck": (lambda: nb(before={LN_ANS: DEAF_LOOP}), 0, 0), "fine": (lambda: nb(), LN_MAX, DO_MAX)})
    run = subprocess.run([WCDL, "autograde", str(subs), "--out", str(out), "--workers", "2", "--quiet",
                          "--cell-timeout", "600", "--timeout", "60"], capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    scores = {r["student"]: r["score"] for r in report["results"]}
    assert scores == {"stuck": 0, "fine": TOTAL}
    assert "grading stopped after 60 s" in (out / "feedback" / "stuck" / "problems.txt").read_text()
    rows = {r["student_id"]: float(r["score"]) for r in csv.DictReader((out / "grades.csv").open())}
    assert rows["stuck"] == 0 and rows["fine"] == TOTAL
    if sys.platform.startswith("linux"):
        _no_leftovers(out)


CONCURRENT_WRITER = r"""
import sys, time
from nbgrader.api import Gradebook
url, me, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
for i in range(rounds):
    with Gradebook(url, course_id="wcdl") as gb:
        gb.update_or_create_student(f"{me}-{i}")
        gb.update_or_create_submission("a1", f"{me}-{i}")
        for g in gb.find_submission_notebook("nb", "a1", f"{me}-{i}").grades:
            g.auto_score = 1.0
        gb.db.commit()
print("ok")
"""


def test_the_gradebook_takes_concurrent_writers(tmp_path, monkeypatch):
    """Four processes writing submissions into one gradebook at once (what the workers do):
    with the course's db_url (a busy timeout) none fails and nothing is lost."""
    from nbgrader.api import Gradebook

    env = core.nbgrader_env()            # a new gradebook runs `alembic` by name
    monkeypatch.setenv("PATH", env["PATH"])
    url = core.db_url(tmp_path / "gradebook.db")
    with Gradebook(url, course_id="wcdl") as gb:
        gb.add_assignment("a1")
        gb.add_notebook("nb", "a1")
        gb.add_grade_cell("t1", "nb", "a1", max_score=1, cell_type="code")
    script = tmp_path / "writer.py"
    script.write_text(CONCURRENT_WRITER)
    procs = [subprocess.Popen([sys.executable, str(script), url, f"w{k}", "15"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for k in range(4)]
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0 and out.strip() == "ok", err[-2000:]
    with Gradebook(url, course_id="wcdl") as gb:
        subs = gb.find_assignment("a1").submissions
        assert len(subs) == 60 and len({s.student_id for s in subs}) == 60
        assert sum(s.score for s in subs) == 60


def test_the_resume_hash_covers_the_grading_code(tmp_path, monkeypatch):
    """A pair graded by an older grader (whose grades a since-fixed hole may have forged) is graded
    again: the journal's hash covers grader/ and wcdl/, not only the submission and the module."""
    from grader import batch

    f = tmp_path / f"{NB}.ipynb"
    f.write_bytes(nb())
    sources = core.source_notebooks()
    module = sources[NB].parent.name
    before = batch.pair_hash({NB: f}, sources, module)
    assert batch.pair_hash({NB: f}, sources, module) == before
    repo = tmp_path / "repo"
    for d in ("grader", "wcdl"):
        for p in (core.REPO / d).rglob("*.py"):
            if "__pycache__" not in p.parts:
                copy = repo / p.relative_to(core.REPO)
                copy.parent.mkdir(parents=True, exist_ok=True)
                copy.write_bytes(p.read_bytes())
    (repo / "nbgrader_config.py").write_bytes((core.REPO / "nbgrader_config.py").read_bytes())
    monkeypatch.setattr(core, "REPO", repo)
    monkeypatch.setattr(batch, "_CODE_DIGEST", None)
    assert batch.pair_hash({NB: f}, sources, module) == before          # the same code: the same hash
    for fixed in (repo / "grader" / "_hook.py", repo / "wcdl" / "cuda" / "simulator.py"):   # subpackages count
        fixed.write_text(fixed.read_text() + "\n# a fix\n")
        monkeypatch.setattr(batch, "_CODE_DIGEST", None)
        assert batch.pair_hash({NB: f}, sources, module) != before
        before = batch.pair_hash({NB: f}, sources, module)
    # a link is hashed as a link (never followed), a huge file by its size (never read)
    link = tmp_path / "link.ipynb"
    link.symlink_to(f)
    assert batch.pair_hash({NB: link}, sources, module) != batch.pair_hash({NB: f}, sources, module)
