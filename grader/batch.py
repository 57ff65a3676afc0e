"""Batch grading: a pool of grading workers, a journal to resume from, exports.

`wcdl autograde SUBMISSIONS --out DIR --workers N --timeout S` grades each
(student, module) pair in one of N worker processes (grader/worker.py), all
writing into the one nbgrader course directory DIR (one gradebook).

Concurrency. Each pair is one `nbgrader autograde` + `generate_feedback` of
one student and one module, so pairs touch disjoint folders; what they share
is DIR/gradebook.db. nbgrader keeps its database transactions short (a few
rows per notebook, never open while a notebook runs), and Python's sqlite3
starts a transaction only at its first write, so concurrent writers queue on
SQLite's lock rather than deadlock; the course's db_url sets a 120 s busy
timeout instead of SQLite's 5 s so a loaded machine does not turn waiting
into "database is locked". tests/test_autograde_parallel.py checks the
gradebook after parallel and interrupted runs. Students are created up front,
by this process alone, so two workers never race to insert the same student.

Resume. After a pair is graded (gradebook written, feedback generated) a line
is appended to DIR/progress.jsonl with a hash of the submitted files and of
the module's source; a later run skips pairs whose line matches and grades
the rest again with --force (nbgrader replaces a student's earlier grades for
an assignment: there is one submission per student and assignment, so
nothing is counted twice). A run killed at any moment loses at most the pairs
in flight. Workers and kernels die with the run (see worker.py, sandbox.py).

Timeouts. A pair that runs past --timeout has its worker's process group
killed (and with it the kernel); the pair scores zero with a message, the
worker is replaced, and the batch goes on.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import queue
import selectors
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from grader import core
from grader.worker import PROTOCOL_PREFIX

GRADER_VERSION = "3"       # bump to make every journaled pair count as stale
STATE = ".wcdl"


@dataclass
class Job:
    student: str
    module: str
    hash: str
    notebooks: list[str]
    zero: list[dict] = field(default_factory=list)            # results of unreadable files
    notes: dict[str, list[str]] = field(default_factory=dict)  # {notebook: notes from staging}


def _file_digest(path: Path) -> bytes:
    """What a submitted file holds, for the resume hash: a link's target name (links are not
    followed, nor graded), a large file's size and time (it is refused unread), else its bytes."""
    try:
        info = path.lstat()
    except OSError:
        return b"<missing>"
    if path.is_symlink():
        return b"<link>" + os.readlink(path).encode("utf-8", "surrogateescape")
    if not path.is_file() or info.st_size > core.MAX_NOTEBOOK_BYTES:
        return f"<{info.st_mode:o} {info.st_size} {info.st_mtime_ns}>".encode()
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.digest()


_CODE_DIGEST: str | None = None


def code_digest() -> str:
    """A digest of the grading code (grader/, wcdl/, the course's nbgrader config): a fixed
    grader must grade again what an older one graded (its grades may have been forged)."""
    global _CODE_DIGEST
    if _CODE_DIGEST is None:
        h = hashlib.sha256()
        files = sorted(p for d in ("grader", "wcdl") for p in (core.REPO / d).rglob("*.py")
                       if "__pycache__" not in p.parts)
        for p in files + [core.REPO / "nbgrader_config.py"]:
            h.update(str(p.relative_to(core.REPO)).encode() + b"\0")
            h.update(p.read_bytes() if p.is_file() else b"-")
        _CODE_DIGEST = h.hexdigest()
    return _CODE_DIGEST


def pair_hash(files: dict[str, Path], sources: dict[str, Path], module: str, extra: str = "") -> str:
    h = hashlib.sha256(f"{GRADER_VERSION}|{module}|{extra}|{code_digest()}".encode())
    for name in sorted(files):
        h.update(name.encode() + b"\0")
        h.update(_file_digest(files[name]))
        h.update(b"\0")
    for name in sorted(n for n, p in sources.items() if p.parent.name == module):
        h.update(sources[name].read_bytes())
    return h.hexdigest()


# ---------------------------------------------------------------- journal

class Journal:
    """OUT/progress.jsonl: one line per graded pair, appended and fsynced."""

    def __init__(self, path: Path):
        self.path = path

    def load(self) -> dict[tuple[str, str], dict]:
        if not self.path.exists():
            return {}
        raw = self.path.read_bytes()
        if raw and not raw.endswith(b"\n"):
            # a run was killed while writing its last line: drop the fragment
            raw = raw[: raw.rfind(b"\n") + 1]
            self.path.write_bytes(raw)
        entries = {}
        for line in raw.decode("utf-8", "replace").splitlines():
            try:
                e = json.loads(line)
                entries[(e["student"], e["module"])] = e
            except (ValueError, KeyError, TypeError):
                continue
        return entries

    def append(self, entry: dict) -> None:
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry, sort_keys=True) + "\n")
            fh.flush()
            os.fsync(fh.fileno())


@contextlib.contextmanager
def run_lock(state: Path):
    """One `wcdl autograde` at a time per output folder; wait for stray workers of an earlier run."""
    state.mkdir(parents=True, exist_ok=True)
    fh = open(state / "run.lock", "a")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        raise core.GradingError(f"another `wcdl autograde` is writing to {state.parent}; wait for it to finish")
    try:
        workers = open(state / "workers.lock", "a")
        try:
            fcntl.flock(workers, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            print("waiting for grading workers of an earlier run to stop ...", file=sys.stderr, flush=True)
            fcntl.flock(workers, fcntl.LOCK_EX)
        fcntl.flock(workers, fcntl.LOCK_UN)
        workers.close()
        yield
    finally:
        fh.close()


# ---------------------------------------------------------------- workers

class WorkerGone(RuntimeError):
    pass


class Worker:
    """One grader/worker.py process in a session of its own."""

    def __init__(self, root: Path, log: Path, threads: int | None = None, start_timeout: float = 600):
        self.log = open(log, "ab")
        env = core.nbgrader_env()
        if threads:
            # N workers on C cores: each kernel's torch/BLAS gets C // N threads, unless set already
            for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
                env.setdefault(var, str(threads))
        self.proc = subprocess.Popen([sys.executable, "-m", "grader.worker", str(root)], cwd=root,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log,
                                     start_new_session=True, env=env)
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.proc.stdout, selectors.EVENT_READ)
        self.buf = b""
        line = self._readline(start_timeout)
        if line != "READY":
            self.kill()
            raise WorkerGone(f"the grading worker did not start (see {log})")

    def _readline(self, timeout: float | None) -> str:
        deadline = None if timeout is None else time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise TimeoutError
            if not self.sel.select(left):
                continue
            chunk = os.read(self.proc.stdout.fileno(), 1 << 16)
            if not chunk:
                raise WorkerGone("the grading worker stopped")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode("utf-8", "replace")

    def ask(self, job: dict, timeout: float | None) -> dict:
        try:
            self.proc.stdin.write((json.dumps(job) + "\n").encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as e:
            raise WorkerGone("the grading worker stopped") from e
        while True:
            line = self._readline(timeout)
            if line.startswith(PROTOCOL_PREFIX):
                return json.loads(line[len(PROTOCOL_PREFIX):])

    def kill(self) -> None:
        core.kill_group(self.proc.pid)
        with contextlib.suppress(Exception):
            self.proc.wait(timeout=30)
        self._close()

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pass
        core.kill_group(self.proc.pid)     # and anything it left behind
        self._close()

    def _close(self):
        with contextlib.suppress(Exception):
            self.sel.close()
            self.proc.stdout.close()
        with contextlib.suppress(Exception):
            self.log.close()


class Pool:
    """N workers; `run(jobs)` yields (job, outcome) as pairs finish."""

    def __init__(self, root: Path, workers: int, timeout: float | None, config: dict | None):
        self.root, self.n, self.timeout, self.config = root, max(1, workers), timeout, config or {}
        self.logs = root / STATE / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.live: set[Worker] = set()
        self.lock = threading.Lock()
        self.stopping = False

    def run(self, jobs: list[Job]):
        todo: queue.Queue = queue.Queue()
        for j in jobs:
            todo.put(j)
        done: queue.Queue = queue.Queue()
        threads = [threading.Thread(target=self._serve, args=(i, todo, done), daemon=True)
                   for i in range(min(self.n, len(jobs)))]
        for t in threads:
            t.start()
        for _ in jobs:
            yield done.get()
        for t in threads:
            t.join()

    def _serve(self, slot: int, todo: queue.Queue, done: queue.Queue) -> None:
        worker = None
        while not self.stopping:
            try:
                job = todo.get_nowait()
            except queue.Empty:
                break
            outcome = None
            for attempt in (1, 2):
                try:
                    if worker is None:
                        worker = self._spawn(slot)
                    request = {"student": job.student, "module": job.module, "notebooks": job.notebooks,
                               "config": self.config}
                    outcome = worker.ask(request, self.timeout)
                    break
                except TimeoutError:
                    self._drop(worker)
                    worker = None
                    outcome = {"error": f"grading stopped after {self.timeout:g} s (the time limit for one "
                                        f"student's module): an endless loop, or a notebook far too slow?",
                               "timeout": True}
                    break
                except WorkerGone as e:
                    self._drop(worker)
                    worker = None
                    outcome = {"error": f"{e} while grading this submission", "retry": True}
                    if attempt == 2 or self.stopping:
                        break
            done.put((job, outcome))
        if worker is not None:
            with self.lock:
                self.live.discard(worker)
            worker.stop()

    def _spawn(self, slot: int) -> Worker:
        threads = max(1, (os.cpu_count() or 1) // self.n) if self.n > 1 else None
        w = Worker(self.root, self.logs / f"worker-{slot}.log", threads)
        with self.lock:
            self.live.add(w)
        return w

    def _drop(self, worker: Worker | None) -> None:
        if worker is None:
            return
        with self.lock:
            self.live.discard(worker)
        worker.kill()

    def close(self) -> None:
        """Kill every worker (and so every kernel): used when the run is interrupted."""
        self.stopping = True
        with self.lock:
            live = list(self.live)
            self.live.clear()
        for w in live:
            w.kill()
