"""`wcdl publish`: a class repository without answers, whose `wcdl check` runs the visible tests;
and an instructor's private hidden tests merged in at grading."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from grader import autograde, cli, colab, core, private_tests
from grader.leaks import leaks, secret_lines
from grader.publish import HIDDEN_LABEL, PublishError, github_repository, publish
from tests.grading import solution_code

CLASS = "dept-of-ml/wcdl-spring"
NB = "m02_1_three_regimes"
MODULE = "02_gpu_regimes"


def _points(notebook: str) -> tuple[float, float]:
    """(visible, hidden) points of a notebook's test cells."""
    nb = nbformat.read(core.source_notebooks()[notebook], as_version=4)
    cells = [c for c in core.grade_cells(nb) if c.get("grade") and not c.get("solution")]
    hidden = sum(float(c["points"]) for c in cells if c["grade_id"].endswith(core.HIDDEN_SUFFIX))
    return sum(float(c["points"]) for c in cells) - hidden, hidden


def _solved(notebook: str, extra: dict[str, str] = {}, course: Path = core.COURSE):
    """The release of `notebook` (in `course`) with every answer cell solved (and code appended to some)."""
    source = nbformat.read(core.source_notebooks()[notebook], as_version=4)
    answers = {c.metadata["nbgrader"]["grade_id"]: solution_code(c.source) for c in source.cells
               if core.nbgrader_meta(c).get("solution")}
    nb = nbformat.read(course / MODULE / f"{notebook}.ipynb", as_version=4)
    for cell in nb.cells:
        gid = core.nbgrader_meta(cell).get("grade_id")
        if gid in answers:
            cell.source = answers[gid] + extra.get(gid, "")
    return nb


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    out = tmp_path_factory.mktemp("class") / "wcdl-spring"
    info = publish(out, f"https://github.com/{CLASS}.git")
    assert info["repository"] == CLASS and info["modules"] == core.modules(core.COURSE)
    return out


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


# ---------------------------------------------------------------- what publish writes

def test_no_solution_or_hidden_test_line_reaches_the_class_repository(published):
    assert leaks(core.SOLUTIONS, published) == []
    # the search has something to find: every course notebook contributes secret lines
    assert len(secret_lines(core.SOLUTIONS)) > 100
    top = {p.name for p in published.iterdir()}
    assert top == {"course", "wcdl", "grader", "jupyter", "README.md", "pyproject.toml", "Makefile",
                   "requirements.lock", "environment.yml", ".gitignore"}
    names = {str(p.relative_to(published)) for p in _files(published)}
    assert not [n for n in names if n.startswith(("solutions", "tests")) or "mutants" in n
                or n in ("grader/bench.py", "grader/bench_check.py", "nbgrader_config.py")]
    # every hidden-test cell holds the label alone, in course/ and in the copy the check grades against
    for path in [*published.glob("course/*/*.ipynb"), *published.glob("grader/release/*/*.ipynb")]:
        cells = nbformat.read(path, as_version=4).cells
        hidden = [c.source for c in cells if core.nbgrader_meta(c).get("grade_id", "").endswith("_hidden")]
        assert hidden and set(hidden) == {HIDDEN_LABEL}, path
    assert len(list(published.glob("grader/release/*/*.ipynb"))) == len(list(core.COURSE.glob("*/*.ipynb")))


def test_a_solution_line_left_in_the_class_repository_is_refused(tmp_path):
    """publish searches what it wrote, and what it found there (an instructor's own file)."""
    out = tmp_path / "class"
    out.mkdir()
    line = next(s for s, nb in secret_lines(core.SOLUTIONS).items() if nb.startswith("m02_1"))
    (out / "notes.py").write_text(f"# my notes\n{line}\n")
    with pytest.raises(PublishError, match=r"notes\.py: 1 line\(s\) of solutions"):
        publish(out, CLASS)


def test_badges_and_set_up_cells_carry_the_class_repository(published):
    for module in core.modules(core.COURSE):
        released = sorted(p.name for p in (core.COURSE / module).glob("*.ipynb"))
        assert sorted(p.name for p in (published / "course" / module).glob("*.ipynb")) == released
        for name in released:
            nb = nbformat.read(published / "course" / module / name, as_version=4)
            badge, setup = (c for c in nb.cells if c.metadata.get(colab.STAMP))
            assert colab.colab_url(CLASS, "main", module, name[:-6]) in badge.source
            assert f"git+https://github.com/{CLASS}.git@main" in setup.source
            hidden = [c for c in nb.cells if core.nbgrader_meta(c).get("grade_id", "").endswith("_hidden")]
            assert hidden and all("your instructor grades" in c.source for c in hidden)
    fetch = (published / "course" / "03_cuda_kernels").glob("*.ipynb")
    assert all(f"raw.githubusercontent.com/{CLASS}/main/course/03_cuda_kernels/" in p.read_text() for p in fetch)
    # the course's own repository is named nowhere
    own, _ = colab.settings()
    assert not [p for p in _files(published) if own in p.read_text(errors="replace")]
    readme = (published / "README.md").read_text()
    assert f"git clone https://github.com/{CLASS}.git" in readme
    assert readme.count(f"https://colab.research.google.com/github/{CLASS}/blob/main/course/") == \
        len(list(core.COURSE.glob("*/*.ipynb")))
    assert colab.settings(published / "pyproject.toml") == (CLASS, "main")


def test_the_class_makefile_installs_and_runs_the_lab_and_the_check(published):
    def dry(target):
        return subprocess.run(["make", "-n", "-C", str(published), target], capture_output=True, text=True)

    for target, expect in (("lab", "grader.lab"), ("check", "wcdl check")):
        run = dry(target)
        assert run.returncode == 0 and expect in run.stdout and "--require-hashes" in run.stdout, run.stderr
    for target in ("test", "release", "formgrader", "lock"):
        assert dry(target).returncode != 0


def test_publish_help():
    exe = Path(sys.executable).with_name("wcdl")
    run = subprocess.run([str(exe), "publish", "--help"], capture_output=True, text=True)
    assert run.returncode == 0 and "--repository" in run.stdout and "no hidden tests" in run.stdout
    run = subprocess.run([str(exe), "autograde", "--help"], capture_output=True, text=True)
    assert run.returncode == 0 and "--private-tests DIR" in run.stdout


def test_repository_addresses(tmp_path):
    for address in ("a/b", "https://github.com/a/b", "https://github.com/a/b.git", "git@github.com:a/b.git",
                    "https://github.com/a/b/"):
        assert github_repository(address) == "a/b"
    for bad in ("b", "https://gitlab.com/a/b", "a/b/c", "", "https://github.com/a"):
        with pytest.raises(PublishError, match="not a GitHub repository"):
            github_repository(bad)
    with pytest.raises(PublishError, match="--repository"):
        publish(tmp_path / "new", None)
    with pytest.raises(PublishError, match="outside the course"):
        publish(core.REPO / "class", CLASS)
    with pytest.raises(PublishError, match="no such module"):
        publish(tmp_path / "new", CLASS, modules=["99_nothing"])
    # a clone of the class repository: its origin is the address
    clone = tmp_path / "clone"
    subprocess.run(["git", "init", "-q", str(clone)], check=True)
    subprocess.run(["git", "-C", str(clone), "remote", "add", "origin", "git@github.com:dept/class-b.git"], check=True)
    (clone / "LICENSE").write_text("MIT\n")
    info = publish(clone, None, modules=[MODULE])
    assert (info["repository"], info["modules"], info["kept"]) == ("dept/class-b", [MODULE], ["LICENSE"])
    assert [p.name for p in (clone / "course").iterdir()] == [MODULE] and (clone / "LICENSE").exists()


def _run_published(published: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """`wcdl ARGS` of the class repository (its own grader and wcdl packages, found first)."""
    env = dict(os.environ, PYTHONPATH=str(published), **(env or {}))
    return subprocess.run([sys.executable, "-m", "grader", *args], cwd=published, env=env, capture_output=True,
                          text=True, timeout=600)


def test_instructor_commands_refuse_to_run_in_the_class_repository(published, tmp_path):
    run = subprocess.run([sys.executable, "-c", "import grader.core as c; print(c.__file__, c.PUBLISHED)"],
                         cwd=published, env=dict(os.environ, PYTHONPATH=str(published)), capture_output=True,
                         text=True)
    assert run.stdout.split() == [str(published / "grader" / "core.py"), "True"], run.stderr
    for args in (["autograde", str(tmp_path)], ["release"], ["publish", str(tmp_path / "x")]):
        run = _run_published(published, *args)
        assert run.returncode == 2 and "class repository" in run.stderr and "wcdl check" in run.stderr


def test_check_in_the_class_repository_runs_the_visible_tests(published, tmp_path):
    path = tmp_path / "mine" / f"{NB}.ipynb"
    path.parent.mkdir()
    nbformat.write(_solved(NB, course=published / "course"), path)
    run = _run_published(published, "check", "--json", str(path),
                         env={"WCDL_CHECK_CACHE": str(tmp_path / "cache")})
    assert run.returncode == 0, run.stderr[-3000:]
    [result] = json.loads(run.stdout)
    visible, hidden = _points(NB)
    assert hidden > 0 and result["problem"] is None
    assert (result["score"], result["max_score"]) == (visible, visible), result
    assert all(e["passed"] and not any(g.endswith("_hidden") for g in e["cells"]) for e in result["exercises"])
    assert result["notes"] == [f"hidden tests ({hidden:g} more points) are not in this repository: they run when "
                               "your instructor grades; this check ran the visible tests"]
    assert f"hidden tests ({hidden:g} more points) are not in this repository: they run when your instructor " \
           "grades" in " ".join(result["notes"])
    # the progress lines say so too, and never that a hidden test passed
    assert "m02_matmul_cost passed" in run.stderr
    assert "m02_matmul_cost_hidden: hidden tests run when your instructor grades" in run.stderr
    assert "_hidden passed" not in run.stderr


# ---------------------------------------------------------------- private hidden tests

CANARY = "PRIVATE-CANARY-7x7x7"
PRIVATE = f'''# {CANARY}: a shape no public test uses
flops, nbytes = matmul_cost(7, 7, 7, torch.float32)
assert_scalar(nbytes, 3 * 7 * 7 * 4, name="{CANARY} bytes of a 7-cube matmul in float32")
'''
# Right on every shape the public tests (visible and hidden) use, wrong on a 7-cube.
OVERFIT = '''

_matmul_cost = matmul_cost


def matmul_cost(m, k, n, dtype=torch.float32):
    flops, nbytes = _matmul_cost(m, k, n, dtype)
    return (flops, nbytes + 1) if (m, k, n) == (7, 7, 7) else (flops, nbytes)
'''


def test_bad_private_tests_are_refused_before_grading(tmp_path):
    sources = core.source_notebooks()
    with pytest.raises(private_tests.PrivateTestsError, match="no such folder"):
        private_tests.load(tmp_path / "missing", sources)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(private_tests.PrivateTestsError, match="no private tests"):
        private_tests.load(empty, sources)
    bad = tmp_path / "bad"
    (bad / "sub").mkdir(parents=True)
    (bad / "m02_matmul_cost_hiden.py").write_text("pass\n")
    (bad / "m02_matmul_cost.py").write_text("pass\n")            # the visible test: not a hidden one
    (bad / "sub" / "m02_regime_hidden.py").write_text("x = (1,\n")
    (bad / "m02_roofline_hidden.py").write_text("### BEGIN HIDDEN TESTS\npass\n")
    (bad / "m02_pointwise_cost_hidden.py").write_text("\n")
    (bad / "notes.txt").write_text("todo\n")
    (bad / "README.md").write_text("private tests of the spring class\n")
    (bad / ".git").mkdir()
    (bad / ".git" / "config").write_text("[core]\n")
    with pytest.raises(private_tests.PrivateTestsError) as err:
        private_tests.load(bad, sources)
    msg = str(err.value)
    assert "nothing was graded" in msg
    assert "m02_matmul_cost_hiden.py: the course has no hidden test 'm02_matmul_cost_hiden' " \
           "(did you mean m02_matmul_cost_hidden.py?)" in msg
    assert "m02_matmul_cost.py: the course has no hidden test 'm02_matmul_cost'" in msg
    assert f"sub{os.sep}m02_regime_hidden.py, line 1:" in msg
    assert "m02_roofline_hidden.py: holds an nbgrader marker" in msg
    assert "m02_pointwise_cost_hidden.py: empty" in msg
    assert "notes.txt: not a .py file" in msg
    assert "README" not in msg and ".git" not in msg
    # `wcdl autograde` stops before it writes anything
    subs = tmp_path / "subs" / "alice"
    subs.mkdir(parents=True)
    nbformat.write(_solved(NB), subs / f"{NB}.ipynb")
    out = tmp_path / "grading"
    assert cli.main(["autograde", str(subs.parent), "--out", str(out), "--private-tests", str(bad),
                     "--without-os-sandbox", "--quiet"]) == 1
    assert not out.exists()


def test_merge_appends_inside_the_hidden_block(tmp_path):
    ws = core.make_workspace(tmp_path / "ws", [MODULE])
    assert private_tests.merge(ws / "solutions", {"m02_matmul_cost_hidden": PRIVATE}) == ["m02_matmul_cost_hidden"]
    nb = nbformat.read(ws / "solutions" / MODULE / f"{NB}.ipynb", as_version=4)
    [cell] = [c for c in nb.cells if core.nbgrader_meta(c).get("grade_id") == "m02_matmul_cost_hidden"]
    original = nbformat.read(core.source_notebooks()[NB], as_version=4)
    [before] = [c for c in original.cells if core.nbgrader_meta(c).get("grade_id") == cell.metadata.nbgrader.grade_id]
    assert cell.source.startswith(before.source[:before.source.rindex("### END HIDDEN TESTS")].rstrip())
    assert cell.source.rstrip().endswith(PRIVATE.strip() + "\n### END HIDDEN TESTS")
    assert cell.metadata.nbgrader.points == before.metadata.nbgrader.points


def _exercise_row(out: Path, student: str = "alice") -> dict[str, str]:
    with (out / "grades_by_exercise.csv").open() as fh:
        [row] = [r for r in csv.DictReader(fh) if r["student"] == student]
    return row


def test_a_private_test_fails_what_every_public_test_passes(tmp_path):
    subs = tmp_path / "subs" / "alice"
    subs.mkdir(parents=True)
    nbformat.write(_solved(NB, {"m02_matmul_cost_answer": OVERFIT}), subs / f"{NB}.ipynb")
    private = tmp_path / "private"
    private.mkdir()
    (private / "m02_matmul_cost_hidden.py").write_text(PRIVATE)
    out = tmp_path / "grading"
    visible, hidden = _points(NB)

    # the public tests, visible and hidden, pass it
    public = autograde.autograde(subs.parent, out)
    [r] = public["results"]
    assert r["score"] == r["max_score"] == visible + hidden, r
    row = _exercise_row(out)

    # with the private test, the hidden cell of that exercise (and only it) loses its points;
    # a right answer (bob's, new in this run) keeps all of them
    (subs.parent / "bob").mkdir()
    nbformat.write(_solved(NB), subs.parent / "bob" / f"{NB}.ipynb")
    graded = autograde.autograde(subs.parent, out, private_dir=private, workers=2)
    r, right = sorted(graded["results"], key=lambda x: x["student"])
    assert (r["student"], right["student"]) == ("alice", "bob")
    assert right["score"] == right["max_score"] == visible + hidden, right
    ex = {e["id"]: e for e in r["exercises"]}
    lost = ex["m02_matmul_cost"]["cells"]["m02_matmul_cost_hidden"][1]
    assert tuple(ex["m02_matmul_cost"]["cells"]["m02_matmul_cost_hidden"]) == (0.0, lost) and lost > 0
    assert ex["m02_matmul_cost"]["score"] == ex["m02_matmul_cost"]["max_score"] - lost
    assert all(e["passed"] for i, e in ex.items() if i != "m02_matmul_cost")
    assert (r["score"], r["max_score"]) == (visible + hidden - lost, visible + hidden)
    # same columns and maxima; only that exercise's score changed
    new = _exercise_row(out)
    assert new.keys() == row.keys() and new["max_total"] == row["max_total"]
    assert float(new["m02_matmul_cost"]) == float(row["m02_matmul_cost"]) - lost
    with (out / "grades.csv").open() as fh:
        [grades] = [g for g in csv.DictReader(fh) if g["assignment"] == MODULE and g["student_id"] == "alice"]
    assert float(grades["score"]) == visible + hidden - lost
    # the learner hears what a failed hidden test says today, and nothing of the private test
    message = ex["m02_matmul_cost"]["message"]
    assert message.startswith("hidden tests failed: wrong result on inputs the visible tests do not show")
    learner = [message, *r["notes"], *right["notes"]] + [p.read_text(errors="replace")
                                                         for p in _files(out / "feedback")]
    assert len(learner) >= 3 and not [t for t in learner if CANARY in t or "7, 7, 7" in t or "7-cube" in t]
    feedback = next((out / "feedback" / "alice" / MODULE).glob("*.html")).read_text()
    assert "hidden tests: FAILED" in feedback
    # the source the instructor keeps is not changed
    assert CANARY not in core.source_notebooks()[NB].read_text()
    # the same private tests again: nothing to grade (resumed); the score stays
    journal = (out / "progress.jsonl").read_text()
    again = autograde.autograde(subs.parent, out, private_dir=private)
    assert (out / "progress.jsonl").read_text() == journal
    assert [x["score"] for x in again["results"]] == [r["score"], right["score"]]
