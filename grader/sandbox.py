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
4. installs a Python audit hook (hooks cannot be removed from Python; its code is
   grader/_hook.py, compiled into a private namespace, never imported) that
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
namespace holding the genuine helpers, the genuine builtins and the functions and
classes earlier test cells defined (the references tests share), and prints a
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

# The hook's code is grader/_hook.py, read here as text (never imported) and compiled
# into a private namespace that nothing else references: learner code cannot reach its
# functions or their state (no gc walks, no frames of them while tests run), and cannot
# replace their code (hooks are permanent). Read once, when the kernel starts, before
# any learner code runs.
HOOK_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_hook.py")
with open(HOOK_PATH, encoding="utf-8") as _fh:
    _HOOK_SOURCE = _fh.read()
del _fh


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


def _top_level_defs(source: str) -> frozenset:
    """Names a test cell's own `def` and `class` statements bind (its references)."""
    import ast

    try:
        tree = ast.parse(source)
    except SyntaxError:
        return frozenset()
    return frozenset(n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)))


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
        "P": {"tests": [dict(t, token=t.get("token", ""), defines=_top_level_defs(t.get("source", "")))
                        for t in policy.get("tests", [])],
              "bindings": policy.get("bindings", []),
              "snapshot_modules": policy.get("snapshot_modules", []),
              "snapshot_classes": policy.get("snapshot_classes", [])},
        "S": {"armed": False, "in_test": False, "ran": {}, "notes": {}, "overlay": {}, "refs": {}, "ref_globals": [],
              "user_ns": None,
              "snap": {}, "deep": [], "classes": [], "protected": frozenset(), "bindings": {}, "codes": [],
              "sandbox": sandbox, "landlocked": landlocked, "main": None, "builtin_names": ()},
        "KEY": bytes.fromhex(policy["key"]), "NONCE": policy["nonce"], "RECORD_PREFIX": RECORD_PREFIX,
        "RECORD_FD": record_fd,
        "DENY": tuple(deny), "ALLOW": tuple(allow), "WRITE": tuple(write),
        "READ": tuple(read if read is not None else allow), "READ_FILES": frozenset(read_files or ()),
        "STDLIB": tuple(stdlib), "TRUSTED": tuple(trusted),
        "BUSY": set(), "MISSING": object(), "GUARD_CODES": frozenset(),
        "PF": pyframe, "INCREF": ctypes.PYFUNCTYPE(None, ctypes.py_object)(("Py_IncRef", ctypes.pythonapi)),
        "FrameType": types.FrameType, "TracebackType": types.TracebackType, "FunctionType": types.FunctionType,
        "FUNC_CODE": types.FunctionType.__dict__["__code__"].__get__,
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
