"""The `wcdl` commands as learners and instructors run them."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys

import nbformat
import pytest

from grader import core
from grader.core import exercises
from grader.preprocessors import hidden_lines
from tests.grading import SOURCES, module_of, submission
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
    leaked = [ln for ln in hidden_lines(nbformat.read(SOURCES[notebook], as_version=4)) if ln in text]
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


def test_check_names_the_cell_that_failed_first(tmp_path):
    """A failing set-up cell shows up as the cause, not only as NameErrors in every test after it."""
    book = submission(NB)
    [imports] = [c for c in book.cells if c.cell_type == "code" and "import torch" in c.source
                 and not core.nbgrader_meta(c)]
    imports.source = 'raise RuntimeError("the data is not here")\n' + imports.source
    path = tmp_path / f"{NB}.ipynb"
    nbformat.write(book, path)
    proc = wcdl("check", str(path))
    assert proc.returncode == 0, proc.stderr
    assert "NameError" in proc.stdout
    assert "note: the cell starting `raise RuntimeError(\"the data is not here\")` raised RuntimeError: " \
           "the data is not here" in proc.stdout, proc.stdout


def test_check_generates_each_module_once(tmp_path, monkeypatch):
    """`wcdl check` reuses a module's generated release and gradebook until its solutions change."""

    monkeypatch.setenv("WCDL_CHECK_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("PATH", core.nbgrader_env()["PATH"])
    solutions = tmp_path / "solutions"
    module = "03_cuda_kernels"
    shutil.copytree(core.SOLUTIONS / module, solutions / module)
    calls = []
    real = core.generate
    monkeypatch.setattr(core, "generate", lambda root, m: (calls.append(m), real(root, m)))
    first = core.generated_workspace(tmp_path / "a", module, solutions)
    second = core.generated_workspace(tmp_path / "b", module, solutions)
    assert calls == [module]
    for ws in (first, second):
        assert (ws / "gradebook.db").exists() and (ws / "course" / module / "m03_4_fused_softmax.ipynb").exists()
        assert str(ws / "gradebook.db") in (ws / "nbgrader_config.py").read_text()
    with core.gradebook(second) as gb:
        assert {n.name for n in gb.find_assignment(module).notebooks} == {
            p.stem for p in (solutions / module).glob("*.ipynb")}
    nb = solutions / module / "m03_4_fused_softmax.ipynb"
    nb.write_text(nb.read_text().replace("softmax", "soft_max", 1))
    core.generated_workspace(tmp_path / "c", module, solutions)
    assert calls == [module, module]


def test_autograde_without_the_data_grades_nothing(tmp_path, monkeypatch, capsys):
    """Without the SMS data every module-04 notebook would score zero (and be journaled as done):
    the run stops before grading and says what to do."""
    import wcdl.data
    from grader import cli

    def offline(*a, **k):
        raise wcdl.data.DataUnavailableError("the SMS Spam Collection is not cached and downloading it failed")

    monkeypatch.setattr(wcdl.data, "load_sms_spam", offline)
    name = "m04_4_label_a_little"
    subs, out = tmp_path / "submissions", tmp_path / "grading"
    (subs / "alice").mkdir(parents=True)
    nbformat.write(submission(name), subs / "alice" / f"{name}.ipynb")
    assert cli.main(["autograde", str(subs), "--out", str(out), "--quiet"]) != 0
    err = capsys.readouterr().err
    assert "the SMS Spam Collection is not available" in err and "Nothing was graded" in err
    assert not (out / "progress.jsonl").exists()


def test_the_grading_benchmark_runs(tmp_path):
    """`python -m grader.bench` grades the copies with 1 and 2 workers and prints the ratio.
    (The ratio itself is a measurement for the README, not something to assert on a shared machine.)"""
    proc = subprocess.run([sys.executable, "-m", "grader.bench", "--copies", "2", "--notebooks",
                           "m03_4_fused_softmax"], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ratio = [ln for ln in proc.stdout.splitlines() if ln.startswith("throughput ratio 2 vs 1 worker(s):")]
    assert ratio and float(ratio[0].split()[-1].rstrip("x")) > 0, proc.stdout
    bad = subprocess.run([sys.executable, "-m", "grader.bench", "--notebooks", "m01_2_normalization_and_dropout",
                          "m03_4_fused_softmax"], capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and "give notebooks of one module" in bad.stderr


def test_autograde_plans_no_link_and_rejects_bad_folder_names(tmp_path):
    """What `autograde` will grade, before anything runs: links (a git clone or a zip keeps them)
    and special files are refused with a message, never followed; bad folder names are rejected."""
    from grader import autograde

    subs = tmp_path / "subs"
    for s in ("alice", "bob", "carol", "x\n"):
        (subs / s).mkdir(parents=True)
    nbformat.write(submission(NB), subs / "alice" / f"{NB}.ipynb")
    (subs / "bob" / f"{NB}.ipynb").symlink_to(subs / "alice" / f"{NB}.ipynb")
    (subs / "bob" / "deeper").symlink_to(subs / "alice")                      # a folder link: not walked
    os.mkfifo(subs / "carol" / f"{NB}.ipynb")
    (subs / "dave").symlink_to(subs / "alice")
    subs_found = autograde.collect_submissions(subs)
    plan, problems = autograde.plan_submissions(subs_found, core.source_notebooks())
    module = module_of(NB)
    assert set(plan) == {("alice", module), ("bob", module), ("carol", module)}
    assert all(".ipynb" in str(p) for files in plan.values() for p in files.values())
    assert not any("deeper" in str(p) for files in plan.values() for p in files.values())
    assert "symbolic link" in problems["dave"][0] and ("dave", module) not in plan
    assert autograde.rejected_folders(problems) == {"x\n": problems["x\n"][0]}
    sources = core.source_notebooks()
    for student, why in (("bob", "a symbolic link"), ("carol", "not a regular file")):
        nb, problem = core.inspect_submission(plan[(student, module)][NB], sources[NB])
        assert nb is None and why in problem, problem
    big = tmp_path / "big" / f"{NB}.ipynb"
    big.parent.mkdir()
    with open(big, "wb") as fh:
        fh.truncate(core.MAX_NOTEBOOK_BYTES + 1)
    nb, problem = core.inspect_submission(big, sources[NB])
    assert nb is None and "MiB" in problem


def _nb(*cells):
    from nbformat.v4 import new_code_cell, new_notebook, new_output

    nb = new_notebook()
    for source, meta, error in cells:
        c = new_code_cell(source, metadata={"nbgrader": meta} if meta else {})
        if error:
            c.outputs = [new_output("error", ename=error[0], evalue=error[1], traceback=[])]
        nb.cells.append(c)
    return nb


def test_knock_on_errors_are_blamed_on_their_cause():
    """A cell that fails because an exercise above it is not attempted is not 'the cause'."""
    from grader.core import _first_setup_error

    answer = {"grade_id": "m01_layer_norm_answer", "solution": True, "grade": False}
    test = {"grade_id": "m01_layer_norm", "grade": True, "solution": False}
    nb = _nb(("import torch", None, None),
             ("def layer_norm(x):\n    raise NotImplementedError", answer, ("NotImplementedError", "not attempted yet")),
             ("check(layer_norm)", test, ("NotImplementedError", "not attempted yet")),
             ("fig, ax = plt.subplots()\nax.plot(curves['gain 1'])", None, ("KeyError", "'gain 1'")))
    note = _first_setup_error(nb)
    assert note.startswith("exercise m01_layer_norm is not attempted yet"), note
    assert "the cell starting `fig, ax = plt.subplots()` raised KeyError" in note and "this is the cause" not in note
    # the unattempted function called from a plain cell (its answer cell only defines it)
    nb = _nb(("curves = {g: layer_norm(g) for g in gains}", None, ("NotImplementedError", "not attempted yet")),
             ("fig, ax = plt.subplots()\nax.plot(curves['gain 1'])", None, ("NameError", "name 'curves' is not defined")))
    note = _first_setup_error(nb)
    assert note.startswith("the cell starting `curves = {g: layer_norm(g) for g in gains}` stopped at an exercise "
                           "not attempted yet (NotImplementedError), so later cells"), note
    # missing data: the loading cell is the cause, and is named as such
    nb = _nb(("data = load_sms_spam()", None, ("DataUnavailableError", "the SMS Spam Collection is not cached")),
             ("def f(x):\n    raise NotImplementedError", answer, ("NotImplementedError", "not attempted yet")),
             ("len(data)", None, ("NameError", "name 'data' is not defined")))
    note = _first_setup_error(nb)
    assert note.startswith("the cell starting `data = load_sms_spam()` raised DataUnavailableError: the SMS") and \
        "this is the cause" in note, note
    # a cell stopped at the time limit is named by the grader's own notes, not here
    nb = _nb(("slow()", None, ("CellTimeoutError", "ran past the 60 s cell limit")),)
    assert _first_setup_error(nb) is None
    nb = _nb(("curves = slow()", None, ("CellTimeoutError", "ran past the 60 s cell limit")),
             ("curves['gain 1']", None, ("NameError", "name 'curves' is not defined")))
    note = _first_setup_error(nb)
    assert note.startswith("the cell starting `curves = slow()` was stopped (time limit") and \
        "this is the cause" not in note, note


def test_timeout_messages_name_the_limit():
    from grader.core import learner_message

    why = "ran past the 60 s cell limit: an endless loop, or very slow code?"
    assert learner_message(("CellTimeoutError", why), hidden=False) == "stopped: " + why
    assert learner_message(("CellTimeoutError", why), hidden=True) == "stopped: " + why


def test_check_stops_a_runaway_loop_once_and_names_the_limit(tmp_path):
    """A loop that never ends: the visible test stops at the cell limit, the hidden test of the
    same exercise is not run, progress is shown while grading, and the message names the limit."""
    book = submission(NB)
    [answer] = [c for c in book.cells if core.nbgrader_meta(c).get("grade_id") == "m01_layer_norm_answer"]
    # endless on the visible test's input only: the rest of the notebook runs as usual
    answer.source = answer.source.replace("def layer_norm(", "def _layer_norm(", 1) + (
        "\n\ndef layer_norm(x, *args, **kwargs):\n"
        "    while tuple(x.shape) == (4, 6, 10):\n"
        "        pass\n"
        "    return _layer_norm(x, *args, **kwargs)\n")
    path = tmp_path / f"{NB}.ipynb"
    nbformat.write(book, path)
    proc = wcdl("check", "--cell-timeout", "20", str(path))
    assert proc.returncode == 0, proc.stderr
    rows = {line.split()[0]: line for line in proc.stdout.splitlines() if line.startswith("  m01_")}
    assert "0/2  stopped: ran past the 20 s cell limit: an endless loop, or very slow code?" in rows["m01_layer_norm"]
    assert "passed" in rows["m01_dropout"], proc.stdout
    progress = [ln.strip() for ln in proc.stderr.splitlines() if ln.startswith(f"  {NB}: ")]
    ran = [ln.split()[1] for ln in progress]
    assert "m01_layer_norm" in ran and "m01_layer_norm_hidden" not in ran, proc.stderr
    assert {"m01_dropout", "m01_dropout_hidden"} <= set(ran), proc.stderr
    assert "this is the cause" not in proc.stdout, proc.stdout


def test_check_reads_data_kept_under_the_temp_folder(tmp_path, monkeypatch):
    """WCDL_DATA_DIR may be anywhere (here under the temp folder, which grading kernels may not
    read otherwise): a module-04 notebook still scores full marks."""
    from wcdl.data import load_sms_spam

    source = load_sms_spam().source          # CI's shared copy, or the user cache
    data = tmp_path / "data"
    shutil.copytree(source, data / "sms_spam")
    name = "m04_1_look_at_the_data"
    path = tmp_path / f"{name}.ipynb"
    nbformat.write(submission(name), path)
    monkeypatch.setenv("WCDL_DATA_DIR", str(data))
    proc = wcdl("check", "--json", str(path))
    assert proc.returncode == 0, proc.stderr
    [result] = json.loads(proc.stdout)
    assert "blocked" not in proc.stdout + proc.stderr
    assert result["max_score"] > 0 and result["score"] == result["max_score"], result
