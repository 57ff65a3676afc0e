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
        for converter in (Autograde, GenerateFeedback):
            cd = CourseDirectory(config=cfg, root=str(root))
            cd.assignment_id, cd.student_id = module, student
            conv = converter(coursedir=cd, config=cfg)
            conv.force = True
            try:
                conv.start()
            except NbGraderException as e:
                tail = "\n".join(ln for ln in capture.lines if "ERROR" in ln)[-1500:]
                error = f"nbgrader {converter.__name__.lower()} failed: {e}\n{tail}".strip()
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
            out = {"student": job.get("student"), "module": job.get("module"), "results": [],
                   "error": "the grading worker failed:\n" + traceback.format_exc()[-2000:]}
        proto.write(PROTOCOL_PREFIX + json.dumps(out) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
