"""The grading kernel's sandbox (grader/sandbox.py) under attack, quickly: an IPython shell
runs notebook cells inside the sandbox (as a grading kernel would, without nbgrader), with
the grader's own test stubs, and the signed records say what each test earned.

Every attack here earned points or read what it must not with the guard as it was
before these defences (see README, "Threat model"); each test says what must hold now.
tests/test_adversarial.py grades whole notebooks that attack the same way.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from grader import core
from grader.guard import FINAL_SOURCE, SETUP_SOURCE, STUB_SOURCE, parse_records
from grader.sandbox import POLICY_ENV, landlock_abi, os_sandbox_available
from tests.adversarial import GRAB_FROM, TRACEBACK_WALK

MARKER = "SECRET-HIDDEN-MARKER"
VISIBLE = """\
vals = [layer(float(x)) for x in range(1, 4)]
assert_close(sum(vals), 14.0, name="sum of layer(1), layer(2), layer(3)")
for got, want in zip(vals, [1.0, 4.0, 9.0]):
    assert_close(got, want, name="layer(x)")
expect(len(vals) == 3 and all(isinstance(v, float) for v in vals), "layer returns floats")
"""
HIDDEN = f"""\
### BEGIN HIDDEN TESTS
# {MARKER}
assert_close(layer(5.0), 25.0, name="layer(5)")
### END HIDDEN TESTS
"""
RIGHT = "def layer(x):\n    return x * x\n"
WRONG = "def layer(x):\n    return 0.0\n"

SHELL = r"""
import json, sys
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
for src in json.load(open("cells.json")):
    r = shell.run_cell(src)
    err = r.error_in_exec or r.error_before_exec
    print("CELL-RESULT", json.dumps(type(err).__name__ if err is not None else None), flush=True)
"""

# what an attacker does once they hold a frame of the guard: its namespace holds the key,
# the record writer and the tests
GRAB = GRAB_FROM + r"""
def _forge(g, how):
    print("LEAK", how, flush=True)
    try:
        if any("SECRET-HIDDEN-MARKER" in t["source"] for t in g["P"]["tests"]):
            print("LEAK hidden tests via", how)
        for i, t in enumerate(g["P"]["tests"]):
            g["_emit"](["test", g["NONCE"], str(i), t["id"], "1", "", ""])
    except Exception as e:
        print("forge failed", type(e).__name__, e)
def _try(how, fn):
    try:
        g = fn()
        if g:
            _forge(g, how)
        else:
            print("nothing via", how)
    except Exception as e:
        print("refused", how, type(e).__name__)
"""


def run_notebook(tmp_path: Path, answer: str, before: str = "", landlock: bool = True, files: dict | None = None,
                 snapshot: tuple = (), env: dict | None = None, secret_dir: Path | None = None,
                 tests: tuple[str, str] = (VISIBLE, HIDDEN), between: str | None = None):
    """Cells: set-up, `before`, the answer, the visible test, `between` (when given), the hidden
    test (tests as stubs), final.
    Returns (records by index, final record, stdout, each cell's error name or None)."""
    if landlock and landlock_abi() < 1:
        pytest.skip("no Landlock on this system")
    guard, work = tmp_path / "guard", tmp_path / "work"
    guard.mkdir(parents=True)
    work.mkdir(parents=True)
    for name, text in (files or {}).items():
        (work / name).write_text(text)
    key, nonce = secrets.token_bytes(32), secrets.token_hex(8)
    tests = [{"id": "visible", "source": tests[0], "hidden": False, "token": secrets.token_hex(16)},
             {"id": "hidden", "source": tests[1], "hidden": True, "token": secrets.token_hex(16)}]
    policy = {"key": key.hex(), "nonce": nonce, "tests": tests,
              "bindings": [["assert_close", "wcdl.checks", "assert_close"], ["expect", "wcdl.checks", "expect"]],
              "snapshot_modules": ["wcdl.checks", *snapshot], "snapshot_classes": [], "write_roots": [],
              "deny_roots": [str(guard)] + ([str(secret_dir)] if secret_dir else []),
              "allow_roots": [str(core.REPO / "wcdl"), str(core.REPO / "grader")],
              "trusted_code": [str(core.REPO / "wcdl")],
              "record_file": str(guard / "records.log"), "landlock": landlock}
    (guard / "policy.json").write_text(json.dumps(policy))
    cells = [SETUP_SOURCE, GRAB + before, answer,
             STUB_SOURCE.format(index=0, token=tests[0]["token"]), *([] if between is None else [between]),
             STUB_SOURCE.format(index=1, token=tests[1]["token"]), FINAL_SOURCE]
    (work / "cells.json").write_text(json.dumps(cells))
    (work / "shell.py").write_text(SHELL)
    boot = "import sys; del sys.path[0]; from grader.sandbox import main; main()"
    proc = subprocess.run([sys.executable, "-c", boot, "--", sys.executable, "shell.py"], cwd=work,
                          capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, **(env or {}), IPYTHONDIR=str(work / ".ipython"), MPLCONFIGDIR=str(work / ".mpl"),
                                   **{POLICY_ENV: str(guard / "policy.json")}))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    records, final, _ = parse_records((guard / "records.log").read_text(), key, nonce)
    results = [json.loads(line.split(" ", 1)[1]) for line in proc.stdout.splitlines() if line.startswith("CELL-RESULT")]
    return records, final, proc.stdout, results


def earned(records) -> list[str]:
    return [r["id"] for r in records.values() if r["ok"]]


def assert_held(records, final, out):
    assert "LEAK" not in out and MARKER not in out, out[-3000:]
    assert earned(records) == [], (records, out[-3000:])
    assert final is not None and sorted(final["ran"]) == [0, 1], final


# ---------------------------------------------------------------- the controls

def test_honest_answer_earns_both_tests_without_notes(tmp_path):
    records, final, out, cells = run_notebook(tmp_path, RIGHT)
    assert earned(records) == ["visible", "hidden"], out[-3000:]
    assert final["notes"] == [] and cells == [None] * 6, (final, cells, out[-3000:])


def test_a_failed_test_shows_a_fresh_error_of_the_same_kind(tmp_path):
    records, final, out, cells = run_notebook(tmp_path, WRONG)
    assert earned(records) == []
    assert cells[3] == "CheckFailed" and cells[4] == "CheckFailed", cells
    assert records[0]["ename"] == "CheckFailed" and "sum of layer" in records[0]["evalue"]
    assert MARKER not in out


# ---------------------------------------------------------------- class 1: learner code while the guard works

EXC_SETATTR = """\
class Evil(Exception):
    def __setattr__(self, name, value):
        _try("__setattr__", lambda: _grab_from(sys._getframe(1)))
        object.__setattr__(self, name, value)
def layer(x):
    raise Evil("no")
"""

EXC_STR_DEL = """\
class Evil(Exception):
    def __str__(self):
        _try("__str__", lambda: _grab_from(sys._getframe(1)))
        return "evil"
    def __repr__(self):
        _try("__repr__", lambda: _grab_from(sys._getframe(1)))
        return "Evil()"
    def __del__(self):
        _try("__del__", lambda: _grab_from(sys._getframe(1)))
    def __eq__(self, other):
        _try("__eq__", lambda: _grab_from(sys._getframe(1)))
        return True
    __hash__ = object.__hash__
class Name(str):
    def __eq__(self, other):
        _try("name __eq__", lambda: _grab_from(sys._getframe(1)))
        return str.__eq__(self, other)
    __hash__ = str.__hash__
Evil.__name__ = Name("CheckFailed")
def layer(x):
    raise Evil("no")
"""

EARLY = """\
import sys
_early = []
for _i in range(2):
    sys.audit("wcdl.guard.test", _i, _early)
    sys.audit("wcdl.guard.test", _i, _early, "0" * 32)
print("EARLY", len(_early))
"""

NESTED = """\
import sys
def layer(x):
    b = []
    sys.audit("wcdl.guard.test", 1, b)            # a test inside a test: it used to end the outer one's guard
    _try("a nested test", lambda: _grab_from(sys._getframe(0)))
    return 0.0
"""

FAKE_GUARD_NAME = """\
import sys
ns = {"sys": sys, "_grab_from": _grab_from}
exec(compile("def grab():\\n    return _grab_from(sys._getframe(0))\\n", "<wcdl-guard>", "exec"), ns)
def layer(x):
    _try("code named like the guard", ns["grab"])
    return 0.0
"""

FAKE_STDLIB_NAME = """\
import os, sys, numpy as np
ns = {"sys": sys, "_grab_from": _grab_from, "out": []}
fake = os.path.join(os.path.dirname(os.__file__), "wcdl_not_a_module.py")
try:
    exec(compile("def grab(v):\\n    out.append(_grab_from(sys._getframe(0)))\\n    return v\\n", fake, "exec"), ns)
except Exception as e:
    print("refused compile", type(e).__name__)
    ns["grab"] = lambda v: v
try:
    code = (lambda v: v).__code__.replace(co_filename=fake)
    print("code.replace allowed")
except Exception as e:
    print("refused code.replace", type(e).__name__)
def layer(x):
    def via_numpy():
        np.vectorize(ns["grab"])(0.0)            # a library frame (trusted) calls the disguised code
        return ns["out"][-1] if ns["out"] else None
    _try("code named like the standard library", via_numpy)
    return 0.0
"""


@pytest.mark.parametrize("attack", [EXC_SETATTR, EXC_STR_DEL, NESTED, FAKE_GUARD_NAME, FAKE_STDLIB_NAME],
                         ids=["exception_setattr", "exception_str_repr_del_eq", "nested_test",
                              "code_named_like_the_guard", "code_named_like_the_stdlib"])
def test_learner_code_never_runs_with_the_guard_exposed(tmp_path, attack):
    records, final, out, cells = run_notebook(tmp_path, attack)
    assert_held(records, final, out)
    assert cells[3] is not None and cells[4] is not None, cells      # the failures still show in the cells


def test_a_refusals_traceback_does_not_lead_into_the_guard(tmp_path):
    records, final, out, _ = run_notebook(tmp_path, WRONG, before=TRACEBACK_WALK)
    assert_held(records, final, out)
    assert "refused a refusal's traceback GuardRefused" in out, out[-2000:]


def test_only_the_stub_starts_a_test_and_only_once(tmp_path):
    """Asked for early (without the stub's token, or with a guess), a test neither runs nor is
    spent: the stub runs it later, and a right answer earns its points."""
    records, final, out, cells = run_notebook(tmp_path, RIGHT, before=EARLY)
    assert "EARLY 0" in out, out[-2000:]
    assert earned(records) == ["visible", "hidden"], out[-2000:]
    assert any("other than the grader's stub" in n for n in final["notes"]), final
    records, final, out, cells = run_notebook(tmp_path / "wrong", WRONG, before=EARLY)
    assert "EARLY 0" in out and earned(records) == [] and cells[3] == cells[4] == "CheckFailed", (cells, out[-2000:])


# ---------------------------------------------------------------- class 3: the tests' builtins

SHADOW = """\
def layer(x):
    return 0.0
def range(*a):
    return []
def sum(*a, **k):
    return 14.0
def zip(*a):
    return []
def len(x):
    return 3
def isinstance(*a):
    return True
"""


def test_tests_use_the_genuine_builtins(tmp_path):
    records, final, out, cells = run_notebook(tmp_path, SHADOW)
    assert earned(records) == [], out[-2000:]
    assert cells[3] == "CheckFailed", cells


# ---------------------------------------------------------------- references the tests share

# A reference both tests need is defined once, in the visible test; the hidden test uses it.
REF_VISIBLE = """\
def _square(x):
    return x * x
def ref_layer(x):
    return _square(x)
class RefBox:
    def value(self, x):
        return x * x
assert_close(layer(2.0), ref_layer(2.0), name="layer(2)")
"""
REF_HIDDEN = f"""\
### BEGIN HIDDEN TESTS
# {MARKER}
for x in (5.0, -3.0):
    assert_close(layer(x), ref_layer(x), name="layer(x)")
    assert_close(layer(x), RefBox().value(x), name="layer(x), the class's way")
### END HIDDEN TESTS
"""
# right on the visible test's input only: the hidden test must catch it
ONLY_TWO = "def layer(x):\n    return 4.0 if x == 2.0 else 0.0\n"
# a cell between the tests makes the reference agree with the answer, so that the
# hidden test compares the answer with itself
REBIND_REFERENCE = {
    "name": "ref_layer = layer\nclass RefBox:\n    def value(self, x):\n        return layer(x)\n",
    "code": "ref_layer.__code__ = (lambda x: layer(x)).__code__\nRefBox.value = lambda self, x: layer(x)\n",
    "globals": "ref_layer.__globals__['_square'] = lambda x: layer(x)\nRefBox.value = lambda self, x: layer(x)\n",
}


def test_references_the_tests_share_earn_with_a_right_answer(tmp_path):
    records, final, out, cells = run_notebook(tmp_path, RIGHT, tests=(REF_VISIBLE, REF_HIDDEN))
    assert earned(records) == ["visible", "hidden"], out[-3000:]
    assert final["notes"] == [], final


@pytest.mark.parametrize("how", sorted(REBIND_REFERENCE))
def test_a_reference_means_the_test_cells_own(tmp_path, how):
    """After the visible test defined `ref_layer` and `RefBox`, a cell rebinds them (the name, the
    function's code, its globals, the class's method) to agree with the answer: the hidden test
    still uses the test cell's own objects."""
    records, final, out, cells = run_notebook(tmp_path, ONLY_TWO, tests=(REF_VISIBLE, REF_HIDDEN),
                                              between=REBIND_REFERENCE[how])
    assert earned(records) == ["visible"], (how, records, out[-3000:])
    assert "LEAK" not in out and MARKER not in out


def test_the_hook_is_a_file_never_imported_and_its_names_are_listed():
    """grader/_hook.py is compiled into the guard's private namespace, never imported; the names
    it lists for linters are exactly those grader.sandbox._private_hook binds there."""
    import ast
    import importlib
    import inspect

    from grader import sandbox

    with pytest.raises(ImportError, match="never import it"):
        importlib.import_module("grader._hook")
    tree = ast.parse(Path(sandbox.HOOK_PATH).read_text())
    [block] = [n for n in tree.body if isinstance(n, ast.If) and isinstance(n.test, ast.Constant) and n.test.value is False]
    listed = {t.id for n in block.body for t in n.targets}
    [bound] = [n.value for n in ast.walk(ast.parse(inspect.getsource(sandbox._private_hook)))
               if isinstance(n, ast.Assign) and [t.id for t in n.targets if isinstance(t, ast.Name)] == ["g"]]
    assert listed == {k.value for k in bound.keys if not k.value.startswith("__")}


# ---------------------------------------------------------------- class 2: files planted where the guard imports

PLANTED = GRAB + """
print("PLANTED MODULE RAN", flush=True)
_try("a planted module", lambda: _grab_from(sys._getframe(0)))
"""


def test_the_guard_never_imports_a_planted_module(tmp_path):
    # torch imports pynvml and torchcomms when they can be found: the guard imports torch first thing
    records, final, out, _ = run_notebook(tmp_path, WRONG, snapshot=("torch",),
                                          files={"pynvml.py": PLANTED, "torchcomms.py": PLANTED,
                                                 "sitecustomize.py": PLANTED, "usercustomize.py": PLANTED})
    assert "PLANTED MODULE RAN" not in out, out[-2000:]
    assert_held(records, final, out)


# ---------------------------------------------------------------- class 7: without Landlock

READS = r"""
import os, sqlite3, glob
def _read(what, fn):
    try:
        data = fn()
        print("READ", what, repr(data)[:80], flush=True)
    except Exception as e:
        print("refused", what, type(e).__name__)
_secret = os.environ["WCDL_TEST_SECRET"]
_fd = None
def _dirfd():
    global _fd
    _fd = os.open("/", os.O_RDONLY)
    fd = os.open(_secret.lstrip("/") + "/answer.txt", os.O_RDONLY, dir_fd=_fd)
    return os.read(fd, 100)
_read("dir_fd", _dirfd)
def _dirfd_up():
    d = os.open(".", os.O_RDONLY)
    rel = "/".join([".."] * 20) + _secret + "/answer.txt"
    return os.read(os.open(rel, os.O_RDONLY, dir_fd=d), 100)
_read("dir_fd ..", _dirfd_up)
_read("sqlite uri", lambda: sqlite3.connect("file:" + _secret + "/grades.db?mode=ro", uri=True)
      .execute("select * from grades").fetchall())
_read("sqlite attach", lambda: sqlite3.connect(":memory:").execute(
      "attach database '" + _secret + "/grades.db' as g").execute("select * from g.grades").fetchall())
_read("/var/tmp", lambda: open(os.environ["WCDL_TEST_VARTMP"]).read())
_read("~/.ssh", lambda: open(os.path.expanduser("~/.ssh/id_rsa")).read())
_read("~/.aws", lambda: open(os.path.expanduser("~/.aws/credentials")).read())
_read("listing ~/.ssh", lambda: os.listdir(os.path.expanduser("~/.ssh")))
_read("parent environ", lambda: open("/proc/%d/environ" % os.getppid(), "rb").read())
def _parent_memory():
    ppid = os.getppid()
    with open("/proc/%d/maps" % ppid) as fh:
        regions = [l.split() for l in fh if " rw-p " in l]
    seen = 0
    with open("/proc/%d/mem" % ppid, "rb", buffering=0) as mem:
        for r in regions:
            lo, hi = (int(x, 16) for x in r[0].split("-"))
            while lo < hi and seen < (600 << 20):
                n = min(hi - lo, 1 << 20)
                try:
                    mem.seek(lo)
                    chunk = mem.read(n)
                except OSError:
                    break
                seen += n
                i = chunk.find(b"SECRET-" + b"HIDDEN-MARKER")
                if i >= 0:
                    return chunk[i:i + 40]
                lo += n
    return None
_read("parent memory", _parent_memory)
"""


@pytest.fixture
def secrets_outside(tmp_path):
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "answer.txt").write_text("the answer")
    with sqlite3.connect(secret / "grades.db") as con:
        con.execute("create table grades (student, score)")
        con.execute("insert into grades values ('alice', 100)")
    home = tmp_path / "home"
    for sub, name in ((".ssh", "id_rsa"), (".aws", "credentials")):
        (home / sub).mkdir(parents=True)
        (home / sub / name).write_text("PRIVATE KEY")
    vartmp = Path("/var/tmp") / f"wcdl-test-{secrets.token_hex(6)}.txt"
    vartmp.write_text("left in /var/tmp")
    yield {"secret": secret, "env": {"HOME": str(home), "WCDL_TEST_SECRET": str(secret),
                                     "WCDL_TEST_VARTMP": str(vartmp)}}
    vartmp.unlink()


@pytest.mark.parametrize("landlock", [True, False], ids=["landlock", "audit-hook-only"])
def test_reads_outside_the_sandbox_are_refused(tmp_path, secrets_outside, landlock):
    """dir_fd, sqlite URIs and ATTACH, /var/tmp, ~/.ssh, ~/.aws, another process's /proc: refused
    with Landlock by the OS, without it by the hook's allow list (the one Landlock gets)."""
    records, final, out, cells = run_notebook(tmp_path / "run", WRONG, before=READS, landlock=landlock,
                                              env=secrets_outside["env"], secret_dir=secrets_outside["secret"])
    assert "READ" not in out, out[-3000:]
    assert out.count("refused ") >= 10, out[-3000:]
    assert final["sandbox"].startswith("Landlock" if landlock else "audit hook only (no OS sandbox"), final
    assert earned(records) == []


def test_os_sandbox_available_says_why(monkeypatch):
    monkeypatch.setenv("WCDL_NO_LANDLOCK", "1")
    assert os_sandbox_available() == (False, "WCDL_NO_LANDLOCK is set")
    monkeypatch.delenv("WCDL_NO_LANDLOCK")
    ok, why = os_sandbox_available()
    assert ok == (landlock_abi() >= 1) and why


DEV_SHM = """\
import os
for _name in os.listdir("/dev/shm"):
    print("SEEN", _name)
with open("/dev/shm/wcdl-from-the-kernel", "w") as _fh:   # a message for the next kernel
    _fh.write("hello")
for _dev in ("/dev/null", "/dev/urandom"):
    open(_dev, "wb").close()
try:
    open("/dev/wcdl-not-shm", "w")
    print("WROTE /dev")
except OSError as e:
    print("refused /dev", type(e).__name__)
"""


def test_kernels_do_not_share_dev_shm(tmp_path):
    """/dev/shm is a kernel's own (a private tmpfs): nothing planted there by another process
    is seen, and nothing a kernel leaves reaches the machine's; the rest of /dev is not writable."""
    outside = Path("/dev/shm/wcdl-planted-" + secrets.token_hex(4))
    if not Path("/dev/shm").is_dir():
        pytest.skip("no /dev/shm here")
    outside.write_text("from a classmate")
    try:
        records, final, out, _ = run_notebook(tmp_path, WRONG, before=DEV_SHM)
    finally:
        outside.unlink()
    if "private /dev/shm" not in final["sandbox"]:
        pytest.skip(f"no private mount namespace here: {final['sandbox']}")
    assert "SEEN" not in out and "WROTE /dev" not in out and "refused /dev" in out, out[-2000:]
    assert not Path("/dev/shm/wcdl-from-the-kernel").exists()
    assert earned(records) == []


def test_autograde_refuses_without_an_os_sandbox_unless_told(tmp_path, monkeypatch, capsys):
    from grader import autograde, cli, sandbox

    subs = tmp_path / "subs"
    subs.mkdir()
    monkeypatch.delenv("WCDL_NO_LANDLOCK", raising=False)
    monkeypatch.delenv("WCDL_NO_GUARD", raising=False)
    monkeypatch.setattr(sandbox, "_PROBE", (False, "this system has no Landlock"))
    assert cli.main(["autograde", str(subs), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "no OS sandbox here: this system has no Landlock" in err and "--without-os-sandbox" in err
    assert not (tmp_path / "out").exists()
    # told explicitly, it goes on to grade (and says it grades with the weaker protection)
    class Started(Exception):
        pass

    def grading(*a, **k):
        raise Started

    monkeypatch.setattr(autograde, "autograde", grading)
    with pytest.raises(Started):
        cli.main(["autograde", str(subs), "--out", str(tmp_path / "out"), "--quiet", "--without-os-sandbox"])
    assert "grading without an OS sandbox" in capsys.readouterr().err
