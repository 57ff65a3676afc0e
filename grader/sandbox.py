"""The grading kernel's sandbox: runs *as* the Jupyter kernel process.

`grader.guard.GuardedExecute` starts every grading kernel as

    python -m grader.sandbox -- <the kernel's usual command line>

and this module, before ipykernel starts and before any learner code runs:

1. reads the per-notebook policy (a JSON file named by $WCDL_GUARD_POLICY,
   written by the grader; it holds the test cells' code and a secret key),
   then forgets where it was;
2. sets resource limits (no core files, a cap on file sizes) and asks the
   OS to kill the kernel when its parent (nbgrader) dies;
3. on Linux with Landlock (5.13+), confines the whole process, its threads
   and its children, for good: files can be read only under the Python
   installation, system folders, the data folders and the notebook's own
   folder, and written only in the notebook's folder and a private temp
   folder; no TCP connections; no signals to processes outside the sandbox.
   The OS enforces this: native code and subprocesses are confined too;
4. installs a Python audit hook (hooks cannot be removed from Python) that
   refuses the same file accesses where Landlock is missing, refuses new
   audit hooks, tracing and heap walking (gc), and, while a test runs,
   refuses handing stack frames to learner code;
5. runs ipykernel.

The hook also *runs the tests*. At grading time each test cell's code is
replaced by a stub that asks the hook to run test number i: the hook
restores the helper modules (wcdl.checks, numpy, torch, ...) and builtins
from a snapshot taken before any learner code ran, runs the test's code in
a private namespace holding the genuine helpers, and prints a record
`wcdl-guard-record <mac> <json>` of the outcome, signed with the policy's
key. The grader (outside the kernel) gives a test cell its points only if
its signed record says it passed. The test code never enters the learner's
namespace, the kernel's history or linecache, so learner code cannot read
hidden tests either.
"""

from __future__ import annotations

import ctypes
import json
import os
import struct
import sys

POLICY_ENV = "WCDL_GUARD_POLICY"
RECORD_PREFIX = "wcdl-guard-record"

# ---------------------------------------------------------------- Landlock

_SYS_CREATE, _SYS_ADD_RULE, _SYS_RESTRICT = 444, 445, 446      # same numbers on x86_64 and aarch64
_RULE_PATH_BENEATH, _RULE_NET_PORT = 1, 2
_PR_SET_NO_NEW_PRIVS, _PR_SET_PDEATHSIG = 38, 1

_EXECUTE, _WRITE_FILE, _READ_FILE, _READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_REMOVE_DIR, _REMOVE_FILE, _MAKE_CHAR, _MAKE_DIR = 1 << 4, 1 << 5, 1 << 6, 1 << 7
_MAKE_REG, _MAKE_SOCK, _MAKE_FIFO, _MAKE_BLOCK, _MAKE_SYM = 1 << 8, 1 << 9, 1 << 10, 1 << 11, 1 << 12
_REFER, _TRUNCATE, _IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
_FILE_RIGHTS = _EXECUTE | _WRITE_FILE | _READ_FILE | _TRUNCATE | _IOCTL_DEV
_NET_CONNECT_TCP = 1 << 1
_SCOPE_SIGNAL = 1 << 1


def _fs_rights(abi: int) -> int:
    rights = (1 << 13) - 1
    if abi >= 2:
        rights |= _REFER
    if abi >= 3:
        rights |= _TRUNCATE
    if abi >= 5:
        rights |= _IOCTL_DEV
    return rights


def landlock_abi() -> int:
    """Landlock ABI version of the running kernel, 0 when unavailable."""
    if not sys.platform.startswith("linux"):
        return 0
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        abi = libc.syscall(_SYS_CREATE, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    except (OSError, AttributeError):
        return 0
    return max(int(abi), 0)


def apply_landlock(read: list[str], write: list[str], files: list[str]) -> str:
    """Confine this process (and its future threads and children) for good.

    `read`: folders readable (and executable); `write`: folders with every
    right; `files`: single files readable. Returns a description, or raises
    OSError when Landlock is missing or refuses.
    """
    abi = landlock_abi()
    if abi < 1:
        raise OSError("Landlock is not available on this system")
    libc = ctypes.CDLL(None, use_errno=True)
    fs = _fs_rights(abi)
    net = _NET_CONNECT_TCP if abi >= 4 else 0
    scoped = _SCOPE_SIGNAL if abi >= 6 else 0
    attr = struct.pack("QQQ", fs, net, scoped)[: 8 if abi < 4 else 16 if abi < 6 else 24]
    buf = ctypes.create_string_buffer(attr, len(attr))
    ruleset = libc.syscall(_SYS_CREATE, buf, ctypes.c_size_t(len(attr)), ctypes.c_uint32(0))
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")
    read_rights = _EXECUTE | _READ_FILE | _READ_DIR | (_IOCTL_DEV if abi >= 5 else 0)
    added = 0
    try:
        for paths, rights in ((read, read_rights), (write, fs), (files, _READ_FILE)):
            for path in paths:
                try:
                    fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
                except OSError:
                    continue
                try:
                    allowed = rights if os.path.isdir(path) else rights & _FILE_RIGHTS
                    rule = struct.pack("=Qi", allowed, fd)
                    rbuf = ctypes.create_string_buffer(rule, len(rule))
                    if libc.syscall(_SYS_ADD_RULE, ruleset, ctypes.c_int(_RULE_PATH_BENEATH), rbuf,
                                    ctypes.c_uint32(0)) < 0:
                        raise OSError(ctypes.get_errno(), f"landlock_add_rule failed for {path}")
                    added += 1
                finally:
                    os.close(fd)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
        if libc.syscall(_SYS_RESTRICT, ruleset, ctypes.c_uint32(0)) < 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")
    finally:
        os.close(ruleset)
    what = ["files"]
    if net:
        what.append("TCP connections")
    if scoped:
        what.append("signals")
    return f"Landlock ABI {abi} ({', '.join(what)}; {added} rules)"


# ---------------------------------------------------------------- paths

def _real(p: str) -> str:
    return os.path.realpath(os.path.expanduser(p))


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def split_roots(roots: list[str], deny: list[str]) -> list[str]:
    """`roots` minus the `deny` trees: a root holding a denied path is replaced
    by those of its children that hold none (recursively)."""
    out: list[str] = []
    for root in roots:
        if any(_under(root, d) for d in deny):
            continue
        inner = [d for d in deny if _under(d, root)]
        if not inner:
            out.append(root)
            continue
        try:
            children = [os.path.join(root, c) for c in os.listdir(root)]
        except OSError:
            continue
        out += split_roots([os.path.realpath(c) for c in children if os.path.realpath(c) not in inner
                            and not os.path.islink(c)], inner)
    return out


def interpreter_roots() -> list[str]:
    """The Python installation: readable even inside a denied folder (a venv in the repository)."""
    import sysconfig

    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = sysconfig.get_paths().get(key)
        if path:
            roots.add(path)
    return sorted({_real(r) for r in roots if os.path.exists(r)})


def python_roots() -> list[str]:
    """Folders the interpreter and its packages are read from."""
    roots = set(interpreter_roots())
    roots |= {p for p in sys.path if p and os.path.isabs(p)}
    # editable installs (e.g. this repository's wcdl/ and grader/ packages) map names to folders
    for finder in sys.meta_path:
        mapping = getattr(sys.modules.get(getattr(finder, "__module__", "")), "MAPPING", None)
        if isinstance(mapping, dict):
            roots |= {str(v) for v in mapping.values()}
    return sorted({_real(r) for r in roots if os.path.exists(r)})


SYSTEM_ROOTS = ["/usr", "/lib", "/lib32", "/lib64", "/libx32", "/bin", "/sbin", "/etc", "/opt", "/proc",
                "/sys", "/dev", "/snap", "/nix", "/System", "/Library", "/private/etc"]
# secrets a kernel has no business reading (it could print them into its own feedback)
SYSTEM_SECRETS = ["/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-", "/etc/sudoers", "/etc/sudoers.d",
                  "/etc/ssh", "/etc/ssl/private", "/etc/security/opasswd", "/etc/krb5.keytab"]
# in the home folder, only what libraries read (not ~/.config at large: tokens, credentials ...)
HOME_READ = ["~/.cache/matplotlib", "~/.config/matplotlib", "~/.matplotlib", "~/.cache/wcdl", "~/.cache/torch",
             "~/.cache/huggingface/hub", "~/.cache/huggingface/modules", "~/.local/lib",
             "~/.local/share/jupyter/kernels", "~/.nv", "~/.keras", "~/.ipython/extensions"]
ENV_READ = ["WCDL_DATA_DIR", "HF_HUB_CACHE", "TRANSFORMERS_CACHE", "TORCH_HOME", "MPLCONFIGDIR", "NUMBA_CACHE_DIR",
            "SCIKIT_LEARN_DATA", "CUDA_HOME", "CUDA_PATH", "CONDA_PREFIX"]


def read_roots(extra: list[str]) -> list[str]:
    roots = set(SYSTEM_ROOTS) | {_real(p) for p in HOME_READ}
    roots |= {_real(os.environ[v]) for v in ENV_READ if os.environ.get(v)}
    roots |= set(python_roots()) | {_real(p) for p in extra}
    return sorted(r for r in roots if os.path.exists(r))


# ---------------------------------------------------------------- the audit hook

# Compiled into a private namespace that nothing else references: learner
# code cannot reach these functions or their state (no gc walks, no frames of
# them while tests run), and cannot replace their code (hooks are permanent).
_HOOK_SOURCE = r'''
def _sw(s, prefixes):
    for p in prefixes:
        if str_startswith(s, p):
            return True
    return False


def _trusted(fn):
    return _sw(fn, TRUSTED)


def _transparent(fn):
    # standard-library frames (inspect, traceback, logging, collections, importlib ...)
    # pass frames on to whoever called them; they neither grant nor deny trust
    if str_startswith(fn, "<frozen "):
        return True
    return _sw(fn, STDLIB) and not _sw(fn, TRUSTED)


def _untrusted_requester(frame):
    # The first frame, walking out through the standard library, decides:
    # the hook itself and installed packages are trusted, anything else
    # (notebook cells, test code, strings given to exec) is not.
    f = frame
    n = 0
    while f is not None and n < 100:
        fn = f.f_code.co_filename
        if type(fn) is not str:
            return True
        if str_eq(fn, HOOK_FILE):
            return False
        if not _transparent(fn):
            return not _trusted(fn)
        f = f.f_back
        n += 1
    return False


def _note(kind, text):
    lst = S["notes"].get(kind)
    if lst is None:
        lst = S["notes"][kind] = []
    if len(lst) < 20 and text not in lst:
        lst.append(text)


def _resolve(path):
    # absolute, normalised, symlinks resolved; no Python-level os.path involved
    if type(path) is bytes:
        path = bytes_decode(path, "utf-8", "surrogateescape")
    if type(path) is not str:
        return None
    if not str_startswith(path, "/"):
        path = getcwd() + "/" + path
    parts = []
    todo = [p for p in str_split(path, "/") if p]
    hops = 0
    while todo:
        part = todo.pop(0)
        if part == ".":
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        cur = "/" + str_join("/", parts + [part])
        try:
            target = readlink(cur)
        except OSError:
            parts.append(part)
            continue
        hops += 1
        if hops > 40:
            return cur
        if str_startswith(target, "/"):
            parts = []
        todo = [p for p in str_split(target, "/") if p] + todo
    return "/" + str_join("/", parts)


def _inside(path, roots):
    for r in roots:
        if str_eq(path, r) or str_startswith(path, r + "/"):
            return True
    return False


def _may_read(path):
    return _inside(path, ALLOW) or not _inside(path, DENY)


def _may_write(path):
    return _inside(path, WRITE)


def _path_arg(p):
    t = type(p)
    if t is str or t is bytes:
        return _resolve(p)
    if t is int:
        return None              # an open file descriptor: checked when it was opened
    raise GuardRefused("refused by the grader: without an OS sandbox, give file paths as str or bytes")


def _safe(x):
    t = type(x)
    if t is str:
        return x[:300]
    if t is int:
        return int_repr(x)
    if t is bytes:
        return bytes_decode(x[:300], "utf-8", "replace")
    return "?"


WRITE_MODES = ("w", "a", "x", "+")
FS_WRITE_EVENTS = frozenset(("os.remove", "os.rmdir", "os.rename", "os.mkdir", "os.symlink", "os.link",
                             "os.chmod", "os.chown", "os.truncate", "os.utime", "os.chflags", "os.lchflags",
                             "os.mkfifo", "os.mknod", "shutil.rmtree", "shutil.move", "shutil.copytree",
                             "os.removexattr", "os.setxattr"))
FS_READ_EVENTS = frozenset(("os.listdir", "os.scandir", "glob.glob", "os.getxattr", "os.listxattr"))
PROC_EVENTS = frozenset(("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
                         "os.startfile", "pty.spawn"))
ALWAYS_REFUSE = frozenset(("gc.get_objects", "gc.get_referrers", "gc.get_referents", "sys._current_frames",
                           "sys.settrace", "sys.setprofile", "sys._current_exceptions"))
FRAME_ATTRS = frozenset(("tb_frame", "gi_frame", "cr_frame", "ag_frame", "f_back"))
VOLATILE_BUILTINS = frozenset(("input", "_", "__", "___", "getpass"))   # ipykernel and the displayhook set these
GUARDED_ATTRS = frozenset(("__code__", "__defaults__", "__kwdefaults__", "__globals__"))
INTERESTING = frozenset(("open", "sqlite3.connect", "sys.addaudithook", "object.__setattr__",
                         "object.__getattr__", "sys._getframe", "compile", "code.__new__", "os.kill",
                         "os.killpg", "wcdl.guard.setup", "wcdl.guard.test", "wcdl.guard.final")) \
    | FS_WRITE_EVENTS | FS_READ_EVENTS | PROC_EVENTS | ALWAYS_REFUSE


class GuardRefused(PermissionError):
    pass


def _refuse(kind, text):
    _note(kind, text)
    raise GuardRefused("refused by the grader: " + text)


def _deny(kind, text, quiet=False):
    # with Landlock the OS refuses the same access (whatever code asks); note it either way
    if S["landlocked"]:
        if not quiet:
            _note(kind, text)
    elif quiet:
        raise GuardRefused("refused by the grader: " + text)
    else:
        _refuse(kind, text)


def hook(event, args):
    if type(event) is not str or event not in INTERESTING:
        return
    tid = get_ident()
    if tid in BUSY:
        return
    BUSY.add(tid)
    try:
        if S["armed"]:
            _check(event, args)
        elif str_eq(event, "wcdl.guard.setup"):
            _setup()
    finally:
        BUSY.discard(tid)


def _check(event, args):
    if event == "open":
        path, mode, flags = args
        p = _path_arg(path)
        if p is None:
            return
        writing = (type(mode) is str and any(c in mode for c in WRITE_MODES)) or (
            mode is None and type(flags) is int and flags & WRITE_FLAGS)
        if writing:
            if not _may_write(p):
                _deny("blocked", "writing " + p)
        elif not _may_read(p):
            _deny("blocked", "reading " + p)
    elif event == "sqlite3.connect":
        if args and type(args[0]) in (str, bytes):
            p = _path_arg(args[0])
            if p is not None and not _may_read(p):
                _deny("blocked", "opening the database " + p)
    elif event in FS_WRITE_EVENTS:
        for a in args[:2]:
            if type(a) in (str, bytes):
                p = _path_arg(a)
                if p is not None and not _may_write(p):
                    # libraries try to make their cache folders (matplotlib ...): not worth a note
                    _deny("blocked", event + " on " + p, quiet=event == "os.mkdir" and not _inside(p, DENY))
    elif event in FS_READ_EVENTS:
        if args and type(args[0]) in (str, bytes):
            p = _path_arg(args[0])
            if p is not None and not _may_read(p):
                _deny("blocked", "listing " + p)
    elif event in ALWAYS_REFUSE:
        _refuse("refused", event + " (it could reach into the grader)")
    elif event == "sys.addaudithook":
        _note("refused", "sys.addaudithook")
        raise RuntimeError("refused by the grader: sys.addaudithook")
    elif event == "object.__setattr__":
        name = args[1] if len(args) > 1 else None
        if type(name) is str and name in GUARDED_ATTRS and id(args[0]) in S["protected"]:
            _refuse("refused", "changing " + name + " of a grading helper")
    elif event == "object.__getattr__":
        name = args[1] if len(args) > 1 else None
        if S["in_test"] and type(name) is str and name in FRAME_ATTRS and _untrusted_requester(getframe(2)):
            _refuse("refused", "reading " + name + " while a test runs")
    elif event == "sys._getframe":
        if S["in_test"] and _untrusted_requester(getframe(2)):
            _refuse("refused", "sys._getframe while a test runs")
    elif event == "compile":
        fn = args[1] if len(args) > 1 else None
        if type(fn) is bytes:
            fn = bytes_decode(fn, "utf-8", "surrogateescape")
        src = args[0]
        if type(fn) is str and _trusted(fn) and type(src) in (str, bytes):
            try:
                with io_open(fn, "rb") as fh:
                    real = fh.read()
            except OSError:
                real = None
            if type(src) is str:
                src = str_encode(src, "utf-8", "surrogateescape")
            if real != src:
                _refuse("refused", "compiling code that claims to come from " + fn)
    elif event == "code.__new__":
        fn = args[0] if args else None
        if type(fn) is str and _trusted(fn) and _untrusted_requester(getframe(2)):
            _refuse("refused", "creating code that claims to come from " + fn)
    elif event == "os.kill" or event == "os.killpg":
        pid = args[0] if args else None
        what = event + "(" + _safe(pid) + ", " + _safe(args[1] if len(args) > 1 else None) + ")"
        if event == "os.killpg" or type(pid) is not int or pid <= 0 or pid == getppid():
            _refuse("blocked", what)
        if pid != getpid() and not _descendant(pid):
            _refuse("blocked", what)
    elif event in PROC_EVENTS:
        what = _safe(args[0]) if args else "?"
        if not S["landlocked"]:
            _refuse("blocked", "starting a program (" + what + ") without an OS sandbox")
        _note("started", "a program (" + what + "), confined by the OS sandbox")
    elif event == "wcdl.guard.test":
        _run_test(args)
    elif event == "wcdl.guard.final":
        _final()


def _descendant(pid):
    me = getpid()
    if not PROC:
        return True      # no /proc (macOS): cannot tell; the parent and process groups stay refused
    for _ in range(64):
        try:
            with io_open("/proc/" + int_repr(pid) + "/stat", "rb") as fh:
                stat = bytes_decode(fh.read(), "ascii", "replace")
        except OSError:
            return False
        ppid = int(str_split(str_rsplit(stat, ")", 1)[1])[1])
        if ppid == me:
            return True
        if ppid <= 1:
            return False
        pid = ppid
    return False


def _code_like(v):
    return callable(v) or isinstance(v, (classmethod, staticmethod, property)) or type(v) is type(sys_mod)


def _setup():
    import importlib
    S["armed"] = True
    # the notebook's folder goes last on sys.path: files learner code writes
    # there cannot stand in for installed modules
    cwd = getcwd()
    sys_mod.path[:] = [p for p in sys_mod.path if p not in ("", ".", cwd)] + [cwd]
    ip = None
    try:
        from IPython import get_ipython
        ip = get_ipython()
    except Exception:
        pass
    S["user_ns"] = ip.user_ns if ip is not None else None
    mods = {}
    for name in ["builtins", "math"] + list(P["snapshot_modules"]):
        try:
            mods[name] = importlib.import_module(name)
        except Exception as e:
            _note("setup", "could not import " + name + ": " + type(e).__name__)
    snap = {}
    protected = set()
    classes = []
    for name, m in mods.items():
        d = m.__dict__
        # the course's own modules keep state in module globals: keep (and restore) only their
        # functions and classes; for the libraries, every name
        snap[name] = (m, d, {k: v for k, v in d.items() if _code_like(v)} if str_startswith(name, "wcdl.") else dict(d))
        helpers = name.startswith("wcdl.") or name in ("torch.testing", "numpy.testing")
        for v in list(d.values()):
            if helpers and callable(v):
                protected.add(id(v))
            if helpers and isinstance(v, type) and getattr(v, "__module__", "") == name:
                classes.append(v)
    for modname, clsname in P["snapshot_classes"]:
        m = mods.get(modname)
        c = m.__dict__.get(clsname) if m is not None else None
        if isinstance(c, type):
            classes.append(c)
    S["snap"] = snap
    S["classes"] = [(c, {k: v for k, v in c.__dict__.items() if _code_like(v)}
                     if str_startswith(c.__module__, "wcdl.") else dict(c.__dict__), frozenset(c.__dict__))
                    for c in classes]
    S["protected"] = frozenset(protected)
    bind = {}
    for local, modname, attr in P["bindings"]:
        m = mods.get(modname)
        if m is None:
            continue
        if attr is None:
            bind[local] = m
        elif attr in m.__dict__:
            bind[local] = m.__dict__[attr]
    S["bindings"] = bind
    import linecache
    for t in P["tests"]:
        fn = "<wcdl-test " + t["id"] + ">"
        S["codes"].append(compile(t["source"], fn, "exec", dont_inherit=True))
        if not t["hidden"]:
            linecache.cache[fn] = (len(t["source"]), None, t["source"].splitlines(True), fn)


def _learners(v):
    # a value the notebook's own code made (a function or class defined in a cell)
    try:
        return getattr(v, "__module__", None) == "__main__" or not callable(v)
    except BaseException:
        return True


def _restore():
    changed = []
    mods = sys_mod.modules
    for name, (m, d, saved) in S["snap"].items():
        cur = mods.get(name)
        if cur is not m:
            mods[name] = m
            # libraries swap in a fresh module of their own kind (transformers' lazy module when a
            # model loads): put back silently; a helper module or a different kind of object is news
            if str_startswith(name, "wcdl.") or name in ("torch.testing", "numpy.testing") or type(cur) is not type(m):
                changed.append("sys.modules[" + name + "]")
        for k, v in saved.items():
            cur = d.get(k, MISSING)
            if cur is not v:
                if name == "builtins" and k in VOLATILE_BUILTINS:
                    continue
                d[k] = v
                if cur is MISSING or str_startswith(name, "wcdl.") or _learners(cur):
                    changed.append(name + "." + k)
    for c, saved, names in S["classes"]:
        cur = c.__dict__
        for k, v in saved.items():
            now = cur.get(k, MISSING)
            if now is not v:
                try:
                    type_setattr(c, k, v)
                except (TypeError, AttributeError):
                    continue
                if now is MISSING or _learners(now):
                    changed.append(c.__module__ + "." + c.__qualname__ + "." + k)
        # a special method added after the snapshot would shadow the original (Tensor.__eq__ ...)
        for k in [k for k in cur if k not in names and str_startswith(k, "__") and str_endswith(k, "__")]:
            try:
                type_delattr(c, k)
                changed.append(c.__module__ + "." + c.__qualname__ + "." + k)
            except (TypeError, AttributeError):
                pass
    for x in changed:
        _note("restored", x)


def _wrap(fn):
    def guarded(*a, **k):
        _restore()
        return fn(*a, **k)
    try:
        guarded.__name__ = fn.__name__
        guarded.__doc__ = fn.__doc__
    except Exception:
        pass
    return guarded


def _hx(text):
    return str_encode(text, "utf-8", "replace").hex()


def _emit(fields):
    body = str_join(";", [_hx(f) for f in fields])
    mac = hmac_digest(KEY, str_encode(body, "ascii"), "sha256").hex()
    try:
        os_write(RECORD_FD, str_encode(RECORD_PREFIX + " " + mac + " " + body + "\n", "ascii"))
    except OSError:
        pass


def _run_test(args):
    i = args[0] if args else None
    box = args[1] if len(args) > 1 and type(args[1]) is list else None
    if type(i) is not int or not 0 <= i < len(P["tests"]) or i in S["ran"] or box is None:
        _note("refused", "a test stub was called out of turn")
        return
    S["ran"][i] = True
    t = P["tests"][i]
    tid = get_ident()
    ok, ename, evalue, shown = True, "", "", ""
    err = None
    # Everything below may run learner code (a value's __eq__, a helper it patched ...):
    # it runs in the test context, where frames are not handed to learner code.
    S["in_test"] = True
    BUSY.discard(tid)
    try:
        try:
            _restore()
            user = S["user_ns"] if S["user_ns"] is not None else {}
            ns = dict(user)
            # names an earlier hidden test defined, unless a cell rebound them since (as in a plain notebook)
            for k, (v, was) in S["overlay"].items():
                if user.get(k, MISSING) is was:
                    ns[k] = v
            for name, obj in S["bindings"].items():
                ns[name] = _wrap(obj) if callable(obj) and not isinstance(obj, type) else obj
            ns["__builtins__"] = S["snap"]["builtins"][0]
            start = dict(ns)
            for name, obj in S["bindings"].items():
                if user.get(name, MISSING) is not MISSING and user.get(name) is not obj:
                    _note("rebound", name)
            exec(S["codes"][i], ns)
            for name, obj in S["bindings"].items():
                if user.get(name, MISSING) is not MISSING and user.get(name) is not obj:
                    _note("rebound", name)
        except BaseException as e:
            err = e
        if err is not None:
            ok = False
            ename = type_name(type(err))
            try:
                evalue = str_str(str(err))[:2000]
            except BaseException:
                evalue = "(the error message could not be shown)"
            if not t["hidden"] and ename not in ("CheckFailed", "NotImplementedError", "KeyboardInterrupt"):
                try:
                    import traceback
                    tb = err.__traceback__.tb_next if err.__traceback__ is not None else None
                    shown = str_join("", traceback.format_exception(type(err), err, tb)[-30:])
                except BaseException:
                    shown = ""
        # names a visible test (re)defines stay visible to later cells; a hidden test's stay private
        for k, v in list(ns.items()):
            if k == "__builtins__" or k in S["bindings"]:
                continue
            if start.get(k, MISSING) is not v:
                if t["hidden"]:
                    S["overlay"][k] = (v, user.get(k, MISSING))
                else:
                    user[k] = v
        ns = start = None
    except BaseException:
        ok = False
    finally:
        BUSY.add(tid)
        S["in_test"] = False
    _emit(["test", NONCE, int_repr(i), t["id"], "1" if ok else "0", ename, evalue])
    if err is not None:
        err.__traceback__ = None
        err.__context__ = None
        err.__cause__ = None
        err.__suppress_context__ = True
        box.append(err)
        box.append(shown)


def _final():
    S["finals"] = S.get("finals", 0) + 1
    if S["finals"] > 5:
        return
    notes = []
    for kind, items in S["notes"].items():
        for x in items:
            notes.append(kind + ": " + x)
    _emit(["final", NONCE, str_join(",", [int_repr(k) for k in sorted(S["ran"])]), S["sandbox"]] + notes)
'''


def _private_hook(policy: dict, sandbox: str, landlocked: bool, deny: list[str], allow: list[str],
                  write: list[str], record_fd: int):
    """Build the hook in a namespace of its own; return the hook function."""
    import builtins
    import io
    import threading

    try:
        from _hashlib import hmac_digest
    except ImportError:  # Python built without OpenSSL
        import hmac

        def hmac_digest(key, msg, digest):
            return hmac.new(key, msg, digest).digest()

    stdlib = sorted({_real(os.path.dirname(os.__file__)).rstrip("/") + "/"})
    trusted = sorted({_real(p).rstrip("/") + "/" for p in python_roots() if "site-packages" in p
                      or "dist-packages" in p} | {_real(p).rstrip("/") + "/" for p in policy.get("trusted_code", [])})
    g = {
        "__builtins__": dict(vars(builtins)),
        "__name__": "wcdl_guard_private",
        "P": {"tests": policy.get("tests", []), "bindings": policy.get("bindings", []),
              "snapshot_modules": policy.get("snapshot_modules", []),
              "snapshot_classes": policy.get("snapshot_classes", [])},
        "S": {"armed": False, "in_test": False, "ran": {}, "notes": {}, "overlay": {}, "user_ns": None,
              "snap": {}, "classes": [], "protected": frozenset(), "bindings": {}, "codes": [],
              "sandbox": sandbox, "landlocked": landlocked},
        "KEY": bytes.fromhex(policy["key"]), "NONCE": policy["nonce"], "RECORD_PREFIX": RECORD_PREFIX,
        "RECORD_FD": record_fd,
        "DENY": tuple(deny), "ALLOW": tuple(allow), "WRITE": tuple(write),
        "STDLIB": tuple(stdlib), "TRUSTED": tuple(trusted), "HOOK_FILE": "<wcdl-guard>",
        "BUSY": set(), "MISSING": object(),
        "getcwd": os.getcwd, "readlink": os.readlink, "getppid": os.getppid, "getpid": os.getpid,
        "get_ident": threading.get_ident, "getframe": sys._getframe, "io_open": io.open,
        "os_write": os.write, "hmac_digest": hmac_digest, "sys_mod": sys,
        "str_startswith": str.startswith, "str_endswith": str.endswith, "str_eq": str.__eq__,
        "str_split": str.split, "str_rsplit": str.rsplit, "str_join": str.join, "str_encode": str.encode,
        "str_str": str.__str__, "bytes_decode": bytes.decode, "int_repr": int.__repr__,
        "type_setattr": type.__setattr__, "type_delattr": type.__delattr__,
        "type_name": type.__dict__["__name__"].__get__,
        "PROC": os.path.exists("/proc/self/stat"),
        "WRITE_FLAGS": os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND,
    }
    exec(compile(_HOOK_SOURCE, "<wcdl-guard>", "exec"), g)
    return g["hook"]


# ---------------------------------------------------------------- launcher

def _prepare() -> None:
    path = os.environ.pop(POLICY_ENV, None)
    if path is None:
        return  # not a grading kernel: run it unguarded
    try:
        os.unsetenv(POLICY_ENV)
    except OSError:
        pass
    with open(path) as fh:
        policy = json.load(fh)
    # the notebook's folder, a private temp folder, and what the OS needs
    cwd = _real(os.getcwd())
    write = [_real(p) for p in policy.get("write_roots", [])] + [cwd]
    if os.path.isdir("/dev"):
        write.append("/dev")
    deny = sorted({_real(p) for p in policy.get("deny_roots", [])})
    allow = sorted(set(write) | {_real(p) for p in policy.get("allow_roots", [])} | set(interpreter_roots()))
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        fsize = int(policy.get("max_file_bytes", 1 << 30))
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    except (ImportError, ValueError, OSError):
        pass
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, 9, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    pid_file = policy.get("pid_file")
    if pid_file:
        with open(pid_file, "w") as fh:
            fh.write(f"{os.getpid()} {os.getpgid(0)}\n")
    record_fd = -1
    if policy.get("record_file"):
        fd = os.open(policy["record_file"], os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        record_fd = os.dup(fd)       # a number learner code is less likely to guess
        os.close(fd)
        os.set_inheritable(record_fd, False)
    sandbox, landlocked = "audit hook only", False
    if policy.get("landlock", True):
        roots = split_roots(read_roots(policy.get("read_roots", [])), deny + [p for p in SYSTEM_SECRETS
                                                                              if os.path.lexists(p)])
        files = [f for f in policy.get("read_files", []) if os.path.exists(f)]
        try:
            sandbox = apply_landlock(roots + [r for r in allow if os.path.isdir(r)], write, files)
            landlocked = True
        except OSError as e:
            sandbox = f"audit hook only (Landlock unavailable: {e})"
    hook = _private_hook(policy, sandbox, landlocked, deny, allow, write, record_fd)
    sys.addaudithook(hook)
    del hook, policy


def main() -> None:
    """`... -- python -m ipykernel_launcher -f CONNECTION_FILE` (or `python script.py`): run it in this process."""
    import runpy

    argv = sys.argv[1:]
    if argv and argv[0] == "--":
        argv = argv[1:]
    _prepare()
    if argv and os.path.basename(argv[0]).startswith("python"):
        argv = argv[1:]
    if argv[:1] == ["-m"] and len(argv) > 1:
        sys.argv = [argv[1]] + argv[2:]
        runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
    elif argv and argv[0].endswith(".py"):
        sys.argv = argv
        runpy.run_path(argv[0], run_name="__main__")
    else:
        raise SystemExit(f"grader.sandbox: cannot run {argv!r}")


if __name__ == "__main__":
    main()
