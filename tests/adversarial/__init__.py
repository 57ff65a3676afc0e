"""The adversarial corpus: submissions that try to break, fool or rob the grader.

Every case is derived from the real course notebook m01_2_normalization_and_dropout
(its committed release, filled in with the solution's answers, or with wrong
ones, then attacked) and states what must come out of grading it:

    Case(name, builder, scores, says, ...)

`scores` is the points each exercise must get ({} for the file's total of 0
when it cannot be graded at all), `says` a phrase the learner's feedback must
contain. For every case the test also checks that no point is unearned, that
the grader did not crash and the batch went on. Most cases drop the
notebook's demo cells (MiniLM, plots): the graded cells stay, grading is
quicker. tests/test_adversarial.py grades the whole corpus as one batch.

The m01_2 exercises: `layer_norm` (m01_layer_norm: 1 visible + 1 hidden
point) and `dropout` (m01_dropout: 1 + 1). A case that needs what m01_2 lacks (a
reference that its visible test defines and its hidden test uses) attacks another
notebook of module 01, submitted with it (`extra`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Callable

import nbformat

from grader import core
from tests.grading import SOURCES, submission

NB = "m01_2_normalization_and_dropout"
OTHER = "m01_1_embeddings_are_lookup_tables"
COUNTS = "m01_3_bert_is_matmuls"           # its visible test m01_param_count defines a reference
LN, DO = "m01_layer_norm", "m01_dropout"
LN_ANS, DO_ANS = "m01_layer_norm_answer", "m01_dropout_answer"
TESTS = ["m01_layer_norm", "m01_layer_norm_hidden", "m01_dropout", "m01_dropout_hidden"]
FULL = {LN: 2, DO: 2}
ZERO = {LN: 0, DO: 0}
OTHER_EXERCISES = ["m01_one_hot", "m01_embedding_matmul", "m01_bert_embeddings"]      # m01_1's, when a case submits it too
OTHER_ZERO = {ex: 0 for ex in OTHER_EXERCISES}

WRONG = {  # plausible-looking answers that are wrong: only a cheat could earn points with them
    LN_ANS: "def layer_norm(x, weight, bias, eps=1e-5):\n    return x * weight + bias\n",
    DO_ANS: "def dropout(x, p, training=True, generator=None):\n    return x\n",
}


# ---------------------------------------------------------------- builders

def _gid(cell):
    return core.nbgrader_meta(cell).get("grade_id")


def nb(solved=True, wrong=False, slim=True, before=None, after=None, delete=(), edit=None, cells=(),
       markdown=(), copy_answer=None) -> bytes:
    """A submission of m01_2 as bytes.

    solved/wrong: answers from the solution, wrong ones, or the release's stubs;
    slim: drop the demo cells (MiniLM, plots) that no test needs;
    before/after: {answer cell id: code} put before / after the answer's code;
    delete: grade ids of cells to delete; edit: {grade id: new source};
    cells: extra code cells appended at the end; markdown: extra markdown cells;
    copy_answer: (answer cell id, code): that cell pasted twice, as JupyterLab copies it
    (same nbgrader metadata), the first copy holding `code`.
    """
    book = submission(NB, solved=solved or wrong)
    keep = []
    seen_imports = False
    for cell in book.cells:
        gid = _gid(cell)
        if slim and cell.cell_type == "code" and gid is None and not cell.get("metadata", {}).get("wcdl-colab"):
            if seen_imports:
                continue          # a demo cell
            seen_imports = True   # the imports: without the plots, no matplotlib
            cell.source = cell.source.replace("import matplotlib.pyplot as plt\n", "")
        if gid in delete:
            continue
        if wrong and gid in WRONG:
            cell.source = WRONG[gid]
        if before and gid in before:
            cell.source = before[gid] + "\n" + cell.source
        if after and gid in after:
            cell.source = cell.source + "\n" + after[gid]
        if edit and gid in edit:
            cell.source = edit[gid]
        keep.append(cell)
    if copy_answer:
        import copy

        i = next(i for i, c in enumerate(keep) if _gid(c) == copy_answer[0])
        first = copy.deepcopy(keep[i])
        first.source = copy_answer[1]
        keep.insert(i, first)
    book.cells = keep + [nbformat.v4.new_code_cell(src) for src in cells] + \
        [nbformat.v4.new_markdown_cell(src) for src in markdown]
    if copy_answer:    # as JupyterLab saves it: nbformat would renumber the copy's cell id
        return json.dumps(book, indent=1).encode()
    return nbformat.writes(book).encode()


def _top_level_defs(source: str) -> list[str]:
    import ast

    return [n.name for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)]


def rebind_reference() -> bytes:
    """m01_3 solved, but param_count right for BERT's two token types only (a mutant that the
    visible test passes and the hidden test fails), and a cell after the visible test that
    rebinds the reference it defined (the measured counts) to param_count itself: the hidden
    test would compare the answer with itself."""
    from tests.mutants import all_mutants

    [mutant] = [m for m in all_mutants() if m.notebook == COUNTS and m.hidden_only and m.fails == (COUNTS_EX,)]
    book = submission(COUNTS, [mutant])
    i, test = next((i, c) for i, c in enumerate(book.cells) if _gid(c) == COUNTS_EX)
    [ref] = _top_level_defs(test.source)
    book.cells.insert(i + 1, nbformat.v4.new_code_cell(REBIND_REFERENCE.format(ref=ref)))
    return nbformat.writes(book).encode()


def planting_notebook() -> bytes:
    """m01_1 (graded before m01_2), untouched, with a cell that leaves a module in its folder."""
    book = submission(OTHER, solved=False)
    book.cells.append(nbformat.v4.new_code_cell(PLANT))
    return nbformat.writes(book).encode()


def raw(text: str) -> Callable[[], bytes]:
    return lambda: text.encode()


def other_notebook() -> bytes:
    return SOURCES[OTHER].read_bytes()


def truncated() -> bytes:
    data = nb()
    return data[: len(data) // 2]


# ---------------------------------------------------------------- attacks (code the learner submits)

PATCH_CHECKS = """\
import wcdl.checks as _checks
_pass = lambda *a, **k: None
_checks.assert_close = _checks.assert_scalar = _checks.expect = _pass
assert_close = assert_scalar = expect = _pass
"""

PATCH_LIBS = """\
import numpy as np, numpy.testing, torch, torch.testing
torch.allclose = lambda *a, **k: True
torch.equal = lambda *a, **k: True
torch.testing.assert_close = lambda *a, **k: None
numpy.testing.assert_allclose = lambda *a, **k: None
np.isclose = lambda a, b, **k: np.ones(np.broadcast(np.asarray(a), np.asarray(b)).shape, dtype=bool)
"""

REDEFINE_HELPERS = """\
def assert_close(*a, **k): pass
def assert_scalar(*a, **k): pass
def expect(*a, **k): pass
"""

CALL_TIME_REBIND = """\
def layer_norm(x, weight, bias, eps=1e-5):
    for name in ("assert_close", "assert_scalar", "expect"):
        globals()[name] = lambda *a, **k: None
    return x
def dropout(x, p, training=True, generator=None):
    for name in ("assert_close", "assert_scalar", "expect"):
        globals()[name] = lambda *a, **k: None
    return x
"""

FRAME_REBIND = """\
import sys
def layer_norm(x, weight, bias, eps=1e-5):
    sys._getframe(1).f_globals["assert_close"] = lambda *a, **k: None
    return x
"""

SYS_MODULES_SWAP = """\
import sys, types
_fake = types.ModuleType("wcdl.checks")
_fake.assert_close = _fake.assert_scalar = _fake.expect = lambda *a, **k: None
_fake.CheckFailed = AssertionError
sys.modules["wcdl.checks"] = _fake
from wcdl.checks import assert_close, assert_scalar, expect
"""

STEAL_SOLUTION = """\
import glob, json, os, sqlite3
def _candidates():
    d = os.getcwd()
    for _ in range(8):
        yield from glob.glob(os.path.join(d, "solutions", "*", "m01_2_normalization_and_dropout.ipynb"))
        yield from glob.glob(os.path.join(d, "gradebook.db"))
        d = os.path.dirname(d)
    import wcdl
    repo = os.path.dirname(os.path.dirname(os.path.abspath(wcdl.__file__)))
    yield os.path.join(repo, "solutions", "01_matmul_is_all_you_need", "m01_2_normalization_and_dropout.ipynb")
    yield os.path.join(repo, "tests", "grading.py")
    # what `wcdl check` keeps generated (solutions and hidden tests) in the cache
    for cache in (os.environ.get("WCDL_CHECK_CACHE", ""), os.path.expanduser("~/.cache/wcdl/generated")):
        yield from glob.glob(os.path.join(cache, "*", "solutions", "*", "m01_2_normalization_and_dropout.ipynb"))
        yield from glob.glob(os.path.join(cache, "*", "gradebook.db"))
for _path in _candidates():
    try:
        if _path.endswith(".db"):
            _rows = sqlite3.connect(_path).execute("select source from source_cells").fetchall()
            _code = [r[0] for r in _rows if "def layer_norm" in r[0] or "def dropout" in r[0]]
        else:
            _cells = json.load(open(_path))["cells"]
            _code = ["".join(c["source"]) for c in _cells if "def layer_norm" in "".join(c["source"])
                     or "def dropout" in "".join(c["source"])]
        for _c in _code:
            exec(_c)
        print("stole", _path)
    except Exception as e:
        print("could not read", _path, type(e).__name__)
"""

SUBPROCESS_CAT = """\
import subprocess, wcdl, os
_repo = os.path.dirname(os.path.dirname(os.path.abspath(wcdl.__file__)))
_p = subprocess.run(["cat", os.path.join(_repo, "solutions", "01_matmul_is_all_you_need",
                                          "m01_2_normalization_and_dropout.ipynb")], capture_output=True, text=True)
for _c in (json.loads(_p.stdout)["cells"] if _p.stdout else []):
    if "def layer_norm" in "".join(_c["source"]):
        exec("".join(_c["source"]))
print("cat exit code", _p.returncode)
"""

WRITE_OUTSIDE = """\
import os, wcdl
_repo = os.path.dirname(os.path.dirname(os.path.abspath(wcdl.__file__)))
_targets = [os.path.join(_repo, "wcdl", "checks.py"),
            os.path.expanduser("~/.ipython/profile_default/startup/00-wcdl-corpus.py"),
            os.path.join(os.getcwd(), "..", "..", "..", "gradebook.db"),
            os.path.join(os.getcwd(), "..", "..", "control_solved", "pwned.txt"),
            "/tmp/wcdl-corpus-poison.py"]
for _t in _targets:
    try:
        with open(_t, "a") as _fh:
            _fh.write("\\nassert_close = lambda *a, **k: None\\n")
        print("wrote", _t)
    except OSError as e:
        print("could not write", _t, type(e).__name__)
"""

KILL_GRADER = """\
import os, signal
for _do in (lambda: os.kill(os.getppid(), signal.SIGKILL), lambda: os.killpg(os.getpgid(os.getppid()), signal.SIGKILL)):
    try:
        _do()
    except OSError as e:
        print("could not kill:", e)
"""

TRANSFORMER = "get_ipython().input_transformers_cleanup.append(lambda lines: [])\n"

DISPLAYHOOK = """\
import sys
def layer_norm(x, weight, bias, eps=1e-5):
    sys.displayhook(1)          # an execute_result of 1 = full partial credit in plain nbgrader
    return x
def dropout(x, p, training=True, generator=None):
    sys.displayhook(1)
    return x
"""

PEEK_HIDDEN = """\
print(In)
print(get_ipython().kernel.get_parent())
import linecache
print({k: "".join(v[2]) for k, v in linecache.cache.items() if "test" in str(k)})
"""

GC_HUNT = """\
import gc, sys
for _do in (gc.get_objects, lambda: sys.settrace(lambda *a: None), lambda: sys.addaudithook(lambda *a: None)):
    try:
        _do()
    except Exception as e:
        print("refused:", type(e).__name__)
"""

SEGFAULT = "import ctypes\nctypes.string_at(0)\n"
BUSY_LOOP = "import time\nwhile True:        # waits for something that never comes\n    time.sleep(0.1)\n"
DEAF_LOOP = ("import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
             "while True:\n    time.sleep(0.2)\n")
MEGABYTES = 'print(("spam " * 20 + "\\n") * 200_000)   # about 20 MB\n'

# class 2: a file one notebook writes, imported by the next notebook's kernel (before the guard's
# snapshot: `import torch` tries pynvml, and finds it in the notebook's folder)
PLANTED = """\
try:
    import wcdl.checks as _c
    _c.assert_close = _c.assert_scalar = _c.expect = lambda *a, **k: None
except Exception:
    pass
raise ImportError("no NVML here")
"""
PLANT = f"""\
with open("pynvml.py", "w") as _fh:
    _fh.write({PLANTED!r})
print("planted pynvml.py")
"""

# class 4: links the kernel makes in its folder, for nbgrader to follow afterwards
LINK_GRADEBOOK = """\
import os
_nb = "m01_2_normalization_and_dropout.ipynb"
try:
    if os.path.lexists(_nb):
        os.remove(_nb)
    os.symlink("../../../gradebook.db", _nb)
    print("linked", _nb)
except OSError as e:
    print("could not link:", type(e).__name__)
"""
LINK_SECRETS = """\
import os
for _name, _t in (("answers.txt", "../../../solutions/01_matmul_is_all_you_need/m01_2_normalization_and_dropout.ipynb"),
                  ("grades.txt", "../../../gradebook.db"),
                  ("classmate.txt", "../../../submitted/control_solved/01_matmul_is_all_you_need/"
                                    "m01_2_normalization_and_dropout.ipynb")):
    try:
        os.symlink(_t, _name)
        print("linked", _name)
    except OSError as e:
        print("could not link", _name, type(e).__name__)
"""

# class 5: the instructor's shell environment (the batch runs with these set)
PRINT_ENV = "import os\nprint(sorted(os.environ.items()))\n"
SECRET_ENV = {"GITHUB_TOKEN": "ghp_wcdlCorpusSecret0000000000000000", "HF_TOKEN": "hf_wcdlCorpusSecret000000"}

# class 6: active content for the pages the instructor opens
XSS = "wcdlxss"
XSS_CODE = f"""\
from IPython.display import HTML, Javascript, SVG, Markdown, display
display(HTML('<b>table</b><script>alert("{XSS}")</script><img src=x onerror=alert("{XSS}")>'
             '<a href="javascript:alert(1)">{XSS}</a><iframe src="javascript:alert(1)"></iframe>'))
display(Javascript('alert("{XSS}")'))
display(SVG('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><circle r="3"/></svg>'))
display(Markdown('<img src=y onerror=alert("{XSS}")>'))
try:
    open('<img src=z onerror=alert("{XSS}")>.txt', "w")
except OSError:
    pass
raise ValueError('<img src=w onerror=alert("{XSS}")>')
"""
XSS_MARKDOWN = (f'My notes <script>alert("{XSS}")</script> <img src=v onerror=alert("{XSS}")> '
                f'[x](javascript:alert("{XSS}"))')

# a frame's way into the guard: its namespace holds the key, the record writer and the tests
GRAB_FROM = """\
import sys
def _grab_from(f):
    n = 0
    while f is not None and n < 500:
        g = f.f_globals
        if g.get("__name__") == "wcdl_guard_private":
            return g
        f = f.f_back
        n += 1
"""
# a refusal's traceback, walked for a frame of the guard's
TRACEBACK_WALK = """\
import gc
try:
    gc.get_objects()
except Exception as e:
    def _walk(tb=e.__traceback__):
        while tb is not None:
            g = _grab_from(tb.tb_frame)
            if g:
                return g
            tb = tb.tb_next
    _try("a refusal's traceback", _walk)
"""
# what an attacker does once they hold a frame of the guard (tests/test_sandbox.py has the same,
# quicker)
GRAB = GRAB_FROM + """\
def _forge(g, how):
    print("got into the grader via", how)
    for t in g["P"]["tests"]:                  # tests not compiled yet: make them empty
        t["source"] = "pass"
    codes = g["S"]["codes"]                     # and those compiled
    codes[:] = [compile("pass", "<nothing>", "exec") for _ in codes]
    for i, t in enumerate(g["P"]["tests"]):     # and sign "passed" for them all
        g["_emit"](["test", g["NONCE"], str(i), t["id"], "1", "", ""])
    if g["S"]["user_ns"] is not None:           # the running stub finds no error to raise
        g["S"]["user_ns"]["_wcdl_box"] = []
def _try(how, fn):
    try:
        g = fn()
        if g:
            _forge(g, how)
    except Exception as e:
        print("refused", how, type(e).__name__)
"""

EXCEPTION_DOORS = GRAB + """\
class Evil(Exception):
    def __setattr__(self, name, value):       # the guard used to clear __traceback__ with its own code paused
        _try("__setattr__", lambda: _grab_from(sys._getframe(1)))
        object.__setattr__(self, name, value)
    def __str__(self):
        _try("__str__", lambda: _grab_from(sys._getframe(1)))
        return "evil"
    def __del__(self):
        _try("__del__", lambda: _grab_from(sys._getframe(1)))
def layer_norm(x, weight, bias, eps=1e-5):
    raise Evil("no")
def dropout(x, p, training=True, generator=None):
    raise Evil("no")
"""

TRACEBACK_INTO_GUARD = GRAB + TRACEBACK_WALK

NESTED_TEST = GRAB + """\
def layer_norm(x, weight, bias, eps=1e-5):
    for i in range(4):
        sys.audit("wcdl.guard.test", i, [])      # a test inside a test used to end the outer test's guard
    _try("a nested test", lambda: _grab_from(sys._getframe(0)))
    return x
"""

TESTS_CALLED_EARLY = """\
import sys
_box = []
for _i in range(4):
    sys.audit("wcdl.guard.test", _i, _box)
print("early results:", len(_box))
"""

SHADOW_BUILTINS = """\
import builtins as _b
def layer_norm(x, weight, bias, eps=1e-5):
    # right values, wrong gradients (the statistics are detached)
    mean = x.mean(dim=-1, keepdim=True).detach()
    var = ((x - mean) ** 2).mean(dim=-1, keepdim=True).detach()
    return (x - mean) / (var + eps).sqrt() * weight + bias
def zip(*a):                  # the gradient loops check nothing
    return []
def dropout(x, p, training=True, generator=None):
    if not 0 <= p <= 1:
        raise IndexError(p)
    if not training or p == 0:
        return x
    keep = torch.rand(x.shape, generator=generator, device=x.device) >= p
    return x * keep / (1 - p) if p < 1 else torch.zeros_like(x)
ValueError = IndexError       # `except ValueError` in the tests now catches it
def isinstance(*a):
    return True
def len(x):
    return _b.len(x)
def sum(*a, **k):
    return _b.sum(*a, **k)
def range(*a):
    return _b.range(*a)
"""

PLANTED_GRAB = GRAB + """
print("a planted module ran")
_try("a planted module", lambda: _grab_from(sys._getframe(0)))
"""

PLANT_GRAB = f"""\
import os
for _name in ("pynvml.py", "torchcomms.py"):      # modules torch imports when it finds them
    with open(os.path.join(os.getcwd(), _name), "w") as _fh:
        _fh.write({PLANTED_GRAB!r})
"""


def grabbing_notebook() -> bytes:
    """m01_1, submitted with m01_2: its last cell leaves modules where the next notebook's kernel starts."""
    book = submission(OTHER, solved=False)
    book.cells = [c for c in book.cells if c.cell_type != "code" or _gid(c)] + [nbformat.v4.new_code_cell(PLANT_GRAB)]
    return nbformat.writes(book).encode()

READ_AROUND = """\
import glob, json, os, sqlite3, wcdl
_repo = os.path.dirname(os.path.dirname(os.path.abspath(wcdl.__file__)))
_sol = os.path.join(_repo, "solutions", "01_matmul_is_all_you_need", "m01_2_normalization_and_dropout.ipynb")
def _use(how, text):
    for _c in json.loads(text)["cells"]:
        if "def layer_norm" in "".join(_c["source"]) or "def dropout" in "".join(_c["source"]):
            exec("".join(_c["source"]), globals())
    print("stole the solution via", how)
def _attempt(how, fn):
    try:
        fn()
    except Exception as e:
        print("could not", how, type(e).__name__)
def _dir_fd():
    root = os.open("/", os.O_RDONLY)           # a folder's descriptor: the path below is relative to it
    fd = os.open(_sol.lstrip("/"), os.O_RDONLY, dir_fd=root)
    with os.fdopen(fd) as fh:
        _use("dir_fd", fh.read())
_attempt("dir_fd", _dir_fd)
def _gradebook():
    d = os.getcwd()
    for _ in range(8):
        for db in glob.glob(os.path.join(d, "gradebook.db")) or [os.path.join(d, "gradebook.db")]:
            if os.path.exists(db):
                return db
        d = os.path.dirname(d)
def _sqlite():
    db = _gradebook()
    con = sqlite3.connect("file:" + db + "?mode=ro", uri=True)    # a URI: not a relative path
    rows = con.execute("select source from source_cells").fetchall()
    for (src,) in rows:
        if "def layer_norm" in src or "def dropout" in src:
            exec(src, globals())
    print("stole the solution via sqlite")
_attempt("sqlite", _sqlite)
def _parent_memory():
    ppid = os.getppid()
    with open("/proc/%d/maps" % ppid) as fh:
        regions = [l.split() for l in fh if " rw-p " in l]
    with open("/proc/%d/mem" % ppid, "rb", buffering=0) as mem:
        for r in regions:
            lo, hi = (int(x, 16) for x in r[0].split("-"))
            if hi - lo > (256 << 20):
                continue
            try:
                mem.seek(lo)
                chunk = mem.read(hi - lo)
            except OSError:
                continue
            i = chunk.find(b"torch.manual_" + b"seed(21)")       # the first line of a hidden test
            if i >= 0:
                print("read the parent's memory:", chunk[i:i + 400].decode("utf-8", "replace"))
                return
_attempt("read the parent's memory", _parent_memory)
"""

# state changed by a cell before the tests, where the snapshot's list of modules and class
# attributes did not reach: a method added to torch.Tensor over the one it inherits from
# TensorBase, and the internals np.isclose calls (numpy._core.numeric's globals)
TENSOR_METHOD_ADDED = """\
import torch
torch.Tensor.cpu = lambda self, *a, **k: torch.zeros(tuple(self.shape), dtype=self.dtype)
"""
NUMPY_INTERNALS = """\
import numpy._core.numeric as _n, numpy as _np
_n.less_equal = lambda a, b, *r, **k: _np.ones(_np.broadcast(a, b).shape, bool)
_n.isfinite = lambda y, *r, **k: _np.ones(_np.shape(y), bool)
"""
# a value that lies to the checks while they run (not defended in-process: it must be flagged)
TENSOR_LIAR = """\
import torch, numpy as np
class _Yes(np.ndarray):
    def __array_ufunc__(self, ufunc, method, *inputs, **kw):
        return np.ones(np.broadcast(*[np.asarray(i) for i in inputs]).shape, dtype=bool)
class Liar(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        with torch._C.DisableTorchFunctionSubclass():
            out = func(*args, **(kwargs or {}))
        return np.asarray(out).view(_Yes) if getattr(func, "__name__", "") == "numpy" else out
def layer_norm(x, weight, bias, eps=1e-5):
    return (x * weight + bias).as_subclass(Liar)
"""
# 40 MB in each line of a traceback (the message is quoted whole): the graded notebook and the
# feedback grew by 80 MB per cell
HUGE_TRACEBACK = "raise ValueError('B' * 40_000_000)\n"


def foreign_grade_cell() -> bytes:
    """The solved notebook plus a cell pasted from another notebook, its nbgrader metadata with it
    (here: a test worth 100 points, and a cell marked graded with no grade id): nbgrader raised
    KeyError and the whole notebook got 0, with a line saying only that it could not be processed."""
    book = json.loads(nb())
    book["cells"].append({"cell_type": "code", "execution_count": None, "id": "m01_layer_norm", "outputs": [],
                          "source": "pass", "metadata": {"nbgrader": {
                              "grade": True, "grade_id": "m01_bonus", "points": 100, "solution": False,
                              "locked": True, "schema_version": 3}}})
    book["cells"].append({"cell_type": "code", "execution_count": None, "id": "pasted", "outputs": [],
                          "source": "x = 1", "metadata": {"nbgrader": {"solution": True, "grade": False}}})
    return json.dumps(book).encode()


def deep_json() -> bytes:
    """A notebook whose metadata nests 100 000 lists: json.loads raised RecursionError, and the batch died."""
    return nb().decode().replace('"metadata": {', '"metadata": {"deep": ' + "[" * 100_000 + "]" * 100_000 + ", ",
                                 1).encode()


# after the visible test that defined the reference {ref}: the reference made to agree with the answer
COUNTS_EX = "m01_param_count"


def _counts_scores() -> dict[str, float]:
    """m01_3's points for rebind_reference: all, but the hidden test's of m01_param_count."""
    source = nbformat.read(SOURCES[COUNTS], as_version=4)
    scores = {ex.id: float(ex.points) for ex in core.exercises(source)}
    scores[COUNTS_EX] = float(sum(m.get("points", 0) for m in core.grade_cells(source) if m.get("grade_id") == COUNTS_EX))
    return scores


COUNTS_SCORES = _counts_scores()
REBIND_REFERENCE = """\
def {ref}(bert):
    c = bert.config
    return param_count(c.vocab_size, c.max_position_embeddings, c.type_vocab_size, c.hidden_size,
                       c.num_hidden_layers, c.intermediate_size)
"""


# ---------------------------------------------------------------- the corpus

@dataclass
class Case:
    name: str
    build: Callable[[], bytes]
    scores: dict[str, float]          # exercise -> points it must get; {} = not gradable at all
    says: str | None = None           # the learner's feedback must contain this
    cheat: bool = False               # points would come only from the attack
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Callable[[], bytes]] = field(default_factory=dict)  # more notebooks of the student
    never: list[str] = field(default_factory=list)   # strings no learner text may contain


def c(name, build, scores, says=None, cheat=False, extra=None, never=()):
    return Case(name, build, scores, says, cheat, extra=dict(extra or {}), never=list(never))


CASES = [
    # files the grader cannot grade: zero, and a message saying why
    c("malformed_json", raw('{"cells": [ this is not json'), {}, "not valid JSON"),
    c("empty_file", raw(""), {}, "the file is empty"),
    c("truncated_file", truncated, {}, "not valid JSON"),
    c("not_a_notebook", raw('{"hello": "world"}'), {}, "not a Jupyter notebook"),
    c("other_assignment", other_notebook, {}, "none of the exercise cells"),
    # controls
    c("control_solved", lambda: nb(), FULL),
    c("control_untouched", lambda: nb(solved=False), ZERO, "not attempted yet"),
    # the notebook's structure
    c("deleted_tests_right_answers", lambda: nb(delete=TESTS), FULL, "was deleted"),
    c("deleted_tests_wrong_answers", lambda: nb(wrong=True, delete=TESTS), ZERO, "was deleted", cheat=True),
    c("edited_tests", lambda: nb(wrong=True, edit={t: "print('all good')" for t in TESTS}), ZERO, "was edited",
      cheat=True),
    # code that stops, crashes or floods
    c("sys_exit", lambda: nb(before={LN_ANS: "import sys\nsys.exit('bye')"}), {LN: 0, DO: 2}, "SystemExit"),
    c("os_exit", lambda: nb(before={DO_ANS: "import os\nos._exit(3)"}), {LN: 2, DO: 0}, "kernel"),
    c("segfault", lambda: nb(before={LN_ANS: SEGFAULT}), ZERO, "SIGSEGV"),
    c("endless_loop", lambda: nb(before={DO_ANS: BUSY_LOOP}), {LN: 2, DO: 0}, "time limit"),
    c("loop_ignoring_interrupts", lambda: nb(before={DO_ANS: DEAF_LOOP}), {LN: 2, DO: 0}, "did not respond"),
    c("megabytes_of_output", lambda: nb(after={LN_ANS: MEGABYTES}), FULL, "dropped"),
    # cheats: wrong answers plus an attack on the tests
    c("patch_wcdl_checks", lambda: nb(wrong=True, after={DO_ANS: PATCH_CHECKS}), ZERO, "restored", cheat=True),
    c("patch_numpy_torch_testing", lambda: nb(wrong=True, before={LN_ANS: PATCH_LIBS}), ZERO, "restored",
      cheat=True),
    c("redefine_helpers", lambda: nb(wrong=True, after={LN_ANS: REDEFINE_HELPERS}), ZERO, "rebound", cheat=True),
    c("rebind_helpers_while_tested", lambda: nb(edit={LN_ANS: CALL_TIME_REBIND, DO_ANS: ""}), ZERO, "rebound",
      cheat=True),
    c("rebind_through_frames", lambda: nb(wrong=True, edit={LN_ANS: FRAME_REBIND + WRONG[DO_ANS]}), ZERO,
      "refused", cheat=True),
    c("swap_sys_modules", lambda: nb(wrong=True, after={DO_ANS: SYS_MODULES_SWAP}), ZERO, "restored", cheat=True),
    c("input_transformer_skips_tests", lambda: nb(wrong=True, after={DO_ANS: TRANSFORMER}), ZERO,
      "did not run under the grader's control", cheat=True),
    c("fake_partial_credit", lambda: nb(edit={LN_ANS: DISPLAYHOOK, DO_ANS: ""}), ZERO, "partial credit", cheat=True),
    c("hunt_grader_internals", lambda: nb(wrong=True, after={DO_ANS: GC_HUNT}), ZERO, "refused", cheat=True),
    # reading what the grader keeps secret, writing where it must not
    c("steal_solution_files", lambda: nb(solved=False, after={LN_ANS: STEAL_SOLUTION}), ZERO, "blocked", cheat=True),
    c("steal_with_subprocess", lambda: nb(solved=False, after={LN_ANS: "import json\n" + SUBPROCESS_CAT}), ZERO,
      "started", cheat=True),
    c("peek_at_hidden_tests", lambda: nb(cells=[PEEK_HIDDEN]), FULL),
    c("write_outside_submission", lambda: nb(after={DO_ANS: WRITE_OUTSIDE}), FULL, "blocked"),
    c("kill_the_grader", lambda: nb(wrong=True, after={LN_ANS: KILL_GRADER}), ZERO, "blocked", cheat=True),
    # one notebook's files reach the next notebook's kernel (m01_1 is graded before m01_2)
    c("plant_module_for_next_notebook", lambda: nb(wrong=True), {**ZERO, **OTHER_ZERO}, cheat=True,
      extra={OTHER: planting_notebook}),
    # links the kernel makes, for the grader to follow: the graded notebook written into the
    # gradebook; solutions/, the gradebook, a classmate copied into the feedback
    c("link_graded_notebook_to_gradebook", lambda: nb(after={DO_ANS: LINK_GRADEBOOK}), FULL),
    c("link_secrets_into_feedback", lambda: nb(after={DO_ANS: LINK_SECRETS}), FULL,
      never=["SQLite format 3", "### BEGIN SOLUTION"]),
    # the instructor's environment printed into the feedback
    c("print_the_environment", lambda: nb(cells=[PRINT_ENV]), FULL, never=list(SECRET_ENV.values())),
    # active content in the pages the instructor opens (feedback, formgrader)
    c("script_in_feedback", lambda: nb(cells=[XSS_CODE], markdown=[XSS_MARKDOWN]), FULL, "ValueError"),
    # an honest learner who copied an answer cell in JupyterLab (same nbgrader metadata twice)
    c("copied_answer_cell", lambda: nb(copy_answer=(LN_ANS, "def layer_norm(x, weight, bias, eps=1e-5):\n"
                                                            "    raise NotImplementedError  # first try\n")),
      FULL, "appears 2 times"),
    # learner code that runs while the guard works, or starts tests itself
    c("exception_doors_into_the_guard", lambda: nb(edit={LN_ANS: EXCEPTION_DOORS, DO_ANS: ""}), ZERO, cheat=True),
    c("traceback_into_the_guard", lambda: nb(wrong=True, after={DO_ANS: TRACEBACK_INTO_GUARD}), ZERO, "refused",
      cheat=True),
    c("nested_test_call", lambda: nb(wrong=True, edit={LN_ANS: NESTED_TEST}), ZERO, "refused", cheat=True),
    c("tests_called_early", lambda: nb(before={LN_ANS: TESTS_CALLED_EARLY}), FULL, "grader's stub"),
    # the tests' builtins, files planted where the guard imports, reads around the sandbox
    c("shadow_builtins", lambda: nb(edit={LN_ANS: SHADOW_BUILTINS, DO_ANS: ""}), {LN: 0, DO: 1}),
    c("planted_module_on_the_path", lambda: nb(wrong=True), {**ZERO, **OTHER_ZERO}, cheat=True,
      extra={OTHER: grabbing_notebook}),
    c("read_around_the_sandbox", lambda: nb(solved=False, after={LN_ANS: READ_AROUND}), ZERO, cheat=True),
    # state the snapshot did not hold, changed before the tests; a value that lies while they run
    c("method_added_to_tensor", lambda: nb(wrong=True, before={LN_ANS: TENSOR_METHOD_ADDED}), ZERO, "restored",
      cheat=True),
    c("patch_numpy_internals", lambda: nb(wrong=True, before={LN_ANS: NUMPY_INTERNALS}), ZERO, "restored",
      cheat=True),
    c("tensor_subclass_liar", lambda: nb(wrong=True, edit={LN_ANS: TENSOR_LIAR}), ZERO, cheat=True),
    # a reference the visible test defined, rebound by a cell so that the hidden test compares
    # the answer with itself: the hidden point of m01_param_count came from the attack alone
    c("rebind_reference", lambda: nb(wrong=True), {**ZERO, **COUNTS_SCORES}, "rebound",
      extra={COUNTS: rebind_reference}),
    # what would break the batch or bloat it
    c("deeply_nested_json", deep_json, {}, "nested too deeply"),
    c("huge_traceback", lambda: nb(cells=[HUGE_TRACEBACK]), FULL, "ValueError"),
    # an honest learner who pasted a cell from another notebook (its nbgrader metadata with it)
    c("cell_from_another_notebook", foreign_grade_cell, FULL, "not one of this notebook's graded cells"),
]

# Submission folders that attack the grader by their layout rather than their code:
# {folder name: (what to make, what the learner must be told; None: a folder rejected as a whole)}
LAYOUT = {
    # a link to a classmate's notebook (a git clone or a zip keeps links): their points
    "submitted_link_to_classmate": ("link:../control_solved/" + NB + ".ipynb", "symbolic link"),
    # the whole folder a link to a classmate's
    "submitted_folder_link": ("dirlink:control_solved", "symbolic link"),
    # a link to the instructor's solutions
    "submitted_link_to_solutions": ("solutions", "symbolic link"),
    # a FIFO: reading it would block the batch for ever
    "fifo_notebook": ("fifo", "not a regular file"),
    # 1 GiB of nothing (sparse): read whole, it took the batch to 2 GiB of memory
    "huge_notebook": ("huge", "MiB"),
    # "$" matches before a trailing newline: this row would split grades.csv
    "newline_name\n": ("copy", None),
}


def write_layout(folder) -> None:
    """The LAYOUT folders, next to the corpus written by write_corpus (control_solved among it)."""
    import os

    for name, (what, _) in LAYOUT.items():
        d = folder / name
        if what.startswith("dirlink:"):
            os.symlink(what.split(":", 1)[1], d)
            continue
        d.mkdir(parents=True, exist_ok=True)
        target = d / f"{NB}.ipynb"
        if what.startswith("link:"):
            os.symlink(what.split(":", 1)[1], target)
        elif what == "solutions":
            os.symlink(SOURCES[NB], target)
        elif what == "fifo":
            os.mkfifo(target)
        elif what == "huge":
            with open(target, "wb") as fh:
                fh.truncate(1 << 30)
        elif what == "copy":
            target.write_bytes(nb())


def write_corpus(folder, cases=CASES) -> None:
    """One student folder per case: folder/<case>/m01_2_normalization_and_dropout.ipynb."""
    for case in cases:
        (folder / case.name).mkdir(parents=True, exist_ok=True)
        (folder / case.name / f"{NB}.ipynb").write_bytes(case.build())
        for name, build in case.extra.items():
            (folder / case.name / f"{name}.ipynb").write_bytes(build())


def max_points() -> dict[str, float]:
    return {ex.id: ex.points for name in (NB, OTHER, COUNTS)
            for ex in core.exercises(nbformat.read(SOURCES[name], as_version=4))}


def describe() -> str:
    return json.dumps([{"case": k.name, "scores": k.scores, "says": k.says} for k in CASES], indent=1)
