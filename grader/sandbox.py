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
   refuses the same file accesses where Landlock is missing (an allow list:
   the folders Landlock would let it read), refuses new audit hooks, tracing
   and heap walking (gc), and never hands a frame of its own (or one with its
   frames among the callers) to learner code;
5. runs ipykernel.

The hook also *runs the tests*. At grading time each test cell's code is
replaced by a stub that asks the hook to run test number i, with a one-time
token only that stub knows (so learner code cannot start, spend or nest a
test): the hook restores the helper modules (wcdl.checks, numpy, torch, ...)
and builtins from a snapshot taken before any learner code ran (its imports
see no folder the notebook can write), runs the test's code in a private
namespace holding the genuine helpers and the genuine builtins, and prints a
record `wcdl-guard-record <mac> <json>` of the outcome, signed with the
policy's key. The grader (outside the kernel) gives a test cell its points
only if its signed record says it passed. The test code never enters the
learner's namespace, the kernel's history or linecache, so learner code
cannot read hidden tests either.

While the hook works (outside a test's own code) no learner code runs: what
it needs from learner objects (a failed test's error) is copied into exact
`str`s while the test's rules still apply, and the error the cell shows is a
fresh one of a builtin or the guard's own type. `os_sandbox_available()`
says whether grading kernels here get Landlock.
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


_PROBE: tuple[bool, str] | None = None


def os_sandbox_available() -> tuple[bool, str]:
    """Whether grading kernels here get the OS sandbox (Landlock), and why not.

    Without it the audit hook alone enforces the rules, which native code and some
    Python-level routes get around (README, "Threat model"): `wcdl autograde` should
    refuse to grade then unless the instructor says so explicitly. Probes once, in a
    child process (a container may report Landlock and still refuse to apply it).
    """
    global _PROBE
    if os.environ.get("WCDL_NO_LANDLOCK", "") not in ("", "0"):
        return False, "WCDL_NO_LANDLOCK is set"
    if _PROBE is None:
        abi = landlock_abi()
        if abi < 1:
            _PROBE = (False, "this system has no Landlock (Linux 5.13 or later with Landlock enabled is needed)")
        else:
            import subprocess

            code = "from grader.sandbox import apply_landlock; print(apply_landlock(['/'], [], []))"
            try:
                proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
                ok = proc.returncode == 0
                why = proc.stdout.strip() if ok else (proc.stderr.strip().splitlines() or ["failed"])[-1]
            except (OSError, subprocess.SubprocessError) as e:
                ok, why = False, str(e)
            _PROBE = (ok, why if ok else f"Landlock could not be applied here: {why}")
    return _PROBE


_CLONE_NEWNS, _CLONE_NEWUSER = 0x00020000, 0x10000000
_MS_NOSUID, _MS_NODEV, _MS_REC, _MS_PRIVATE = 2, 4, 1 << 14, 1 << 18


def private_dev_shm() -> str:
    """Give this process (and its children) a /dev/shm of its own: an empty tmpfs in a
    private mount namespace, so kernels cannot pass files to each other through the one the
    machine shares. Needs Linux (as root, or with unprivileged user namespaces), and must run
    while the process has one thread and before Landlock (which forbids mounts). Returns a
    description, or raises OSError."""
    if not sys.platform.startswith("linux") or not os.path.isdir("/dev/shm"):
        raise OSError("no /dev/shm here")
    libc = ctypes.CDLL(None, use_errno=True)
    uid, gid = os.getuid(), os.getgid()
    if libc.unshare(_CLONE_NEWNS if uid == 0 else _CLONE_NEWNS | _CLONE_NEWUSER) != 0:
        raise OSError(ctypes.get_errno(), "unshare of the mount namespace failed")
    if uid != 0:
        for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
            with open(f"/proc/self/{name}", "w") as fh:
                fh.write(text)
    if libc.mount(b"none", b"/", None, _MS_REC | _MS_PRIVATE, None) != 0:
        raise OSError(ctypes.get_errno(), "making the mounts private failed")
    if libc.mount(b"tmpfs", b"/dev/shm", b"tmpfs", _MS_NOSUID | _MS_NODEV, b"mode=1777,size=2g") != 0:
        raise OSError(ctypes.get_errno(), "mounting a private /dev/shm failed")
    return "a private /dev/shm"


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


DEV_WRITE = ["/dev/shm", "/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"]
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


def proc_roots() -> list[str]:
    """/proc without other processes' folders (their memory, environment, open files):
    the system-wide entries and this process's own folder (not its children's)."""
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    return [f"/proc/{e}" for e in entries if not e.isdigit() and e not in ("self", "thread-self")] + \
        [f"/proc/{os.getpid()}"]


def read_roots(extra: list[str]) -> list[str]:
    roots = {r for r in SYSTEM_ROOTS if r != "/proc"} | set(proc_roots()) | {_real(p) for p in HOME_READ}
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
    # the guard itself (known by its code objects, not by a file name anyone can
    # claim) and installed packages are trusted, anything else (notebook cells,
    # test code, strings given to exec) is not; so is a stack that never decides.
    f = frame
    n = 0
    while f is not None and n < 200:
        code = f.f_code
        if id(code) in GUARD_CODES:
            return False
        fn = code.co_filename
        if type(fn) is not str:
            return True
        if not _transparent(fn):
            return not _trusted(fn)
        f = f.f_back
        n += 1
    return True


def _guard_below(f):
    # is this frame, or one of its callers, the guard's? (f_back is not audited: whoever
    # holds such a frame can walk into the guard's namespace)
    n = 0
    while f is not None and n < 2000:
        if id(f.f_code) in GUARD_CODES:
            return True
        f = f.f_back
        n += 1
    return f is not None


def _frame_for(event, args):
    # the frame object an event hands out, or None (types checked first: nothing of the learner's is called)
    if event == "sys._getframe":
        fr = args[0] if args else None
        return fr if type(fr) is FrameType else None
    if len(args) < 2:
        return None
    obj, name = args[0], args[1]
    t = type(obj)
    if t is TracebackType and str_eq(name, "tb_frame"):
        return TB_FRAME(obj)
    if t is GeneratorType and str_eq(name, "gi_frame"):
        return GI_FRAME(obj)
    if t is CoroutineType and str_eq(name, "cr_frame"):
        return CR_FRAME(obj)
    if t is AsyncGenType and str_eq(name, "ag_frame"):
        return AG_FRAME(obj)
    return None


def _note(kind, text):
    if type(text) is not str:
        text = str_str(text)        # an exact copy: a str subclass's methods are never called
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


def _other_process(path):
    # /proc/<pid>/... of another process (its memory, environment, open files, cwd ...)
    if not str_startswith(path, "/proc/"):
        return False
    head = str_split(path, "/")[2]
    return str_isdigit(head) and head != int_repr(getpid())


def _may_read(path):
    if S["landlocked"]:
        # the OS decides; the hook only notes what it refuses
        return _inside(path, ALLOW) or not _inside(path, DENY)
    # without Landlock the same allow list as the OS sandbox's
    if _other_process(path):
        return False
    return _inside(path, READ) or path in READ_FILES


def _may_write(path):
    return _inside(path, WRITE)


def _path_arg(p):
    t = type(p)
    if t is str or t is bytes:
        if not S["landlocked"]:
            rel = p if t is str else bytes_decode(p, "utf-8", "surrogateescape")
            # a relative path may be relative to a dir_fd the event does not show: without an OS
            # sandbox, one that climbs out ("..") is refused (folders can be opened only where
            # the notebook may write, see _check)
            if not str_startswith(rel, "/") and ".." in str_split(rel, "/"):
                raise GuardRefused("refused by the grader: without an OS sandbox, relative paths with '..' "
                                   "are refused (" + _safe(rel) + ")")
        return _resolve(p)
    if t is int:
        return None              # an open file descriptor: checked when it was opened
    raise GuardRefused("refused by the grader: without an OS sandbox, give file paths as str or bytes")


def isdir(p):
    try:
        return (os_stat(p).st_mode & 0o170000) == 0o040000
    except (OSError, ValueError):
        return False


def url_unquote(s):
    # %XX decoding for sqlite URIs (urllib's is Python code a notebook could patch)
    out = bytearray()
    i = 0
    n = len(s)
    while i < n:
        h = s[i + 1:i + 3]
        if s[i] == "%" and len(h) == 2 and h[0] in HEXDIGITS and h[1] in HEXDIGITS:
            out.append(int(h, 16))
            i += 3
        else:
            out += str_encode(s[i], "utf-8", "surrogateescape")
            i += 1
    return bytes_decode(bytes(out), "utf-8", "surrogateescape")


def _sqlite_paths(db):
    # the files sqlite3.connect may open: the name as given, and, for a URI, its path
    if type(db) is bytes:
        db = bytes_decode(db, "utf-8", "surrogateescape")
    if type(db) is not str:
        return None
    out = []
    if db != "" and db != ":memory:":
        out.append(db)
    if str_startswith(db, "file:"):
        rest = db[5:]
        for sep in ("?", "#"):
            rest = str_split(rest, sep, 1)[0]
        if str_startswith(rest, "///"):
            rest = rest[2:]
        elif str_startswith(rest, "//"):
            rest = "/" + str_split(rest[2:], "/", 1)[1] if "/" in rest[2:] else "/"
        rest = url_unquote(rest)
        if rest != "" and rest != ":memory:":
            out.append(rest)
    return out


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
HEXDIGITS = "0123456789abcdefABCDEF"
FS_WRITE_EVENTS = frozenset(("os.remove", "os.rmdir", "os.rename", "os.mkdir", "os.symlink", "os.link",
                             "os.chmod", "os.chown", "os.truncate", "os.utime", "os.chflags", "os.lchflags",
                             "os.mkfifo", "os.mknod", "shutil.rmtree", "shutil.move", "shutil.copytree",
                             "os.removexattr", "os.setxattr"))
FS_READ_EVENTS = frozenset(("os.listdir", "os.scandir", "glob.glob", "os.getxattr", "os.listxattr"))
PROC_EVENTS = frozenset(("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
                         "os.startfile", "pty.spawn"))
ALWAYS_REFUSE = frozenset(("gc.get_objects", "gc.get_referrers", "gc.get_referents", "sys._current_frames",
                           "sys.settrace", "sys.setprofile", "sys._current_exceptions"))
FRAME_ATTRS = frozenset(("tb_frame", "gi_frame", "cr_frame", "ag_frame"))
# packages whose loaded modules the test's start restores (their code; see _restore_deep)
DEEP_PACKAGES = frozenset(("numpy", "torch", "wcdl", "math", "cmath", "operator", "functools", "itertools",
                           "collections", "numbers", "contextlib", "copy", "abc", "types", "typing", "enum", "re",
                           "warnings", "weakref", "inspect", "dataclasses", "traceback", "linecache", "random",
                           "statistics", "fractions", "decimal", "_collections_abc", "_operator", "_functools"))
VOLATILE_BUILTINS = frozenset(("input", "_", "__", "___", "getpass"))   # ipykernel and the displayhook set these
MODULE_DUNDERS = frozenset(("__name__", "__doc__", "__package__", "__loader__", "__spec__"))
GUARDED_ATTRS = frozenset(("__code__", "__defaults__", "__kwdefaults__", "__globals__"))
IMPORT_CODE = (".pyc", ".pyo", ".zip", ".egg", ".whl", ".pyz")
NEEDS_REQUESTER = frozenset(("object.__getattr__", "sys._getframe", "compile", "code.__new__", "wcdl.guard.test"))
INTERESTING = frozenset(("open", "sqlite3.connect", "sys.addaudithook", "object.__setattr__",
                         "object.__getattr__", "sys._getframe", "compile", "code.__new__", "os.kill",
                         "os.killpg", "wcdl.guard.setup", "wcdl.guard.test", "wcdl.guard.final")) \
    | FS_WRITE_EVENTS | FS_READ_EVENTS | PROC_EVENTS | ALWAYS_REFUSE


class GuardRefused(PermissionError):
    pass


def _refuse(kind, text, quiet=False):
    if not quiet:
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


def _requester(up=2):
    # the frame that raised the event (`up` frames out from here: 2 from the hook), without
    # sys._getframe, whose event the hook checks; PyEval_GetFrame lends its frame and ctypes
    # takes it as given
    f = PF()
    INCREF(f)
    while up and f is not None:
        f = f.f_back
        up -= 1
    return f


def hook(event, args):
    if type(event) is not str or event not in INTERESTING:
        return
    tid = get_ident()
    if tid in BUSY:
        # Re-entered while the guard works: its own calls (imports while setting up, /proc
        # reads) pass. Anything else running here (a __del__, a signal handler) is checked
        # like any other code, and may not start or end a test.
        if not S["armed"]:
            return
        if event == "object.__getattr__" and not (len(args) > 1 and type(args[1]) is str and args[1] in FRAME_ATTRS):
            return        # (reading f_code while walking frames raises this one)
        req = _requester()
        if event in ALWAYS_REFUSE or str_startswith(event, "wcdl.guard.") or event == "sys.addaudithook":
            _refuse("refused", event + " from code the grader was running")
        if _untrusted_requester(req):
            _check(event, args, req)
        return
    if event == "object.__getattr__" and not (len(args) > 1 and type(args[1]) is str and args[1] in FRAME_ATTRS):
        return        # the other attributes it is raised for (f_code ...) need nothing
    BUSY.add(tid)
    try:
        if S["armed"]:
            _check(event, args, _requester() if event in NEEDS_REQUESTER else None)
        elif str_eq(event, "wcdl.guard.setup"):
            _setup()
    finally:
        BUSY.discard(tid)


def _check(event, args, req):
    if event == "open":
        path, mode, flags = args
        p = _path_arg(path)
        if p is None:
            return
        writing = (type(mode) is str and any(c in mode for c in WRITE_MODES)) or (
            mode is None and type(flags) is int and flags & WRITE_FLAGS)
        if _inside(p, WRITE) and str_endswith(p, IMPORT_CODE) and not writing:
            # compiled code or archives the notebook wrote, loaded by the import system, could claim
            # any file name (and so the trust of a library's frames): never import them
            if req is None:
                req = _requester(3)
            rf = req.f_code.co_filename if req is not None else None
            if type(rf) is str and (str_startswith(rf, "<frozen ") or _sw(rf, STDLIB)):
                _refuse("refused", "importing code the notebook wrote (" + p + ")", quiet=True)
        if writing:
            if not _may_write(p):
                _deny("blocked", "writing " + p)
        elif not _may_read(p):
            _deny("blocked", "reading " + p)
        elif mode is None and not S["landlocked"] and not _inside(p, WRITE) and isdir(p):
            # a folder's descriptor would let later calls (dir_fd=...) name files the hook cannot see
            _refuse("blocked", "opening the folder " + p + " (dir_fd) without an OS sandbox")
    elif event == "sqlite3.connect":
        paths = _sqlite_paths(args[0] if args else None)
        if paths is None:
            _refuse("refused", "sqlite3.connect with a database name that is not a str")
        if not S["landlocked"]:
            # ATTACH and VACUUM INTO open files from inside SQLite, where the hook cannot see them
            _refuse("blocked", "sqlite3 without an OS sandbox")
        for db in paths:
            p = _resolve(db)
            if p is not None and not _may_read(p):
                _deny("blocked", "opening the database " + p)
    elif event in FS_WRITE_EVENTS:
        for a in args[:2]:
            if a is None:
                continue
            p = _path_arg(a)
            if p is not None and not _may_write(p):
                # libraries try to make their cache folders (matplotlib ...): not worth a note
                _deny("blocked", event + " on " + p, quiet=event == "os.mkdir" and not _inside(p, DENY))
    elif event in FS_READ_EVENTS:
        if args and args[0] is not None:
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
    elif event == "object.__getattr__" or event == "sys._getframe":
        if event == "object.__getattr__":
            name = args[1] if len(args) > 1 else None
            if type(name) is not str or name not in FRAME_ATTRS:
                return
        fr = _frame_for(event, args)
        # a frame with the guard on its chain (a test's, a traceback through the guard's
        # refusals, a signal handler's) is never handed to learner code
        if fr is not None and _guard_below(fr) and _untrusted_requester(req):
            _refuse("refused", ("sys._getframe" if event == "sys._getframe" else "reading " + args[1])
                    + " (a frame of the grader's)")
    elif event == "compile" or event == "code.__new__":
        fn = args[1] if len(args) > 1 else None
        if type(fn) is bytes:
            fn = bytes_decode(fn, "utf-8", "surrogateescape")
        if type(fn) is not str:
            return
        if str_startswith(fn, "<frozen ") or str_startswith(fn, "<wcdl"):
            _refuse("refused", "creating code that claims to come from " + fn)
        if not (_trusted(fn) or _sw(fn, STDLIB)):
            return
        # code claiming a library's (or the standard library's) file is trusted by file name:
        # it must be that file's code
        if event == "code.__new__":
            if _untrusted_requester(req):
                _refuse("refused", "creating code that claims to come from " + fn)
            return
        src = args[0]
        real = None
        rfn = _resolve(fn)
        st = type(src)       # (never `type(x) in (...)`: that compares with the learner's metaclass)
        if rfn is not None and (_trusted(rfn) or _sw(rfn, STDLIB)) and (st is str or st is bytes):
            try:
                with io_open(rfn, "rb") as fh:
                    real = fh.read()
            except OSError:
                real = None
            if st is str:
                src = str_encode(src, "utf-8", "surrogateescape")
        if real is None or not bytes_eq(real, src):
            _refuse("refused", "compiling code that claims to come from " + fn)
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
        _run_test(args, req)
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


def _learner_path(p):
    # a sys.path entry the notebook's code can write into (or that names the working folder)
    if type(p) is not str or not str_startswith(p, "/"):
        return True
    r = _resolve(p)
    return r is None or _inside(r, WRITE)


def _setup():
    S["armed"] = True
    S["main"] = get_ident()
    # The guard's imports see no folder the notebook can write (its own folder, temp):
    # a module planted there (pynvml.py, torchcomms.py ...) or a __pycache__ is never
    # what the guard imports. The notebook's folder comes back last, for the notebook.
    cwd = getcwd()
    path = sys_mod.path
    path[:] = [p for p in path if not _learner_path(p)]
    cache = sys_mod.path_importer_cache
    for k in list(cache):
        if _learner_path(k):
            del cache[k]
    try:
        _snapshot()
    finally:
        path[:] = [p for p in path if not _learner_path(p)] + [cwd]


def _snapshot():
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
            mods[name] = import_module(name)
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
    deep = []
    for name, m in list(sys_mod.modules.items()):
        if name in snap or type(m) is not type(sys_mod) or str_split(name, ".")[0] not in DEEP_PACKAGES:
            continue
        d = m.__dict__
        deep.append((name, m, d, {k: v for k, v in list(d.items()) if _code_like(v)}))
    S["deep"] = deep
    # every builtin name: in a test it means the genuine builtin, whatever the notebook defined
    S["builtin_names"] = tuple(k for k in snap["builtins"][2] if k not in MODULE_DUNDERS and k not in VOLATILE_BUILTINS)
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
    for t in P["tests"]:
        fn = "<wcdl-test " + t["id"] + ">"
        S["codes"].append(compile(t["source"], fn, "exec", dont_inherit=True))
        if not t["hidden"]:
            LINECACHE[fn] = (len(t["source"]), None, t["source"].splitlines(True), fn)


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
        # anything added after the snapshot would shadow what the class inherits (Tensor.__eq__,
        # Tensor.cpu over TensorBase's ...); a library's own code may add methods (transformers
        # adds Module.smart_apply), known by its code's file (code cannot claim one: see compile)
        for k in [k for k in cur if k not in names]:
            if not (str_startswith(k, "__") and str_endswith(k, "__")) and _library_code(cur[k]):
                continue
            try:
                type_delattr(c, k)
                changed.append(c.__module__ + "." + c.__qualname__ + "." + k)
            except (TypeError, AttributeError):
                pass
    for x in changed:
        _note("restored", x)


def _library_code(v):
    for attr in ("__func__", "fget"):        # classmethod, staticmethod, property
        inner = getattr(v, attr, None)
        if inner is not None:
            v = inner
    code = getattr(v, "__code__", None)
    fn = getattr(code, "co_filename", None)
    return type(fn) is str and (_trusted(fn) or _sw(fn, STDLIB))


def _restore_deep():
    # At a test's start: the functions, classes and submodules of every module the libraries had
    # loaded at the snapshot (numpy._core.numeric, torch.autograd, functools ...), which the checks
    # reach only indirectly. Their data (caches, flags) is theirs to change and is left alone.
    mods = sys_mod.modules
    for name, m, d, saved in S["deep"]:
        cur = mods.get(name, MISSING)
        if cur is not m:
            mods[name] = m
            if cur is MISSING or type(cur) is not type(m):
                _note("restored", "sys.modules[" + name + "]")
        for k, v in saved.items():
            now = d.get(k, MISSING)
            if now is not v:
                d[k] = v
                if now is MISSING or _learners(now):
                    _note("restored", name + "." + k)


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


def _describe(err, hidden):
    # Runs in the test's context (learner code may run: a __str__, a __repr__ ...). Returns
    # exact str copies, so that nothing of the learner's is touched once the guard is back.
    ename = str_str(type_name(type(err)))
    try:
        evalue = str_str(str(err))[:2000]
    except BaseException:
        evalue = "(the error message could not be shown)"
    shown = ""
    if not hidden and ename not in ("CheckFailed", "NotImplementedError", "KeyboardInterrupt"):
        try:
            tb = EXC_TRACEBACK(err)
            tb = tb.tb_next if tb is not None else None
            shown = str_join("", [str_str(x) for x in format_exception(type(err), err, tb)[-30:]])
        except BaseException:
            shown = ""
    return ename, evalue, shown


def _fresh_error(ename, evalue):
    # the error the stub raises in the test cell: a new object of a builtin or the guard's own
    # type, with the original's name and message (never the learner's object)
    cls = ERROR_TYPES.get(ename)
    if cls is None:
        cls = MADE_TYPES.get(ename)
        if cls is None:
            cls = MADE_TYPES[ename] = type(ename, (Exception,), {"__module__": "grader"})
    return cls(evalue)


def _run_test(args, req):
    tid = get_ident()
    if S["in_test"] or tid != S["main"]:
        _note("refused", "a test asked for while another test ran, or from another thread")
        return
    if len(args) != 3:
        _note("refused", "a test asked for without the grader's stub")
        return
    i, box, token = args
    if type(i) is not int or type(box) is not list or type(token) is not str or not 0 <= i < len(P["tests"]):
        _note("refused", "a test asked for without the grader's stub")
        return
    t = P["tests"][i]
    # only the grader's stub knows the test's one-time token; it runs at the top level of a cell
    if not str_eq(token, t["token"]) or req is None or (S["user_ns"] is not None and req.f_globals is not S["user_ns"]):
        _note("refused", "test " + int_repr(i) + " asked for by code other than the grader's stub")
        return
    if i in S["ran"]:
        _note("refused", "a test stub was called out of turn")
        return
    S["ran"][i] = True
    ok, ename, evalue, shown = False, "GraderError", "the test did not complete", ""
    # Everything below may run learner code (a value's __eq__, a helper it patched ...): it runs
    # in the test context, where the guard is on the stack (so frames are refused) and checks are on.
    S["in_test"] = True
    BUSY.discard(tid)
    try:
        try:
            _restore_deep()
            _restore()
            user = S["user_ns"] if S["user_ns"] is not None else {}
            ns = dict(user)
            # builtin names mean the genuine builtins (a notebook's `def sum` or `zip = ...` does not count)
            for k in S["builtin_names"]:
                if k in ns:
                    del ns[k]
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
            ok = True
            for name, obj in S["bindings"].items():
                if user.get(name, MISSING) is not MISSING and user.get(name) is not obj:
                    _note("rebound", name)
        except BaseException as e:
            ok = False
            ename, evalue, shown = _describe(e, t["hidden"])
        e = None
        # names a visible test (re)defines stay visible to later cells; a hidden test's stay private
        for k, v in list(ns.items()):
            if k == "__builtins__" or k in S["bindings"]:
                continue
            if start.get(k, MISSING) is not v:
                if t["hidden"]:
                    S["overlay"][k] = (v, user.get(k, MISSING))
                else:
                    user[k] = v
        ns = start = v = None
    except BaseException:
        ok = False
    finally:
        BUSY.add(tid)
        S["in_test"] = False
    # from here on only the guard's own objects and exact str copies are touched
    _emit(["test", NONCE, int_repr(i), t["id"], "1" if ok else "0", "" if ok else ename, "" if ok else evalue])
    if not ok:
        box.append(_fresh_error(ename, evalue))
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


def _guard_codes(g: dict) -> frozenset:
    """ids of every code object of the guard's functions (nested ones included): how the hook
    knows its own frames (a file name can be claimed by anyone's code)."""
    found: dict[int, object] = {}
    todo = [v.__code__ for v in g.values() if callable(v) and getattr(getattr(v, "__code__", None), "co_filename",
                                                                         None) == HOOK_FILE]
    todo += [f.__code__ for c in g.values() if isinstance(c, type) for f in vars(c).values()
             if getattr(getattr(f, "__code__", None), "co_filename", None) == HOOK_FILE]
    while todo:
        code = todo.pop()
        if id(code) in found:
            continue
        found[id(code)] = code
        todo += [c for c in code.co_consts if isinstance(c, type(code))]
    g["_GUARD_CODE_OBJECTS"] = list(found.values())      # kept alive, so the ids stay theirs
    return frozenset(found)


HOOK_FILE = "<wcdl-guard>"


def _private_hook(policy: dict, sandbox: str, landlocked: bool, deny: list[str], allow: list[str],
                  write: list[str], record_fd: int, read: list[str] | None = None,
                  read_files: list[str] | None = None):
    """Build the hook in a namespace of its own; return the hook function."""
    import builtins
    import importlib
    import io
    import linecache
    import threading
    import traceback
    import types

    try:
        from _hashlib import hmac_digest
    except ImportError:  # Python built without OpenSSL
        import hmac

        def hmac_digest(key, msg, digest):
            return hmac.new(key, msg, digest).digest()

    # the current frame without sys._getframe (whose audit event the hook itself checks)
    pyframe = ctypes.PYFUNCTYPE(ctypes.py_object)(("PyEval_GetFrame", ctypes.pythonapi))
    stdlib = sorted({_real(os.path.dirname(os.__file__)).rstrip("/") + "/"})
    trusted = sorted({_real(p).rstrip("/") + "/" for p in python_roots() if "site-packages" in p
                      or "dist-packages" in p} | {_real(p).rstrip("/") + "/" for p in policy.get("trusted_code", [])})
    errors = {k: v for k, v in vars(builtins).items() if isinstance(v, type) and issubclass(v, Exception)}
    errors["KeyboardInterrupt"] = KeyboardInterrupt
    g = {
        "__builtins__": dict(vars(builtins)),
        "__name__": "wcdl_guard_private",
        "P": {"tests": [dict(t, token=t.get("token", "")) for t in policy.get("tests", [])],
              "bindings": policy.get("bindings", []),
              "snapshot_modules": policy.get("snapshot_modules", []),
              "snapshot_classes": policy.get("snapshot_classes", [])},
        "S": {"armed": False, "in_test": False, "ran": {}, "notes": {}, "overlay": {}, "user_ns": None,
              "snap": {}, "deep": [], "classes": [], "protected": frozenset(), "bindings": {}, "codes": [],
              "sandbox": sandbox, "landlocked": landlocked, "main": None, "builtin_names": ()},
        "KEY": bytes.fromhex(policy["key"]), "NONCE": policy["nonce"], "RECORD_PREFIX": RECORD_PREFIX,
        "RECORD_FD": record_fd,
        "DENY": tuple(deny), "ALLOW": tuple(allow), "WRITE": tuple(write),
        "READ": tuple(read if read is not None else allow), "READ_FILES": frozenset(read_files or ()),
        "STDLIB": tuple(stdlib), "TRUSTED": tuple(trusted),
        "BUSY": set(), "MISSING": object(), "GUARD_CODES": frozenset(),
        "PF": pyframe, "INCREF": ctypes.PYFUNCTYPE(None, ctypes.py_object)(("Py_IncRef", ctypes.pythonapi)),
        "FrameType": types.FrameType, "TracebackType": types.TracebackType,
        "GeneratorType": types.GeneratorType, "CoroutineType": types.CoroutineType,
        "AsyncGenType": types.AsyncGeneratorType,
        "TB_FRAME": types.TracebackType.__dict__["tb_frame"].__get__,
        "GI_FRAME": types.GeneratorType.__dict__["gi_frame"].__get__,
        "CR_FRAME": types.CoroutineType.__dict__["cr_frame"].__get__,
        "AG_FRAME": types.AsyncGeneratorType.__dict__["ag_frame"].__get__,
        "EXC_TRACEBACK": BaseException.__dict__["__traceback__"].__get__,
        "format_exception": traceback.format_exception, "import_module": importlib.import_module,
        "LINECACHE": linecache.cache, "ERROR_TYPES": errors, "MADE_TYPES": {},
        "os_stat": os.stat,
        "getcwd": os.getcwd, "readlink": os.readlink, "getppid": os.getppid, "getpid": os.getpid,
        "get_ident": threading.get_ident, "io_open": io.open,
        "os_write": os.write, "hmac_digest": hmac_digest, "sys_mod": sys,
        "str_startswith": str.startswith, "str_endswith": str.endswith, "str_eq": str.__eq__,
        "str_split": str.split, "str_rsplit": str.rsplit, "str_join": str.join, "str_encode": str.encode,
        "str_str": str.__str__, "str_isdigit": str.isdigit, "bytes_decode": bytes.decode,
        "bytes_eq": bytes.__eq__,
        "int_repr": int.__repr__,
        "type_setattr": type.__setattr__, "type_delattr": type.__delattr__,
        "type_name": type.__dict__["__name__"].__get__,
        "PROC": os.path.exists("/proc/self/stat"),
        "WRITE_FLAGS": os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND,
    }
    exec(compile(_HOOK_SOURCE, HOOK_FILE, "exec"), g)
    g["GUARD_CODES"] = _guard_codes(g)
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
    # of /dev only the shared-memory folder (multiprocessing's semaphores, torch's shared
    # tensors) and the harmless device files: not the terminals, disks or other devices
    write += [d for d in DEV_WRITE if os.path.exists(d)]
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
    # what may be read: the same list for Landlock and for the audit hook without it
    read = split_roots(read_roots(policy.get("read_roots", [])), deny + [p for p in SYSTEM_SECRETS
                                                                         if os.path.lexists(p)])
    read += [r for r in allow if os.path.isdir(r)]
    files = [f for f in policy.get("read_files", []) if os.path.exists(f)]
    sandbox, landlocked = "audit hook only (no OS sandbox: the grader was told not to use Landlock)", False
    if policy.get("landlock", True):
        try:
            shm = private_dev_shm()
        except OSError as e:
            shm = f"/dev/shm shared with other processes ({e})"
        try:
            sandbox = apply_landlock(read, write, files) + "; " + shm
            landlocked = True
        except OSError as e:
            sandbox = f"audit hook only (no OS sandbox: {e})"
    hook = _private_hook(policy, sandbox, landlocked, deny, allow, write, record_fd, read, files)
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
