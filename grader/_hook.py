"""The grading kernel's audit hook: the code grader.sandbox installs in every grading kernel.

Never imported as a module. `grader.sandbox._private_hook` reads this file as text and
compiles it (as "<wcdl-guard>") into a namespace of its own that nothing else references,
after putting there the state and the genuine callables it uses (P, S, KEY, str_startswith,
io_open ...: listed below for linters and editors). Learner code cannot reach these
functions or their state (no gc walks, no frames of them while tests run) and cannot replace
their code (audit hooks are permanent). It is a file so that linters, editors and coverage
tools see it (grading kernels refuse tracing, so its lines are measured only by the tests that
run it); its rules are those of code run in that namespace:

- while the guard works, no learner code runs: use the bound `str_*`, `type_*`, `bytes_*`
  functions and `type(x) is T` checks, never methods or `==` of objects the notebook made;
- nothing here imports at module level (the namespace is built before any learner code,
  and the hook's own imports see no folder the notebook can write, see _setup).

How it works, and what it defends: grader/sandbox.py's docstring and grader/README.md.
"""

if __name__ != "wcdl_guard_private":
    raise ImportError("grader/_hook.py is compiled by grader.sandbox into a private namespace; never import it")

if False:  # never runs (compiled away): the names grader.sandbox._private_hook binds here,
    # listed for linters and editors; a test checks that the two lists agree
    P = S = KEY = NONCE = RECORD_PREFIX = RECORD_FD = DENY = ALLOW = WRITE = READ = READ_FILES = STDLIB = None
    TRUSTED = BUSY = MISSING = GUARD_CODES = PF = INCREF = FrameType = TracebackType = GeneratorType = None
    CoroutineType = AsyncGenType = TB_FRAME = GI_FRAME = CR_FRAME = AG_FRAME = EXC_TRACEBACK = None
    format_exception = import_module = LINECACHE = ERROR_TYPES = MADE_TYPES = os_stat = getcwd = None
    readlink = getppid = getpid = get_ident = io_open = os_write = hmac_digest = sys_mod = None
    str_startswith = str_endswith = str_eq = str_split = str_rsplit = str_join = str_encode = str_str = None
    str_isdigit = bytes_decode = bytes_eq = int_repr = type_setattr = type_delattr = type_name = PROC = None
    WRITE_FLAGS = FunctionType = FUNC_CODE = None


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


def _wrap(fn, reference=False):
    # each call first puts back what the function relies on, which learner code may have changed:
    # for a helper the libraries, for a reference a test cell defined its globals (not the
    # libraries: a reference may run inside a mode a test entered, whose flags they hold)
    def guarded(*a, **k):
        if reference:
            _restore_ref_globals()
        else:
            _restore()
        return fn(*a, **k)
    try:
        guarded.__name__ = fn.__name__
        guarded.__doc__ = fn.__doc__
    except Exception:
        pass
    return guarded


def _keep_references(t, ns):
    # The functions and classes test i defined at its top level (`def ref_vtrace`, `class
    # RecordingQueue`): for every later test such a name means the test cell's object, whatever a
    # cell bound it to since. Their code cannot be swapped (protected), their classes' methods are
    # put back at each test's start (S["classes"]), their globals (this test's namespace) too.
    fn = "<wcdl-test " + t["id"] + ">"
    kept = False
    for k in t["defines"]:
        v = ns.get(k, MISSING)
        if type(v) is FunctionType and str_eq(FUNC_CODE(v).co_filename, fn):
            S["protected"] = S["protected"] | frozenset((id(v),))
            S["refs"][k] = (_wrap(v, reference=True), v, t["hidden"])
        elif isinstance(v, type):
            S["classes"].append((v, {a: x for a, x in v.__dict__.items() if _code_like(x)}, frozenset(v.__dict__)))
            S["refs"][k] = (v, v, t["hidden"])
        else:
            continue
        kept = True
    if kept:
        S["ref_globals"].append((ns, dict(ns)))


def _restore_ref_globals():
    for g, saved in S["ref_globals"]:
        if len(g) != len(saved) or any(g.get(k, MISSING) is not v for k, v in saved.items()):
            g.clear()
            g.update(saved)
            _note("restored", "the globals of a test's reference")


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
            # functions and classes an earlier test cell defined: the test cell's own, always
            _restore_ref_globals()
            for k, (v, raw, hidden) in S["refs"].items():
                if not hidden and user.get(k, MISSING) is not raw:
                    _note("rebound", k)
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
        e = None  # noqa: F841 (drops the error and its frames)
        # names a visible test (re)defines stay visible to later cells; a hidden test's stay private
        for k, v in list(ns.items()):
            if k == "__builtins__" or k in S["bindings"]:
                continue
            if start.get(k, MISSING) is not v:
                S["refs"].pop(k, None)          # redefined by this test: its own value from here on
                if t["hidden"]:
                    S["overlay"][k] = (v, user.get(k, MISSING))
                else:
                    user[k] = v
        _keep_references(t, ns)
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
