"""A grading worker: one process that grades (student, module) pairs, one after another.

`wcdl autograde --workers N` starts N of these, each in a session (process
group) of its own, and sends each a job per line on stdin:

    {"student": "alice", "module": "01_matmul_is_all_you_need", "notebooks": ["m01_2_..."],
     "config": {"Execute": {"timeout": 60}}}

The worker runs nbgrader's own Autograde and GenerateFeedback converters on
the course directory given on its command line (importing nbgrader once, not
once per pair: that import alone costs seconds of CPU) and answers with one
line `WCDL-RESULT {json}` on stdout. The notebooks' files must already be in
submitted/<student>/<module>/.

A worker dies with its parent (PR_SET_PDEATHSIG on Linux; end of stdin
elsewhere), and its kernels die with it (see grader.sandbox), so killing the
`wcdl autograde` process group leaves nothing running. It holds a shared lock
on <course>/.wcdl/workers.lock while it lives, so a new run can tell that
workers of an earlier one are still busy.
"""

from __future__ import annotations

import ctypes
import fcntl
import io
import json
import logging
import os
import re
import stat
import sys
import time
import traceback
from pathlib import Path

PROTOCOL_PREFIX = "WCDL-RESULT "


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, 9, 0, 0, 0)   # PR_SET_PDEATHSIG, SIGKILL
        except (OSError, AttributeError):
            pass


def load_config(root: Path, overrides: dict | None = None):
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    cfg = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    if overrides:
        cfg.merge(Config(overrides))
    return cfg


class _LogCapture(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(self.format(record))
        del self.lines[:-200]


# ---------------------------------------------------------------- nbgrader, without following links

def scrub(folder: Path) -> list[str]:
    """Remove from `folder` everything that is not a regular file or a folder (symlinks,
    FIFOs, sockets, devices), without following any link; return what was removed.

    The folders nbgrader reads and writes for a pair (submitted/, autograded/,
    feedback/ of one student and module) are checked before each step: a link
    there, however it got there, would make nbgrader read or overwrite a file
    elsewhere (a classmate's notebook, solutions/, the gradebook).
    """
    removed = []
    try:
        if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
            folder.unlink()
            return [folder.name]
    except OSError:
        return []
    for dirpath, dirnames, filenames in os.walk(folder):       # never follows links
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            try:
                mode = os.lstat(path).st_mode
            except OSError:
                continue
            if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
                continue
            try:
                os.unlink(path)
                removed.append(os.path.relpath(path, folder))
            except OSError:
                pass
        dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))]
    return removed


def write_regular(path: Path, data: bytes, below: Path) -> None:
    """Write `path` (under `below`) as a regular file: no folder on the way and not the file
    itself may be a link (O_NOFOLLOW); something else in its place is removed first."""
    path = Path(os.path.abspath(path))
    below = Path(os.path.abspath(below))
    rel = path.relative_to(below)
    here = below
    for part in rel.parts[:-1]:
        here = here / part
        if here.is_symlink() or (here.exists() and not here.is_dir()):
            here.unlink()
        here.mkdir(exist_ok=True)
    if path.is_symlink() or path.exists():
        path.unlink()          # whatever it is (a read-only earlier grading, a link): a new file
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def _no_links(base):
    """A converter (Autograde, GenerateFeedback) that never follows a link in the pair's folders."""

    class Converter(base):
        only_notebooks: set[str] | None = None      # GenerateFeedback: the notebooks just graded

        def _pair_dirs(self, assignment_id, student_id):
            return [Path(self._format_source(assignment_id, student_id)), Path(self._format_dest(assignment_id,
                                                                                                 student_id))]

        def init_notebooks(self):
            for folder in self._pair_dirs(self.coursedir.assignment_id, self.coursedir.student_id):
                gone = scrub(folder)
                if gone:
                    self.log.warning("removed links or special files from %s: %s", folder, ", ".join(gone))
            super().init_notebooks()
            if self.only_notebooks is not None:
                for key in list(self.assignments):
                    self.assignments[key] = [nb for nb in self.assignments[key]
                                             if Path(nb).stem in self.only_notebooks and os.path.isfile(nb)
                                             and not os.path.islink(nb)]

        def init_assignment(self, assignment_id, student_id):
            for folder in self._pair_dirs(assignment_id, student_id):
                scrub(folder)
            if base.__name__ == "GenerateFeedback":
                # the feedback is the HTML page alone: no file of the graded folder is copied next to it
                Path(self._format_dest(assignment_id, student_id)).mkdir(parents=True, exist_ok=True)
                return
            super().init_assignment(assignment_id, student_id)

        def write_single_notebook(self, output, resources):
            info = resources["nbgrader"]
            build = Path(self._format_dest(info["assignment"], info["student"]))
            name = resources["unique_key"] + (resources.get("output_extension") or "")
            for rel, data in list(resources.get("outputs", {}).items()):
                target = build / rel
                if os.path.abspath(target).startswith(os.path.abspath(build) + os.sep):
                    write_regular(target, data, Path(self.coursedir.root))
            write_regular(build / name, output.encode("utf-8") if isinstance(output, str) else output,
                          Path(self.coursedir.root))
            self.writer.build_directory = str(build)    # Autograde reads the sanitized notebook back from there

        def set_permissions(self, assignment_id, student_id):
            dest = os.path.normpath(self._format_dest(assignment_id, student_id))
            mode = int(str(self.permissions), 8)
            for dirpath, dirnames, filenames in os.walk(dest):
                for name in filenames:
                    path = os.path.join(dirpath, name)
                    if stat.S_ISREG(os.lstat(path).st_mode):     # never chmod through a link
                        os.chmod(path, mode)
                dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))]

    Converter.__name__ = base.__name__
    return Converter


def one_line(error: str) -> str:
    """A learner-safe line for an nbgrader failure: the exception, no traceback or paths."""
    lines = [ln.strip() for ln in error.splitlines() if ln.strip()]
    found = [ln for ln in lines if re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b", ln)]
    what = found[-1] if found else (lines[0] if lines else "unknown error")
    what = re.sub(r"(/[^\s'\"]+)+", "<path>", what)[:200]
    return f"the grader could not process this notebook ({what}); the instructor's worker log has the details"


def grade_pair(root: Path, job: dict) -> dict:
    """Autograde and generate feedback for one student's module; return results."""
    from nbgrader.converters import Autograde, GenerateFeedback
    from nbgrader.converters.base import NbGraderException
    from nbgrader.coursedir import CourseDirectory

    from grader import core

    student, module = job["student"], job["module"]
    cfg = load_config(root, job.get("config"))
    capture = _LogCapture()
    capture.setFormatter(logging.Formatter("[%(levelname)s] %(message)s"))
    loggers = [logging.getLogger(n) for n in ("traitlets", "nbgrader", "nbconvert")]
    for lg in loggers:
        lg.addHandler(capture)
    started = time.perf_counter()
    error = None
    try:
        for converter in (_no_links(Autograde), _no_links(GenerateFeedback)):
            cd = CourseDirectory(config=cfg, root=str(root))
            cd.assignment_id, cd.student_id = module, student
            conv = converter(coursedir=cd, config=cfg)
            conv.force = True
            if converter.__name__ == "GenerateFeedback":
                conv.only_notebooks = set(job["notebooks"])
            try:
                conv.start()
            except NbGraderException as e:
                detail = "\n".join(capture.lines)
                print(f"nbgrader {converter.__name__.lower()} failed for {student}/{module}: {e}\n{detail}",
                      file=sys.stderr, flush=True)
                error = one_line(detail + "\n" + str(e))
                break
    finally:
        for lg in loggers:
            lg.removeHandler(capture)
        os.chdir(root)
    sources = core.source_notebooks(root / "solutions")
    results = []
    for name in job["notebooks"]:
        import nbformat

        source_nb = nbformat.read(sources[name], as_version=4)
        results.append(core.results_for(root, module, student, name, source_nb).to_dict())
    return {"student": student, "module": module, "results": results, "error": error,
            "seconds": round(time.perf_counter() - started, 2)}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    root = Path(argv[0]).resolve()
    _die_with_parent()
    parent = os.getppid()
    # the protocol owns the real stdout; anything else printed goes to stderr
    proto = io.TextIOWrapper(os.fdopen(os.dup(1), "wb"), encoding="utf-8", line_buffering=True)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="[worker %(process)d] %(message)s")
    lockdir = root / ".wcdl"
    lockdir.mkdir(exist_ok=True)
    lock = open(lockdir / "workers.lock", "a")
    fcntl.flock(lock, fcntl.LOCK_SH)
    os.chdir(root)
    import nbgrader.converters  # noqa: F401 - the expensive import, once

    proto.write("READY\n")
    for line in sys.stdin:
        if not line.strip():
            continue
        if os.getppid() != parent:
            break
        job = json.loads(line)
        try:
            out = grade_pair(root, job)
        except Exception:  # noqa: BLE001 - report, keep serving
            detail = traceback.format_exc()
            print(f"the grading worker failed on {job.get('student')}/{job.get('module')}:\n{detail}",
                  file=sys.stderr, flush=True)
            out = {"student": job.get("student"), "module": job.get("module"), "results": [],
                   "error": one_line(detail)}
        proto.write(PROTOCOL_PREFIX + json.dumps(out) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
