"""Grading under attack: nbgrader preprocessors that guard every graded notebook.

Autograde runs (see grader/nbgrader_config.py):

    GuardCells      before execution: writes the notebook's policy (its test
                    cells' code, a fresh secret key, the folders the kernel
                    may read and write) to a private folder; adds a first
                    cell that arms the kernel's guard before any learner code
                    runs, replaces each test cell's code by a stub that asks
                    the guard to run test number i, and adds a last cell;
    GuardedExecute  nbgrader's Execute, with the kernel started inside
                    grader.sandbox (Landlock + audit hook, see there), a cap
                    on each cell's output, and a kernel that dies or stops
                    answering treated as "the rest of the notebook did not
                    run" instead of failing the whole submission;
    GuardVerify     after execution: reads the guard's signed records of the
                    tests' outcomes; a test cell keeps its points only if its
                    record is valid and says it passed; puts the test code
                    back, removes the guard's cells, turns the test cells'
                    `execute_result`s into plain displays (no partial credit
                    that learner code could fake), scans the learner's code
                    for constructs worth a human look, and writes what
                    happened to guard/<student>/<assignment>/<notebook>.json
                    and to a "Grader notes" cell at the top of the notebook.

What this does and does not defend is in README.md, "Threat model".
"""

from __future__ import annotations

import ast
import hmac
import importlib.util
import json
import os
import pkgutil
import re
import secrets
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.v4 import new_code_cell, new_markdown_cell, new_output
from traitlets import Bool, Integer, List, Unicode

from grader.core import HIDDEN_SUFFIX, PUBLISHED, exercise_of, generated_cache, nbgrader_meta
from grader.preprocessors import HIDDEN_BEGIN
from grader.sandbox import POLICY_ENV, RECORD_PREFIX
from wcdl.data import data_folders
from nbgrader.preprocessors import Execute, NbGraderPreprocessor

REPO = Path(__file__).resolve().parents[1]
NO_GUARD_ENV = "WCDL_NO_GUARD"          # "1": grade without the guard (to compare, or to debug a notebook)
PROGRESS_ENV = "WCDL_PROGRESS"          # a file: a line per test cell as it finishes (`wcdl check` shows them)
SETUP_SOURCE = '__import__("sys").audit("wcdl.guard.setup")'
FINAL_SOURCE = '__import__("sys").audit("wcdl.guard.final")'
# {token}: a per-test one-time secret; only this stub may start its test, once
STUB_SOURCE = ('_wcdl_box = []\n'
               '__import__("sys").audit("wcdl.guard.test", {index}, _wcdl_box, "{token}")\n'
               'if _wcdl_box:\n'
               '    if _wcdl_box[1]:\n'
               '        print(_wcdl_box[1], end="")\n'
               '    raise _wcdl_box[0]\n')
MARK = "wcdl_guard"
# Modules the guard imports before any learner code runs (to keep originals of
# what tests use) -- never those that must be configured first (numba reads
# NUMBA_ENABLE_CUDASIM once, when imported; wcdl.cuda imports numba only
# when asked to, so it can be imported early).
ALWAYS_SNAPSHOT = ["numpy", "numpy.testing", "torch", "torch.nn", "torch.nn.functional", "torch.testing",
                   "wcdl.checks", "wcdl.ops"]
LATE_IMPORTS = ("numba",)
SNAPSHOT_CLASSES = [["torch", "Tensor"], ["torch.nn", "Module"]]
# The grading kernel's environment: these names (and prefixes) from the grader's
# own, nothing else -- an instructor's shell holds tokens (GITHUB_TOKEN, HF_TOKEN,
# AWS_*) that a notebook could print into its feedback. What the course's
# notebooks and libraries read: locale, thread counts, caches, offline switches,
# the data folder, numba's simulator switches, the GPU's visibility.
KERNEL_ENV = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TERM", "XDG_CACHE_HOME",
              "LD_LIBRARY_PATH", "CUDA_VISIBLE_DEVICES", "CUDA_HOME", "CUDA_PATH", "CONDA_PREFIX", "VIRTUAL_ENV",
              "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS",
              "VECLIB_MAXIMUM_THREADS", "BLIS_NUM_THREADS", "TOKENIZERS_PARALLELISM", "HF_HUB_OFFLINE",
              "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE", "HF_HOME", "HF_HUB_CACHE", "TRANSFORMERS_CACHE",
              "TORCH_HOME", "MPLBACKEND", "MPLCONFIGDIR", "PYTHONHASHSEED", "PYTHONIOENCODING", "PYTHONUTF8",
              "PYTHONDONTWRITEBYTECODE", "PYTHONPATH", "WCDL_DATA_DIR", "WCDL_FORCE_CUDASIM", "SCIKIT_LEARN_DATA")
KERNEL_ENV_PREFIXES = ("LC_", "NUMBA_", "OMP_", "MKL_", "KMP_", "OPENBLAS_")


def guard_disabled() -> bool:
    return os.environ.get(NO_GUARD_ENV, "") not in ("", "0")


def kernel_env(env, extra=()) -> dict:
    """The listed variables of `env` (KERNEL_ENV, KERNEL_ENV_PREFIXES, `extra`), nothing else."""
    names = set(KERNEL_ENV) | set(extra)
    return {k: v for k, v in env.items() if k in names or k.startswith(KERNEL_ENV_PREFIXES)}


def _copy_data_files(src: Path, dest: Path) -> None:
    """The module's data files (what the release ships next to its notebooks) into the
    kernel's private folder: regular files only, links and notebooks never."""
    if not src.is_dir():
        return
    for folder, dirs, files in os.walk(src):          # does not follow links to folders
        dirs[:] = [d for d in dirs if d not in ("__pycache__", ".ipynb_checkpoints")
                   and not os.path.islink(os.path.join(folder, d))]
        for name in files:
            path = os.path.join(folder, name)
            if name.endswith((".ipynb", ".pyc")) or not os.path.isfile(path) or os.path.islink(path):
                continue
            target = dest / os.path.relpath(path, src)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target, follow_symlinks=False)


def is_test_cell(cell) -> bool:
    meta = nbgrader_meta(cell)
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def _source_notebook(resources, release: bool = False):
    """The instructor's version of the notebook being graded (or its release)."""
    info = resources.get("nbgrader", {})
    root = REPO / "course" if release else Path(os.getcwd()) / "solutions"
    path = root / info.get("assignment", "") / f"{info.get('notebook', '')}.ipynb"
    if not path.exists():
        return None
    import nbformat

    return nbformat.read(path, as_version=4)


# ---------------------------------------------------------------- which names tests use

def _imports(source: str) -> list[tuple[str, str, str | None]]:
    """(local name, module, attribute or None) bound by the import statements in `source`."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.asname:
                    out.append((a.asname, a.name, None))
                else:
                    out.append((a.name.split(".")[0], a.name.split(".")[0], None))
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for a in node.names:
                if a.name != "*":
                    out.append((a.asname or a.name, node.module, a.name))
    return out


def _names(source: str) -> set[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


def _late(module: str) -> bool:
    return any(module == m or module.startswith(m + ".") for m in LATE_IMPORTS)


def _with_submodules(module: str) -> set[str]:
    """`module` and, for a package of the course's helpers (wcdl.cuda), its modules: the
    functions and classes its names run live there, and the snapshot must hold them too."""
    found = {module}
    if module.startswith("wcdl."):
        try:
            spec = importlib.util.find_spec(module)
        except (ImportError, ValueError):
            spec = None
        for info in pkgutil.iter_modules(spec.submodule_search_locations or [] if spec else []):
            found.add(f"{module}.{info.name}")
    return found


def helper_bindings(source_nb, tests: list[str]) -> tuple[list[list], list[str]]:
    """Names the tests use that the instructor's own cells import, and their modules."""
    used = set().union(*(_names(t) for t in tests)) if tests else set()
    bindings, modules = [], set(ALWAYS_SNAPSHOT)
    for cell in source_nb.cells if source_nb is not None else []:
        meta = nbgrader_meta(cell)
        if cell.cell_type != "code" or meta.get("solution"):
            continue
        for local, module, attr in _imports(cell.source):
            if local not in used or _late(module):
                continue
            if attr is not None and not _late(f"{module}.{attr}"):
                # `from torch.nn import functional as F` imports a submodule
                bindings.append([local, module, attr])
                modules.update(_with_submodules(module))
            elif attr is None:
                bindings.append([local, module, None])
                modules.update(_with_submodules(module))
    return bindings, sorted(modules)


# ---------------------------------------------------------------- static scan

_MODULES = {"ctypes", "gc", "inspect", "importlib", "imp", "marshal", "dill", "cloudpickle", "builtins",
            "signal", "_thread", "subprocess", "socket", "urllib", "requests", "http", "sqlite3", "shutil",
            "pty", "code", "codeop", "IPython", "ipykernel", "sys", "os", "pathlib", "glob", "types",
            "nbgrader", "grader", "jupyter_client", "linecache", "traceback", "atexit", "faulthandler",
            "resource", "mmap", "_posixsubprocess", "pickle", "io", "threading", "concurrent", "asyncio",
            "multiprocessing", "weakref", "sched", "readline", "rlcompleter"}
# special methods through which an object the learner's function returns can lie to a check, or run
# learner code where a check only meant to look at a value (defined, assigned or named as a string)
_LYING = {"__torch_function__", "__torch_dispatch__", "__array_ufunc__", "__array_function__", "__array__",
          "__array_wrap__", "__array_finalize__", "__array_priority__", "__array_interface__",
          "__array_struct__", "__cuda_array_interface__", "__dlpack__", "__eq__", "__ne__", "__lt__",
          "__le__", "__gt__", "__ge__", "__bool__", "__float__", "__int__", "__index__", "__complex__",
          "__abs__", "__round__", "__hash__", "__getattr__", "__getattribute__", "__setattr__", "__delattr__",
          "__del__", "__init_subclass__", "__set_name__", "__class_getitem__", "__instancecheck__",
          "__subclasscheck__", "__format__", "__repr__", "__str__", "__reduce__", "__reduce_ex__",
          "__get__", "__set__", "__delete__", "__mro_entries__", "__prepare__"}
# classes whose subclasses the checks take for the genuine thing
_TRUSTED_BASES = {"Tensor", "ndarray", "Parameter", "generic", "float", "int", "str", "tuple", "list", "dict",
                  "type", "ModuleType", "Exception", "BaseException", "AssertionError"}
_CALLS = {"open", "exec", "eval", "compile", "__import__", "globals", "vars", "locals", "setattr", "delattr",
          "getattr", "exit", "quit", "get_ipython", "breakpoint", "input", "memoryview"}
_DUNDERS = {"__code__", "__globals__", "__dict__", "__class__", "__subclasses__", "__mro__", "__bases__",
            "__closure__", "__builtins__", "__defaults__", "__kwdefaults__", "__loader__", "__spec__",
            "f_back", "f_globals", "f_locals", "f_builtins", "tb_frame", "gi_frame", "cr_frame", "ag_frame",
            "co_code", "co_consts", "__reduce__", "__reduce_ex__", "__getattribute__", "__setattr__",
            "__delattr__", "__init_subclass__", "__set_name__", "__torch_function__", "__torch_dispatch__",
            "__array_ufunc__", "__array_function__", "__eq__", "__ne__", "__bool__"}


def scan_code(source: str) -> list[tuple[int, str]]:
    """(line, construct) in learner code that deserves a human look: ways to
    reach into the interpreter, the grader, other processes or the disk."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return [(0, "code that does not parse as Python (IPython magics or shell escapes?)")] \
            if re.search(r"^\s*[%!]", source, re.M) else []
    found: list[tuple[int, str]] = []
    module_names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            mods = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for m in mods:
                if m.split(".")[0] in _MODULES:
                    found.append((node.lineno, f"import {m}"))
            if isinstance(node, ast.Import):
                module_names |= {(a.asname or a.name.split(".")[0]) for a in node.names}
            else:
                module_names |= {(a.asname or a.name) for a in node.names}
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            mods = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for m in mods:      # a library's private internals (numpy._core, torch._C ...)
                if any(part.startswith("_") for part in m.split(".")[1:]):
                    found.append((node.lineno, f"import {m} (a library's internals)"))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in _LYING:
            found.append((node.lineno, f"def {node.name}"))
        elif isinstance(node, ast.ClassDef):
            for base in node.bases:
                tail = base.attr if isinstance(base, ast.Attribute) else getattr(base, "id", None)
                if tail in _TRUSTED_BASES:
                    found.append((node.lineno, f"class {node.name}({ast.unparse(base)})"))
            if node.keywords:
                found.append((node.lineno, f"class {node.name} with a metaclass or class keywords"))
            for stmt in node.body:
                if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
                    for t in (stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]):
                        if isinstance(t, ast.Name) and t.id in _LYING:
                            found.append((stmt.lineno, f"{t.id} = ... in class {node.name}"))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in _LYING:
            found.append((node.lineno, f"the name {node.value!r}"))
        elif isinstance(node, ast.Attribute) and node.attr in ("as_subclass", "_make_subclass", "_C",
                                                                "DisableTorchFunction", "DisableTorchFunctionSubclass"):
            found.append((node.lineno, f".{node.attr}"))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _CALLS:
            if node.func.id == "getattr" and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) \
                    and not str(node.args[1].value).startswith("_"):
                continue
            found.append((node.lineno, f"{node.func.id}()"))
        elif isinstance(node, ast.Attribute) and node.attr in _DUNDERS:
            found.append((node.lineno, f".{node.attr}"))
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and \
                node.value.id in ("sys", "os", "torch", "np", "numpy") and node.attr in (
                    "modules", "settrace", "setprofile", "_getframe", "addaudithook", "meta_path", "path_hooks",
                    "displayhook", "excepthook", "_exit", "exit", "kill", "killpg", "fork", "system", "popen",
                    "execv", "execve", "spawnv", "setsid", "environ", "putenv", "testing", "allclose",
                    "equal", "isclose", "array_equal"):
            if node.attr in ("environ", "testing", "allclose", "equal", "isclose", "array_equal") and \
                    not isinstance(getattr(node, "ctx", None), ast.Store):
                continue
            found.append((node.lineno, f"{node.value.id}.{node.attr}"))
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            for t in targets:
                base = t
                while isinstance(base, (ast.Attribute, ast.Subscript)):
                    base = base.value
                if isinstance(t, ast.Attribute) and isinstance(base, ast.Name) and base.id in module_names | {
                        "torch", "np", "numpy", "F", "wcdl", "math", "builtins", "sys", "os"}:
                    found.append((node.lineno, f"assignment to {ast.unparse(t)} (changes a module)"))
        elif isinstance(node, ast.Global):
            found.append((node.lineno, "global statement"))
    seen, out = set(), []
    for item in sorted(found):
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out


def learner_cells(nb, *instructor_nbs) -> list[tuple[int, object]]:
    """Code cells whose code the learner wrote or changed (answer cells, edited or new cells)."""
    instructor = set()
    for source_nb in instructor_nbs:
        for c in source_nb.cells if source_nb is not None else []:
            if c.cell_type == "code" and not nbgrader_meta(c).get("solution"):
                instructor.add(c.source.strip())
    out = []
    for i, c in enumerate(nb.cells):
        if c.cell_type != "code" or c.get("metadata", {}).get(MARK) or is_test_cell(c):
            continue
        if nbgrader_meta(c).get("solution") or c.source.strip() not in instructor:
            out.append((i, c))
    return out


def scan_notebook(nb, *instructor_nbs) -> list[str]:
    flags = []
    for i, cell in learner_cells(nb, *instructor_nbs):
        name = nbgrader_meta(cell).get("grade_id") or f"cell {i}"
        for line, what in scan_code(cell.source):
            flags.append(f"{name}, line {line}: {what}")
    return flags


# ---------------------------------------------------------------- records

def parse_records(text: str, key: bytes, nonce: str) -> tuple[dict[int, dict], dict | None, int]:
    """Signed records -> ({test index: outcome}, last final record, bad lines)."""
    tests, final, bad = {}, None, 0
    for line in text.splitlines():
        if not line.startswith(RECORD_PREFIX + " "):
            continue
        try:
            _, mac, body = line.split(" ", 2)
            want = hmac.new(key, body.encode("ascii"), "sha256").hexdigest()
            if not hmac.compare_digest(mac, want):
                bad += 1
                continue
            fields = [bytes.fromhex(f).decode("utf-8", "replace") for f in body.split(";")]
        except ValueError:
            bad += 1
            continue
        if len(fields) < 2 or fields[1] != nonce:
            bad += 1
            continue
        if fields[0] == "test" and len(fields) == 7:
            tests[int(fields[2])] = {"id": fields[3], "ok": fields[4] == "1", "ename": fields[5],
                                     "evalue": fields[6]}
        elif fields[0] == "final":
            final = {"ran": [int(x) for x in fields[2].split(",") if x], "sandbox": fields[3],
                     "notes": fields[4:]}
    return tests, final, bad


def notes_markdown(notes: list[str]) -> str:
    """The "Grader notes" cell: the notes hold learner-made text (error messages, file
    names, cell ids), so each is HTML-escaped in a list that markdown passes through
    as it is (no blank line ends it early), which MathJax leaves alone (tex2jax_ignore)."""
    import html

    def one(note: str) -> str:
        text = html.escape(note, quote=True)
        return "<li>" + "<br>".join(line for line in text.splitlines() if line.strip()) + "</li>"

    return "**Grader notes**\n\n<ul class=\"tex2jax_ignore\">" + "".join(one(n) for n in notes) + "</ul>\n"


def _error_output(ename: str, evalue: str):
    return new_output("error", ename=ename, evalue=evalue, traceback=[f"\x1b[0;31m{ename}\x1b[0m: {evalue}"])


# ---------------------------------------------------------------- preprocessors

class GuardCells(NbGraderPreprocessor):
    """Before execution: the policy file and the guard's cells (see module docstring)."""

    landlock = Bool(True, help="Confine grading kernels with Landlock where the OS has it.").tag(config=True)
    max_file_bytes = Integer(1 << 30, help="Largest file a grading kernel may write.").tag(config=True)

    def preprocess(self, nb, resources):
        resources.pop(MARK, None)
        if guard_disabled():
            return nb, resources
        source_nb = _source_notebook(resources)
        tests, originals = [], {}
        for i, cell in enumerate(nb.cells):
            if is_test_cell(cell):
                gid = nbgrader_meta(cell)["grade_id"]
                originals[gid] = cell.source
                tests.append({"id": gid, "source": cell.source, "hidden": HIDDEN_BEGIN in cell.source,
                              "cell": i, "token": secrets.token_hex(16)})
        bindings, modules = helper_bindings(source_nb, [t["source"] for t in tests])
        guard_dir = Path(tempfile.mkdtemp(prefix="wcdl-guard-"))
        ktmp = Path(tempfile.mkdtemp(prefix="wcdl-kernel-"))
        for sub in ("ipython", "hf_modules", "mpl", "work"):
            (ktmp / sub).mkdir()
        # The kernel runs in a fresh folder of its own (ktmp/work), not in
        # autograded/<student>/<module>/: nothing an earlier notebook wrote is
        # there, nothing it writes reaches a later notebook, nbgrader's own
        # files (the graded notebook, the feedback) or a link the grader
        # would follow; the folder is thrown away after the notebook ran.
        info = resources.get("nbgrader", {})
        _copy_data_files(Path(os.getcwd()) / "solutions" / info.get("assignment", "?"), ktmp / "work")
        meta = resources.setdefault("metadata", {})
        outer_path = meta.get("path")
        meta["path"] = str(ktmp / "work")
        key, nonce = secrets.token_bytes(32), secrets.token_hex(16)
        course_root = os.getcwd()
        runtime = os.path.expanduser("~/.local/share/jupyter/runtime")
        try:
            from jupyter_core.paths import jupyter_runtime_dir

            runtime = jupyter_runtime_dir()
        except ImportError:
            pass
        policy = {
            "key": key.hex(), "nonce": nonce,
            "tests": [{k: t[k] for k in ("id", "source", "hidden", "token")} for t in tests],
            "bindings": bindings, "snapshot_modules": modules, "snapshot_classes": SNAPSHOT_CLASSES,
            "write_roots": [str(ktmp)],
            # the system temp folder too: other notebooks' guard folders live there
            "deny_roots": [course_root, str(REPO), str(guard_dir), runtime, tempfile.gettempdir(),
                           str(generated_cache()), str(generated_cache(env=False))],
            # the data sets wherever they are (even under the temp folder or the repository)
            "allow_roots": [str(REPO / "wcdl"), str(REPO / "grader")] + [str(f) for f in data_folders()],
            "trusted_code": [str(REPO / "wcdl")],
            "read_roots": [os.environ[v] for v in ("WCDL_DATA_DIR",) if os.environ.get(v)],
            "read_files": [str(guard_dir / "kernel.json")],
            "record_file": str(guard_dir / "records.log"),
            "pid_file": str(guard_dir / "kernel.pid"),
            "landlock": self.landlock and os.environ.get("WCDL_NO_LANDLOCK", "") in ("", "0"),
            "max_file_bytes": self.max_file_bytes,
        }
        fd = os.open(guard_dir / "policy.json", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(policy, fh)
        for t in tests:
            nb.cells[t["cell"]].source = STUB_SOURCE.format(index=tests.index(t), token=t["token"])
        nb.cells.insert(0, new_code_cell(SETUP_SOURCE, metadata={MARK: "setup"}))
        nb.cells.append(new_code_cell(FINAL_SOURCE, metadata={MARK: "final"}))
        resources[MARK] = {"dir": str(guard_dir), "ktmp": str(ktmp), "key": key.hex(), "nonce": nonce,
                           "originals": originals, "tests": [t["id"] for t in tests],
                           "source_nb": source_nb, "path": outer_path}
        return nb, resources


class GuardedKernelManager(AsyncKernelManager):
    """Starts the kernel inside grader.sandbox (when a policy is set)."""

    sandboxed = Bool(False)

    def format_kernel_cmd(self, extra_arguments=None):
        cmd = super().format_kernel_cmd(extra_arguments)
        if not self.sandboxed:
            return cmd
        # `-c` with sys.path[0] (the notebook's folder) dropped: files the
        # learner's code wrote there cannot stand in for the grader's modules
        boot = "import sys; del sys.path[0]; from grader.sandbox import main; main()"
        return [sys.executable, "-c", boot, "--", *cmd]


class GuardedExecute(Execute):
    """nbgrader's Execute, hardened (see the module docstring)."""

    max_output_bytes = Integer(200_000, help="Output kept per cell; the rest is dropped with a note.").tag(config=True)
    unresponsive_after = Integer(10, help="Seconds a kernel may take to answer after a cell timed out "
                                          "before it is stopped.").tag(config=True)
    kernel_env = List(Unicode(), help="More environment variables passed on to grading kernels (by name), "
                                      "besides grader.guard.KERNEL_ENV.").tag(config=True)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", GuardedKernelManager)
        super().__init__(*args, **kwargs)

    def preprocess(self, nb, resources=None, km=None):
        self._guard = (resources or {}).get(MARK)
        self._dead = None
        self._bytes: dict[int, int] = {}
        self._dropped: dict[int, int] = {}
        self._events: list[str] = []
        self._slow: set[str] = set()
        self._timed_out = None
        resources = resources if resources is not None else {}
        resources.setdefault("wcdl_execute", {})
        try:
            nb, resources = super().preprocess(nb, resources, km=km)
        except BaseException:
            if self._guard:      # GuardVerify will not run: do not leave the policy (hidden tests) behind
                shutil.rmtree(self._guard["dir"], ignore_errors=True)
                shutil.rmtree(self._guard["ktmp"], ignore_errors=True)
            raise
        finally:
            resources["wcdl_execute"] = {"died": self._dead, "events": self._events,
                                         "truncated": {int(k): v for k, v in self._dropped.items()}}
        return nb, resources

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        if self._guard:
            km.sandboxed = True
            km.connection_file = os.path.join(self._guard["dir"], "kernel.json")
        return km

    async def async_start_new_kernel(self, **kwargs):
        if self._guard:
            ktmp = self._guard["ktmp"]
            env = kernel_env(kwargs.get("env") or os.environ, self.kernel_env)
            env.pop(PROGRESS_ENV, None)
            # WCDL_GRADING: lets a notebook skip demonstrations the sandbox refuses (m02_6's torch.compile)
            env.update({POLICY_ENV: os.path.join(self._guard["dir"], "policy.json"), "TMPDIR": ktmp,
                        "IPYTHONDIR": os.path.join(ktmp, "ipython"),
                        "HF_MODULES_CACHE": os.path.join(ktmp, "hf_modules"), "WCDL_GRADING": "1"})
            kwargs["env"] = env
        return await super().async_start_new_kernel(**kwargs)

    start_new_kernel = run_sync(async_start_new_kernel)

    def _get_timeout(self, cell):
        timeout = super()._get_timeout(cell)
        if cell is not None and cell.get("metadata", {}).get(MARK) == "setup" and timeout is not None:
            return max(timeout, 600)     # imports torch & co. on a machine that may be loaded
        return timeout

    def _where(self, cell, index) -> str:
        gid = nbgrader_meta(cell).get("grade_id")
        return f"cell {gid!r}" if gid else f"code cell {index}"

    def _exit_reason(self) -> str:
        proc = getattr(getattr(self.km, "provisioner", None), "process", None)
        code = proc.poll() if proc is not None else None
        if code is None or code == 0:
            return "it exited" if code == 0 else "it stopped"
        if code < 0:
            try:
                return f"killed by signal {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        return f"exit code {code}"

    async def _async_handle_timeout(self, timeout, cell=None):
        self._timed_out = timeout
        return await super()._async_handle_timeout(timeout, cell)

    def _progress(self, resources, text: str) -> None:
        path = os.environ.get(PROGRESS_ENV)
        if path:
            try:
                with open(path, "a") as fh:
                    fh.write(f"{resources.get('nbgrader', {}).get('notebook', '')}: {text}\n")
            except OSError:
                pass

    def _ran(self, cell, resources, started: float, test: bool) -> None:
        """After a cell: a timeout named with its limit (and its exercise noted); a progress line per test."""
        gid = nbgrader_meta(cell).get("grade_id", "")
        if self._timed_out:
            why = f"ran past the {self._timed_out} s cell limit: an endless loop, or very slow code?"
            cell.outputs = [o for o in cell.get("outputs", []) if not (
                o.get("output_type") == "error" and o.get("ename") in ("KeyboardInterrupt", "CellTimeoutError"))]
            cell.outputs.append(_error_output("CellTimeoutError", why))
            if test:
                self._slow.add(exercise_of(gid))
        if not test:
            return
        if PUBLISHED and gid.endswith(HIDDEN_SUFFIX):    # a class repository: no hidden tests in its cells
            self._progress(resources, f"{gid}: hidden tests run when your instructor grades")
            return
        failed = any(o.get("output_type") == "error" for o in cell.get("outputs", []))
        self._progress(resources, f"{gid} {'FAILED' if failed else 'passed'} ({time.monotonic() - started:.1f} s)")

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or not cell.source.strip():
            return cell, resources
        if self._dead is not None:
            cell.outputs = [_error_output("KernelDied", f"not run: the kernel had stopped ({self._dead})")]
            return cell, resources
        test = is_test_cell(cell)
        if test and exercise_of(nbgrader_meta(cell)["grade_id"]) in self._slow:
            # its visible test already ran into the limit: the hidden one would too, and cost as long again
            cell.outputs = [_error_output("CellTimeoutError", "not run: the visible test of this exercise ran "
                                                              "past the cell time limit")]
            return cell, resources
        self._timed_out, started = None, time.monotonic()
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
            self._ran(cell, resources, started, test)
        except CellTimeoutError:
            # interrupted at the time limit, and then not even idle within nbclient's grace period
            self._events.append(f"{self._where(cell, index)} ran past the time limit and was interrupted")
            self._dead = f"did not respond after {self._where(cell, index)} was interrupted, and was stopped"
            self._events.append("the Python kernel " + self._dead + "; the cells after it did not run")
            cell.outputs = list(cell.get("outputs", [])) + [
                _error_output("CellTimeoutError", "the cell ran past the time limit and the kernel did not respond")]
            self._kill_kernel()
            return cell, resources
        except DeadKernelError:
            self._dead = f"died while running {self._where(cell, index)} ({self._exit_reason()})"
            self._events.append("the Python kernel " + self._dead + "; the cells after it did not run")
            cell.outputs = list(cell.get("outputs", [])) + [
                _error_output("DeadKernelError", f"the kernel died while running this cell ({self._exit_reason()})")]
            return cell, resources
        if any(o.get("output_type") == "error" and o.get("ename") == "CellTimeoutError" for o in cell.outputs):
            self._events.append(f"{self._where(cell, index)} ran past the time limit and was interrupted")
            if not self._responsive():
                self._dead = f"did not respond after {self._where(cell, index)} was interrupted, and was stopped"
                self._events.append("the Python kernel " + self._dead + "; the cells after it did not run")
                self._kill_kernel()
        return cell, resources

    def _kill_kernel(self) -> None:
        proc = getattr(getattr(self.km, "provisioner", None), "process", None)
        try:
            if proc is not None:
                os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            try:
                proc.kill()
            except Exception:  # noqa: BLE001 - stopping a stuck kernel is best effort
                pass

    def _responsive(self) -> bool:
        async def ask():
            msg_id = self.kc.kernel_info()
            deadline = time.monotonic() + self.unresponsive_after
            while time.monotonic() < deadline:
                try:
                    msg = await self.kc.get_shell_msg(timeout=max(0.1, deadline - time.monotonic()))
                except Exception:  # noqa: BLE001 - queue.Empty and friends
                    return False
                if msg.get("parent_header", {}).get("msg_id") == msg_id:
                    return True
            return False

        try:
            return run_sync(ask)()
        except Exception:  # noqa: BLE001
            return False

    def output(self, outs, msg, display_id, cell_index):
        kind = msg.get("msg_type")
        content = msg.get("content", {})
        if kind == "error":
            content["ename"] = str(content.get("ename", ""))[:200]
            content["evalue"] = str(content.get("evalue", ""))[:10_000]
            tb = [str(line) for line in content.get("traceback") or []]
            tb = tb[:5] + ["..."] + tb[-40:] if len(tb) > 50 else tb
            # a line quotes the message (and the code) whole: a 40 MB message is 40 MB in each line
            content["traceback"] = [line if len(line) <= 10_000 else
                                    line[:10_000] + f" [... {len(line) - 10_000:,} characters cut]" for line in tb]
            return super().output(outs, msg, display_id, cell_index)
        if kind == "stream":
            size = len(content.get("text", ""))
        elif kind in ("display_data", "execute_result", "update_display_data"):
            # its metadata is kept in the notebook too
            size = sum(len(v) if isinstance(v, str) else len(json.dumps(v)) for v in content.get("data", {}).values()) \
                + len(json.dumps(content.get("metadata") or {}))
        else:
            return super().output(outs, msg, display_id, cell_index)
        used = self._bytes.get(cell_index, 0)
        if used + size > self.max_output_bytes:
            if cell_index not in self._dropped:
                outs.append(new_output("stream", name="stdout",
                                       text=f"\n[... the grader dropped the rest of this cell's output: more than "
                                            f"{self.max_output_bytes:,} characters ...]\n"))
            self._dropped[cell_index] = self._dropped.get(cell_index, 0) + size
            return None
        self._bytes[cell_index] = used + size
        return super().output(outs, msg, display_id, cell_index)


class GuardVerify(NbGraderPreprocessor):
    """After execution: check the guard's records and clean up (see the module docstring)."""

    def preprocess(self, nb, resources):
        guard = resources.pop(MARK, None)
        execute = resources.pop("wcdl_execute", {})
        notes: list[str] = list(execute.get("events", []))
        report: dict = {"guarded": guard is not None}
        truncated = execute.get("truncated", {})
        # cell indices above count the guard's first cell
        for idx, dropped in truncated.items():
            notes.append(f"output of code cell {int(idx) - (1 if guard else 0)} was cut: {dropped:,} more "
                         f"characters were dropped")
        if guard is not None:
            if guard.get("path"):
                resources.setdefault("metadata", {})["path"] = guard["path"]
            report.update(self._verify(nb, guard, notes))
        # no partial credit from an execute_result in a test cell (learner code can emit one)
        for cell in nb.cells:
            if is_test_cell(cell):
                faked = False
                for out in cell.get("outputs", []):
                    if out.get("output_type") == "execute_result":
                        out["output_type"] = "display_data"
                        out.pop("execution_count", None)
                        faked = True
                if faked:
                    notes.append(f"test cell {cell.metadata['nbgrader']['grade_id']!r} showed a result value; "
                                 "it was not counted as partial credit (tests pass or fail)")
        source_nb = guard.get("source_nb") if guard else None
        if source_nb is None:
            source_nb = _source_notebook(resources)
        for cell in nb.cells:
            if is_test_cell(cell) and cell.source.startswith("# This cell (id:") and "was missing" in cell.source:
                notes.append(f"test cell {cell.metadata['nbgrader']['grade_id']!r} was missing from the "
                             "submission; the grader put it back")
        release_nb = _source_notebook(resources, release=True)
        for i, cell in learner_cells(nb, source_nb, release_nb):
            err = next((o for o in cell.get("outputs", []) if o.get("output_type") == "error"), None)
            if err is not None and err.get("ename") not in ("NotImplementedError", "KernelDied", "DeadKernelError",
                                                            "CellTimeoutError", "KeyboardInterrupt"):
                name = nbgrader_meta(cell).get("grade_id") or f"code cell {i}"
                value = str(err.get("evalue", "")).strip().splitlines()
                notes.append(f"{name} raised {err.get('ename')}" + (f": {value[0][:150]}" if value else ""))
        report["review"] = scan_notebook(nb, source_nb, release_nb)
        if guard is not None and not str(report.get("sandbox") or "").startswith("Landlock"):
            report["review"].insert(0, f"sandbox: {report.get('sandbox') or 'none (the notebook did not finish)'}")
        report["notes"] = notes
        if notes:
            nb.cells.insert(0, new_markdown_cell(notes_markdown(notes), metadata={MARK: "notes"}))
        info = resources.get("nbgrader", {})
        if info.get("student"):
            out = Path(os.getcwd()) / "guard" / info["student"] / info.get("assignment", "")
            out.mkdir(parents=True, exist_ok=True)
            (out / f"{info.get('notebook', 'notebook')}.json").write_text(json.dumps(report, indent=1))
        return nb, resources

    def _verify(self, nb, guard: dict, notes: list[str]) -> dict:
        gdir = Path(guard["dir"])
        try:
            text = (gdir / "records.log").read_text(errors="replace")
        except OSError:
            text = ""
        records, final, bad = parse_records(text, bytes.fromhex(guard["key"]), guard["nonce"])
        self._stop_leftovers(gdir)
        shutil.rmtree(gdir, ignore_errors=True)
        shutil.rmtree(guard["ktmp"], ignore_errors=True)     # the kernel's folder: never read, links and all
        nb.cells = [c for c in nb.cells if not c.get("metadata", {}).get(MARK)]
        index = {gid: i for i, gid in enumerate(guard["tests"])}
        outcomes = {}
        for cell in nb.cells:
            if not is_test_cell(cell):
                continue
            gid = nbgrader_meta(cell)["grade_id"]
            cell.source = guard["originals"].get(gid, cell.source)
            rec = records.get(index.get(gid, -1))
            errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
            if rec is not None and rec["id"] != gid:
                rec = None
            if rec is None:
                outcomes[gid] = "no record"
                if not errors:
                    cell.outputs = list(cell.get("outputs", [])) + [_error_output(
                        "GraderIntegrityError", "this test did not run under the grader's control, so it earns "
                        "no points (did the notebook interfere with how cells run?)")]
                    notes.append(f"test cell {gid!r} did not run under the grader's control: no points")
            elif rec["ok"]:
                outcomes[gid] = "passed" if not errors else "error in the cell"
            else:
                outcomes[gid] = f"failed ({rec['ename']})"
                if not errors:
                    cell.outputs = list(cell.get("outputs", [])) + [_error_output(rec["ename"], rec["evalue"])]
                    notes.append(f"test cell {gid!r} failed ({rec['ename']}) although the notebook hid the error")
        if bad:
            notes.append(f"{bad} forged or damaged grader record(s) were ignored")
        sandbox = final["sandbox"] if final else None
        for n in (final or {}).get("notes", []):
            kind, _, what = n.partition(": ")
            if kind == "restored":
                notes.append(f"the grader restored {what} (changed by the notebook) before the tests")
            elif kind == "rebound":
                notes.append(f"the notebook rebound the name {what}; the tests used the original")
            elif kind in ("blocked", "refused", "started"):
                notes.append(f"{kind}: {what}")
        if final is None:
            notes.append("the notebook did not run to its end under the grader's control")
        return {"sandbox": sandbox, "tests": outcomes, "records_ignored": bad, "finished": final is not None}

    def _stop_leftovers(self, gdir: Path) -> None:
        """Kill what the kernel left running in its process group (forked helpers)."""
        try:
            pid, pgid = (int(x) for x in (gdir / "kernel.pid").read_text().split())
        except (OSError, ValueError):
            return
        if pgid > 1 and pgid != os.getpgid(0):
            try:
                os.killpg(pgid, signal.SIGKILL)
            except OSError:
                pass
