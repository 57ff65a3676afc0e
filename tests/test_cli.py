"""The `wcdl` commands as learners and instructors run them."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import subprocess
import sys

import nbformat
import pytest

from grader.core import exercises
from tests.grading import SOURCES, hidden_lines, module_of, submission
from tests.mutants import all_mutants

NB = "m01_2_normalization_and_dropout"      # the quickest notebook of module 01
OTHER = "m01_1_embeddings_are_lookup_tables"
THIRD = "m01_3_bert_is_matmuls"


def wcdl(*args, cwd=None) -> subprocess.CompletedProcess:
    exe = os.path.join(os.path.dirname(sys.executable), "wcdl")
    return subprocess.run([exe, *args], capture_output=True, text=True, cwd=cwd, timeout=600)


@pytest.mark.parametrize("args", [[], ["release"], ["check"], ["autograde"]])
def test_help(args):
    proc = wcdl(*args, "--help")
    assert proc.returncode == 0 and "usage: wcdl" in proc.stdout


def _assert_no_hidden(text: str, notebook: str) -> None:
    leaked = [ln for ln in hidden_lines(notebook) if ln in text]
    assert not leaked, f"hidden test code reached the learner: {leaked[:3]}"


def test_check_shows_each_exercise_and_never_changes_the_notebook(tmp_path):
    mutant = next(m for m in all_mutants() if m.notebook == NB)
    path = tmp_path / f"{NB}.ipynb"
    nbformat.write(submission(NB, [mutant]), path)
    before = (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns)
    proc = wcdl("check", str(path))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns) == before
    assert "Traceback" not in out
    rows = {line.split()[0]: line for line in out.splitlines() if line.startswith("  m01_")}
    for ex in mutant.fails:
        assert "passed" not in rows[ex], f"{ex} should fail with mutant {mutant.why}:\n{out}"
    passed = [ex for ex, line in rows.items() if ex not in mutant.fails]
    assert passed and all("passed" in rows[ex] for ex in passed), out
    _assert_no_hidden(out + proc.stderr, NB)


def test_check_bad_files_score_zero_with_a_message(tmp_path):
    d = tmp_path / "bad"
    d.mkdir()
    (d / f"{NB}.ipynb").write_text('{"cells": [ this is not json')
    (d / f"{OTHER}.ipynb").write_text("")
    other_dir = tmp_path / "other"
    other_dir.mkdir()
    # a course notebook's file name, the content of another notebook
    (other_dir / f"{THIRD}.ipynb").write_bytes(SOURCES[OTHER].read_bytes())
    (tmp_path / "notes.ipynb").write_text("[]")
    proc = wcdl("check", "--json", str(d), str(other_dir / f"{THIRD}.ipynb"), str(tmp_path / "notes.ipynb"))
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    results = json.loads(proc.stdout)
    problems = {(r["notebook"], r["problem"].split(":")[1].strip()[:18]) for r in results}
    assert all(r["score"] == 0 for r in results)
    text = " ".join(r["problem"] for r in results)
    assert "not valid JSON (line 1" in text
    assert "the file is empty" in text
    assert "none of the exercise cells" in text
    assert "not a notebook of this course" in text
    assert len(problems) == 4


def test_check_table_for_a_file_that_is_not_a_notebook(tmp_path):
    path = tmp_path / f"{NB}.ipynb"
    path.write_text('{"hello": "world"}')
    proc = wcdl("check", str(path))
    assert proc.returncode == 0 and "PROBLEM" in proc.stdout and "not a Jupyter notebook" in proc.stdout
    assert "0 / " in proc.stdout and "Traceback" not in proc.stdout + proc.stderr


def test_autograde_a_class(tmp_path):
    subs = tmp_path / "submissions"
    for student in ("alice", "bob", "carol", "dave", "erin", "frank"):
        (subs / student).mkdir(parents=True)
    nbformat.write(submission(NB), subs / "alice" / f"{NB}.ipynb")
    nbformat.write(submission(NB, solved=False), subs / "bob" / f"{NB}.ipynb")
    (subs / "carol" / f"{NB}.ipynb").write_text("{ not json")
    (subs / "dave" / f"{NB}.ipynb").write_text("")
    (subs / "erin" / f"{NB}.ipynb").write_bytes(SOURCES[OTHER].read_bytes())
    (subs / "frank" / "homework.ipynb").write_text("{}")
    out = tmp_path / "grading"
    proc = wcdl("autograde", str(subs), "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]

    module = module_of(NB)
    rows = {r["student_id"]: r for r in csv.DictReader((out / "grades.csv").open()) if r["assignment"] == module}
    assert set(rows) == {"alice", "bob", "carol", "dave", "erin", "frank"}
    top = sum(ex.points for ex in exercises(nbformat.read(SOURCES[NB], as_version=4)))
    assert top > 0 and float(rows["alice"]["score"]) == top
    assert all(float(rows[s]["score"]) == 0 for s in ("bob", "carol", "dave", "erin", "frank"))

    by_ex = {r["student"]: r for r in csv.DictReader((out / "grades_by_exercise.csv").open())}
    assert float(by_ex["alice"]["total"]) == top == float(by_ex["alice"]["max_total"])
    ex_cols = [c for c in by_ex["alice"] if c.startswith("m01_")]
    assert ex_cols and all(float(by_ex["alice"][c]) > 0 for c in ex_cols)
    assert all(float(by_ex["bob"][c]) == 0 for c in ex_cols)

    assert "not valid JSON" in (out / "feedback" / "carol" / "problems.txt").read_text()
    assert "empty" in (out / "feedback" / "dave" / "problems.txt").read_text()
    assert "none of the exercise cells" in (out / "feedback" / "erin" / "problems.txt").read_text()
    assert "not a notebook of this course" in (out / "feedback" / "frank" / "problems.txt").read_text()
    for student in ("alice", "bob"):
        html = (out / "feedback" / student / module / f"{NB}.html").read_text()
        _assert_no_hidden(html, NB)
        assert "hidden tests:" in html
