"""The grader under attack: the adversarial corpus (tests/adversarial/), graded as one batch.

For every case: the points it must get and no unearned one, the grader does
not crash, the batch goes on, and the learner's feedback says what happened.
Then what must hold for the whole batch: nothing written outside the
submission folders, no hidden test code in anything a learner receives,
nothing left running, and exports with one row per student.

Also here: hidden tests never reach a learner, for every notebook of the
course (release notebooks, generated feedback, the check command's output).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from grader import core
from grader.guard import scan_code, scan_notebook
from grader.preprocessors import HIDDEN_BEGIN, hidden_lines
from tests.adversarial import CASES, LAYOUT, NB, SECRET_ENV, XSS, max_points, write_corpus, write_layout
from tests.grading import SOURCES

MODULE = "01_matmul_is_all_you_need"
WCDL = os.path.join(os.path.dirname(sys.executable), "wcdl")
PROTECTED = [core.REPO / "wcdl" / "checks.py", core.REPO / "wcdl" / "ops.py", core.SOLUTIONS / MODULE / f"{NB}.ipynb",
             core.REPO / "grader" / "nbgrader_config.py"]
OUTSIDE = [Path("~/.ipython/profile_default/startup/00-wcdl-corpus.py").expanduser(),
           Path("/tmp/wcdl-corpus-poison.py")]


# every student folder of the batch that is a usable student id
STUDENTS = sorted([c.name for c in CASES] + [n for n, (_, says) in LAYOUT.items() if says is not None])


def _digest(paths) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() if p.exists() else "-" for p in paths}


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    root = tmp_path_factory.mktemp("adversarial")
    subs, out = root / "submissions", root / "grading"
    write_corpus(subs)
    write_layout(subs)
    for p in OUTSIDE:
        assert not p.exists(), f"remove {p} (left by an earlier run?)"
    before = _digest(PROTECTED)
    # a check cache holding module 01's solutions, for the thieves to look for
    cache = root / "check-cache"
    # the instructor's shell holds tokens (a notebook prints its environment)
    env = dict(os.environ, WCDL_CHECK_CACHE=str(cache), **SECRET_ENV)
    subprocess.run([sys.executable, "-c", f"from grader import core; core.generated_workspace(__import__('pathlib')"
                    f".Path({str(root / 'ws')!r}), {MODULE!r})"], env=env, check=True, timeout=600)
    assert list(cache.glob(f"{MODULE}-*/solutions/{MODULE}/{NB}.ipynb"))
    proc = subprocess.run([WCDL, "autograde", str(subs), "--out", str(out), "--workers", "2", "--quiet",
                           "--cell-timeout", "20", "--timeout", "400"], capture_output=True, text=True, timeout=3000,
                          env=env)
    import resource

    # the largest process of the batch (the coordinator, a worker or a kernel), in KiB
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    report = json.loads((out / "report.json").read_text()) if (out / "report.json").exists() else None
    return {"proc": proc, "out": out, "report": report, "before": before, "peak_kib": peak}


def test_the_batch_completes(batch):
    proc = batch["proc"]
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr[-4000:]
    assert sorted(batch["report"]["students"]) == STUDENTS


def _learner_text(out: Path, student: str, report: dict) -> str:
    """Everything the learner gets back: problems.txt, the feedback HTML, the messages."""
    parts = []
    fb = out / "feedback" / student
    for f in sorted(fb.rglob("*")) if fb.exists() else []:
        if f.is_file():
            parts.append(f.read_text(errors="replace"))
    for r in report["results"]:
        if r["student"] == student:
            parts += [r.get("problem") or "", *r.get("notes", []), *(e.get("message") or "" for e in r["exercises"])]
    return "\n".join(parts)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_case(batch, case):
    report, out = batch["report"], batch["out"]
    assert report is not None, batch["proc"].stderr[-3000:]
    results = [r for r in report["results"] if r["student"] == case.name]    # one per notebook submitted
    assert len(results) == 1 + len(case.extra), results
    result = results[0] if len(results) == 1 else {
        "exercises": [e for r in results for e in r["exercises"]], "score": sum(r["score"] for r in results),
        "problem": " ".join(r.get("problem") or "" for r in results), "notes": [n for r in results for n in r["notes"]]}
    got = {e["id"]: e["score"] for e in result["exercises"]}
    top = max_points()
    assert all(got[ex] <= top[ex] for ex in got)
    if not case.scores:
        assert result["problem"] and result["score"] == 0, result
    else:
        assert got == case.scores, (f"{case.name}: expected {case.scores}, got {got}; messages: "
                                    f"{[(e['id'], e['message']) for e in result['exercises']]}; notes: {result['notes']}")
    if case.cheat:
        assert result["score"] == 0
    text = _learner_text(out, case.name, report)
    if case.says:
        assert case.says in text, f"{case.name}: the feedback does not say {case.says!r}:\n{text[-3000:]}"
    for secret in case.never:
        assert secret not in text, f"{case.name}: {secret!r} reached the learner"
    _no_traceback(out, case.name, report)
    rows = [r for r in csv.DictReader((out / "grades.csv").open())
            if r["student_id"] == case.name and r["assignment"] == MODULE]
    total = sum(r["score"] for r in report["results"] if r["student"] == case.name)
    assert len(rows) == 1 and float(rows[0]["score"]) == total


def _no_traceback(out: Path, student: str, report: dict) -> None:
    """problems.txt and the messages say what happened in a line: no traceback (with the grader's
    paths) of nbgrader or the grader. (Paths the learner's own code tried are quoted in "blocked" notes.)"""
    fb = out / "feedback" / student / "problems.txt"
    texts = [fb.read_text()] if fb.exists() else []
    for r in report["results"]:
        if r["student"] == student:
            texts += [r.get("problem") or "", *r.get("notes", []), *(e.get("message") or "" for e in r["exercises"])]
    for t in texts:
        assert "Traceback (most recent call last)" not in t and not re.search(r'File "[^"]+", line \d+', t) \
            and "site-packages" not in t, f"{student}: {t[:2000]}"


@pytest.mark.parametrize("name", sorted(LAYOUT), ids=ascii)
def test_submission_layout(batch, name):
    """Links, FIFOs, huge files, a folder name with a newline: refused with a message, the batch goes on."""
    out, report, proc = batch["out"], batch["report"], batch["proc"]
    says = LAYOUT[name][1]
    rows = list(csv.DictReader((out / "grades.csv").open()))
    assert all(r["student_id"] in STUDENTS for r in rows), "a row of grades.csv was split"
    if says is None:
        # not a usable student id: in no export but rejected.csv, and named on the terminal
        assert name not in report["students"] and name in report["rejected"]
        assert [r for r in csv.DictReader((out / "rejected.csv").open()) if r["folder"] == ascii(name)]
        assert "NOT GRADED" in proc.stdout and ascii(name) in proc.stdout
        return
    results = [r for r in report["results"] if r["student"] == name]
    assert all(r["score"] == 0 for r in results)
    [row] = [r for r in rows if r["student_id"] == name and r["assignment"] == MODULE] or [{"score": "0"}]
    assert float(row["score"]) == 0
    problems = (out / "feedback" / name / "problems.txt").read_text()
    assert says in problems, problems
    assert not (out / "feedback" / name / MODULE).exists()


def test_the_batch_never_read_a_huge_file_whole(batch):
    """A 1 GiB sparse notebook is refused by its size, before it is read (it once took the batch to 2 GiB)."""
    assert batch["peak_kib"] < 1 << 20, f"a process of the batch reached {batch['peak_kib'] >> 10} MiB"


def test_nothing_the_kernel_made_is_followed_or_handed_back(batch):
    """The grading folders hold regular files only, and each feedback folder only the graded pages."""
    out = batch["out"]
    for sub in ("submitted", "autograded", "feedback"):
        for dirpath, dirnames, filenames in os.walk(out / sub):
            for name in dirnames + filenames:
                assert not os.path.islink(os.path.join(dirpath, name)), f"a link in {dirpath}: {name}"
    for student in STUDENTS:
        for f in (out / "feedback" / student).rglob("*") if (out / "feedback" / student).exists() else []:
            if f.is_file():
                assert f.name == "problems.txt" or (f.suffix == ".html" and f.parent.name == MODULE), f
    # the gradebook is still a gradebook (a link made the graded notebook overwrite it before)
    assert (out / "gradebook.db").read_bytes()[:16] == b"SQLite format 3\0"


class _Active(__import__("html.parser").parser.HTMLParser):
    """Active content in an HTML page: event handlers, javascript: URLs, frames, learner scripts."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found, self.script = [], False

    def handle_starttag(self, tag, attrs):
        for k, v in attrs:
            if k.startswith("on"):
                self.found.append(f"<{tag} {k}>")
            if k in ("href", "src", "action", "formaction", "data", "srcdoc") and v and \
                    "javascript:" in "".join(v.split()).lower():
                self.found.append(f"<{tag} {k}={v}>")
        if tag in ("iframe", "object", "embed", "form", "base"):
            self.found.append(f"<{tag}>")
        self.script = tag == "script"

    def handle_endtag(self, tag):
        self.script = False

    def handle_data(self, data):
        if self.script and XSS in data:
            self.found.append("<script> holding learner code")


def test_no_learner_script_reaches_the_instructors_pages(batch):
    """Feedback pages and graded notebooks (the formgrader shows them) carry no active learner content."""
    out = batch["out"]
    pages = list((out / "feedback").rglob("*.html"))
    assert any("script_in_feedback" in str(p) for p in pages)
    for page in pages:
        parser = _Active()
        parser.feed(page.read_text())
        assert not parser.found, f"{page}: {parser.found}"
    graded = out / "autograded" / "script_in_feedback" / MODULE / f"{NB}.ipynb"
    for cell in nbformat.read(graded, as_version=4).cells:
        for o in cell.get("outputs", []):
            data = o.get("data", {})
            assert "application/javascript" not in data and "image/svg+xml" not in data
            parser = _Active()
            parser.feed(str(data.get("text/html", "")) + str(data.get("text/markdown", "")))
            assert not parser.found, parser.found
        if cell.cell_type == "markdown":
            parser = _Active()
            parser.feed(cell.source)
            assert not parser.found and "<script" not in cell.source, cell.source


def test_nothing_was_written_outside_the_submission_folders(batch):
    assert _digest(PROTECTED) == batch["before"]
    for p in OUTSIDE:
        assert not p.exists(), f"a submission wrote {p}"
    assert not (batch["out"] / "autograded" / "control_solved" / MODULE.replace("01", "..") / "pwned.txt").exists()
    assert not list((batch["out"] / "autograded").rglob("pwned.txt"))


def test_no_hidden_test_code_reaches_a_learner(batch):
    hidden = hidden_lines(nbformat.read(SOURCES[NB], as_version=4))
    assert hidden
    out = batch["out"]
    for case in CASES:
        text = _learner_text(out, case.name, batch["report"])
        leaked = [ln for ln in hidden if ln in text]
        assert not leaked, f"{case.name}: hidden test code in the feedback: {leaked[:3]}"


def test_the_exports_have_one_row_per_student(batch):
    out = batch["out"]
    rows = [r for r in csv.DictReader((out / "grades.csv").open()) if r["assignment"] == MODULE]
    assert sorted(r["student_id"] for r in rows) == STUDENTS
    table = list(csv.DictReader((out / "grades_by_exercise.csv").open()))
    assert sorted(r["student"] for r in table) == STUDENTS
    assert {"m01_layer_norm", "m01_dropout", "total", "max_total"} <= set(table[0])


def test_no_output_bloats_the_notebook(batch):
    """A traceback quotes its message whole in a line: capped like every other output."""
    out = batch["out"]
    for folder in ("autograded", "feedback"):
        size = sum(f.stat().st_size for f in (out / folder / "huge_traceback").rglob("*") if f.is_file())
        assert size < 2_000_000, f"{folder}/huge_traceback holds {size:,} bytes"


def test_suspicious_code_is_listed_for_review(batch):
    review = batch["report"]["review"]
    flagged = {key.split("/")[0] for key in review}
    for name in ("patch_wcdl_checks", "swap_sys_modules", "steal_solution_files", "segfault", "kill_the_grader",
                 "rebind_helpers_while_tested", "rebind_through_frames", "input_transformer_skips_tests",
                 "method_added_to_tensor", "patch_numpy_internals", "tensor_subclass_liar"):
        assert name in flagged, f"{name} is not flagged for review: {sorted(flagged)}"
    assert "control_solved" not in flagged and "control_untouched" not in flagged


# ---------------------------------------------------------------- hidden tests, every notebook

NOTEBOOKS = sorted(SOURCES)


def _hidden(name):
    return hidden_lines(nbformat.read(SOURCES[name], as_version=4))


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_hidden_tests_never_reach_a_learner(name, tmp_path):
    """Release, feedback and check output, for every notebook in solutions/."""
    source = nbformat.read(SOURCES[name], as_version=4)
    hidden = hidden_lines(source)
    if not hidden:
        pytest.skip(f"{name} has no hidden tests")
    release = (core.COURSE / SOURCES[name].parent.name / f"{name}.ipynb").read_text()
    assert not [h for h in hidden if h in release], f"{name}: hidden test code in the release"
    assert HIDDEN_BEGIN not in release

    # feedback: a graded notebook where the hidden tests failed with tracebacks quoting
    # them, and where other cells printed them (as a notebook peeking at them would)
    graded = nbformat.read(SOURCES[name], as_version=4)
    quote = "\n".join(sorted(hidden))
    for cell in graded.cells:
        if cell.cell_type != "code":
            continue
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=quote),
                        nbformat.v4.new_output("error", ename="CheckFailed", evalue=quote,
                                               traceback=quote.splitlines()),
                        nbformat.v4.new_output("display_data", data={"text/plain": quote, "text/html": quote})]
    # the feedback preprocessors exactly as the course config lists them and nbgrader registers them
    # (without enabling them: a preprocessor that is off by default would do nothing)
    from nbconvert.exporters import HTMLExporter
    from nbgrader.preprocessors import GetGrades
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader(str(core.CONFIG)).load_config()
    exporter = HTMLExporter(config=config)
    for pp in config.GenerateFeedback.preprocessors:
        if pp is not GetGrades:          # it reads the gradebook; it does not touch outputs
            exporter.register_preprocessor(pp)
    html, _ = exporter.from_notebook_node(graded)
    leaked = [h for h in hidden if h in html]
    assert not leaked, f"{name}: hidden test code in the feedback: {leaked[:3]}"

    # what `wcdl check` prints: the learner messages of failed tests
    for cell in graded.cells:
        meta = core.nbgrader_meta(cell)
        if meta.get("grade") and not meta.get("solution"):
            for ename in ("CheckFailed", "ValueError", "NameError", "AssertionError"):
                msg = core.learner_message((ename, quote), HIDDEN_BEGIN in cell.source, hidden) or ""
                assert not [h for h in hidden if h in msg], f"{name}: {ename} message quotes hidden code"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_solutions_raise_no_review_flags(name):
    """The static scan must stay quiet on honest answers (else its list is noise)."""
    source = nbformat.read(SOURCES[name], as_version=4)
    answers = nbformat.read(SOURCES[name], as_version=4)
    for cell in answers.cells:
        if core.nbgrader_meta(cell).get("solution"):
            cell.source = "\n".join(ln for ln in cell.source.splitlines() if "### " not in ln)
    release_path = core.COURSE / SOURCES[name].parent.name / f"{name}.ipynb"
    release = nbformat.read(release_path, as_version=4) if release_path.exists() else None
    assert scan_notebook(answers, source, release) == []


def test_the_scan_sees_through_the_usual_disguises():
    flagged = lambda src: [w for _, w in scan_code(src)]  # noqa: E731
    for disguised in ("import ctypes", "__import__('o' + 's').system('cat x')", "getattr(sys, 'set' + 'trace')(f)",
                      "torch.allclose = lambda *a: True", "(lambda: 0).__code__", "x = get_ipython()",
                      "open('/etc/passwd').read()",
                      "class T(torch.Tensor):\n    @classmethod\n    def __torch_function__(cls, f, t, a=(), k=None): pass",
                      "class A(np.ndarray):\n    __array_ufunc__ = None",
                      "T = type('T', (object,), {'__eq__': lambda s, o: True})",
                      "import threading\nthreading.Thread(target=f).start()", "import numpy._core.numeric as n"):
        assert flagged(disguised), disguised
    assert not flagged("import torch\ny = torch.nn.functional.relu(x).sum(dim=-1)")


# ---------------------------------------------------------------- the same attacks, other set-ups

def _run(cases, env_var, tmp_path):
    subs, out = tmp_path / "submissions", tmp_path / "grading"
    write_corpus(subs, cases)
    proc = subprocess.run([WCDL, "autograde", str(subs), "--out", str(out), "--workers", "2", "--quiet",
                           "--cell-timeout", "20", "--timeout", "400"], capture_output=True, text=True,
                          timeout=3000, env=dict(os.environ, **{env_var: "1"}))
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    by_student = {}
    for r in report["results"]:
        by_student.setdefault(r["student"], {})[r["notebook"]] = r
    return out, report, {s: rs[NB] for s, rs in by_student.items()}     # the m01_2 result of each


NO_LANDLOCK = ["steal_solution_files", "steal_with_subprocess", "write_outside_submission", "kill_the_grader",
               "read_around_the_sandbox"]


def test_without_landlock_the_audit_hook_holds_the_line(tmp_path):
    """macOS, old kernels, some containers: no Landlock. The same cases, the same outcomes."""
    cases = [c for c in CASES if c.name in NO_LANDLOCK]
    before = _digest(PROTECTED)
    out, report, results = _run(cases, "WCDL_NO_LANDLOCK", tmp_path)
    for case in cases:
        got = {e["id"]: e["score"] for e in results[case.name]["exercises"]}
        assert got == case.scores, (case.name, got, results[case.name]["notes"])
        text = _learner_text(out, case.name, report)
        assert "blocked" in text or "refused" in text, (case.name, text[-2000:])
        assert any(line.startswith("sandbox: audit hook only") for line in report["review"][f"{case.name}/{NB}"])
    assert _digest(PROTECTED) == before
    for p in OUTSIDE:
        assert not p.exists()


UNGUARDED = ["redefine_helpers", "patch_numpy_torch_testing", "input_transformer_skips_tests",
             "plant_module_for_next_notebook", "shadow_builtins", "method_added_to_tensor", "patch_numpy_internals"]


def test_the_cheats_are_real(tmp_path):
    """Graded without the guard (WCDL_NO_GUARD=1), these cheats earn points they should not:
    the corpus attacks the grader for real, so passing the tests above means something."""
    cases = [c for c in CASES if c.name in UNGUARDED]
    _, _, results = _run(cases, "WCDL_NO_GUARD", tmp_path)
    for case in cases:
        assert results[case.name]["score"] > 0, f"{case.name} earns nothing even without the guard"


# ---------------------------------------------------------------- the trusted side on its own (quick)

def test_kernels_get_a_listed_environment():
    from grader.guard import kernel_env

    shell = {"PATH": "/usr/bin", "HOME": "/home/i", "LC_ALL": "C.UTF-8", "OMP_NUM_THREADS": "2",
             "NUMBA_ENABLE_CUDASIM": "1", "WCDL_DATA_DIR": "/data", "HF_HUB_OFFLINE": "1", "COURSE_X": "y",
             **SECRET_ENV, "AWS_SECRET_ACCESS_KEY": "k", "SSH_AUTH_SOCK": "/tmp/agent", "JUPYTER_TOKEN": "t"}
    env = kernel_env(shell, extra=["COURSE_X"])
    assert set(env) == {"PATH", "HOME", "LC_ALL", "OMP_NUM_THREADS", "NUMBA_ENABLE_CUDASIM", "WCDL_DATA_DIR",
                        "HF_HUB_OFFLINE", "COURSE_X"}


def test_student_ids_end_at_the_end():
    assert core.STUDENT_ID.match("alice.b-c_d@x")
    for bad in ("x\n", "x\ny", "", ".hidden", "a b", "a/b", "x" * 101):
        assert not core.STUDENT_ID.match(bad), repr(bad)


def test_grader_notes_are_escaped():
    from grader.guard import notes_markdown
    from grader.preprocessors import clean_html

    md = notes_markdown(['blocked: open(\'<img src=x onerror=alert(1)>\')', "<script>alert(2)</script>\n\nmore"])
    assert "<img" not in md and "<script" not in md and "\n\n" not in md.split("\n\n", 1)[1]
    assert clean_html(md) == md          # nothing in it for the sanitizer to remove either
    assert clean_html('<a href="javascript:alert(1)">x</a><img src=y onerror=z>') == '<a>x</a><img src="y">'


# ---------------------------------------------------------------- the sandbox on its own (quick)

SANDBOXED_SCRIPT = r"""
import gc, json, os, sys
sys.audit("wcdl.guard.setup")
out = {}
def attempt(name, fn):
    try:
        fn()
        out[name] = "allowed"
    except Exception as e:
        out[name] = type(e).__name__
attempt("read_denied", lambda: open(sys.argv[1]).read())
attempt("write_denied", lambda: open(sys.argv[2], "w").write("x"))
attempt("write_own_folder", lambda: open("mine.txt", "w").write("x"))
attempt("read_python", lambda: open(os.__file__).read())
attempt("gc", gc.get_objects)
attempt("trace", lambda: sys.settrace(lambda *a: None))
attempt("kill_parent", lambda: os.kill(os.getppid(), 0))
sys.addaudithook(lambda *a: None)          # silently refused
box = []
sys.audit("wcdl.guard.test", 0, box, "tok0")       # passes
sys.audit("wcdl.guard.test", 1, box, "tok1")       # fails
out["test_1_failed_with"] = type(box[0]).__name__ if box else None
sys.audit("wcdl.guard.final")
print(json.dumps(out))
"""


@pytest.mark.parametrize("landlock", [True, False], ids=["landlock", "audit-hook-only"])
def test_the_sandbox_alone(tmp_path, landlock):
    import secrets

    from grader.guard import parse_records
    from grader.sandbox import POLICY_ENV, landlock_abi

    if landlock and landlock_abi() < 1:
        pytest.skip("no Landlock on this system")
    secret, work = tmp_path / "secret", tmp_path / "work"
    secret.mkdir()
    work.mkdir()
    (secret / "solution.txt").write_text("the answer")
    key, nonce = secrets.token_bytes(32), "n0nce"
    tests = [{"id": "t0", "source": "from wcdl.checks import assert_close\nassert_close(1.0, 1.0)\n", "hidden": False,
              "token": "tok0"},
             {"id": "t1", "source": "assert_close(1.0, 2.0)\n", "hidden": True, "token": "tok1"}]
    policy = {"key": key.hex(), "nonce": nonce, "tests": tests,
              "bindings": [["assert_close", "wcdl.checks", "assert_close"]], "snapshot_modules": ["wcdl.checks"],
              "snapshot_classes": [], "write_roots": [], "deny_roots": [str(secret), str(tmp_path / "guard")],
              "allow_roots": [str(core.REPO / "wcdl"), str(core.REPO / "grader")],
              "record_file": str(tmp_path / "guard" / "records.log"), "landlock": landlock}
    (tmp_path / "guard").mkdir()
    (tmp_path / "guard" / "policy.json").write_text(json.dumps(policy))
    (work / "script.py").write_text(SANDBOXED_SCRIPT)
    boot = "import sys; del sys.path[0]; from grader.sandbox import main; main()"
    proc = subprocess.run([sys.executable, "-c", boot, "--", sys.executable, "script.py",
                           str(secret / "solution.txt"), str(secret / "new.txt")], cwd=work, capture_output=True,
                          text=True, timeout=300, env=dict(os.environ, **{POLICY_ENV: str(tmp_path / "guard" / "policy.json")}))
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    denied = ("PermissionError", "GuardRefused")        # the OS's refusal, or the hook's (a PermissionError)
    assert got["read_denied"] in denied and got["write_denied"] in denied
    assert got["write_own_folder"] == "allowed" and got["read_python"] == "allowed"
    assert got["gc"] == "GuardRefused" and got["trace"] == "GuardRefused"
    assert got["kill_parent"] in ("GuardRefused", "PermissionError")
    assert got["test_1_failed_with"] == "CheckFailed"
    assert not (secret / "new.txt").exists()
    records, final, bad = parse_records((tmp_path / "guard" / "records.log").read_text(), key, nonce)
    assert bad == 0 and records[0]["ok"] and not records[1]["ok"] and records[1]["ename"] == "CheckFailed"
    assert final is not None and final["sandbox"].startswith("Landlock" if landlock else "audit hook only")
    assert "refused: sys.addaudithook" in final["notes"]
    # a forged record (wrong key) is ignored
    forged, _, bad = parse_records("wcdl-guard-record 00 " + ";".join(x.encode().hex() for x in
                                   ["test", nonce, "1", "t1", "1", "", ""]), key, nonce)
    assert forged == {} and bad == 1
