"""Throughput of `wcdl autograde` with 1 and with 2 workers, measured in one run.

    python -m grader.bench                       # 6 copies of module 01's m01_2 and m01_4 solutions
    python -m grader.bench --copies 8 --notebooks m01_2_normalization_and_dropout
    python -m grader.bench --workers 1 2 4       # more worker counts

It builds COPIES student folders, each holding the chosen solution notebooks
(as learners would hand them in: the release filled in with the answers),
grades the class once per worker count into a fresh output folder, and
prints the wall time, the throughput (student modules per minute) and each
count's speedup over one worker. The runs alternate (1, 2, 1, 2 ... with
--repeat) so that a change in the machine's load hits every count alike; the
load average is printed with the results: on a machine that other programs
share, more workers cannot get more CPU than is free.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from grader import core

DEFAULT_NOTEBOOKS = ["m01_2_normalization_and_dropout", "m01_4_loops_considered_harmful"]


def build_class(folder: Path, notebooks: list[str], copies: int) -> None:
    import nbformat

    if str(core.REPO) not in sys.path:
        sys.path.insert(0, str(core.REPO))
    from tests.grading import submission

    for k in range(copies):
        student = folder / f"student{k:03d}"
        student.mkdir(parents=True)
        for name in notebooks:
            nbformat.write(submission(name), student / f"{name}.ipynb")


def grade(submissions: Path, out: Path, workers: int, timeout: float) -> float:
    cmd = [sys.executable, "-m", "grader", "autograde", str(submissions), "--out", str(out), "--workers",
           str(workers), "--quiet", "--timeout", str(timeout)]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"autograde failed:\n{proc.stderr[-3000:]}")
    full_marks(out / "report.json")
    return seconds


def full_marks(report_json: Path) -> dict:
    """The report of a benchmark run, which graded solutions only: every notebook has full marks."""
    report = json.loads(report_json.read_text())
    lost = [r for r in report["results"] if r["score"] < r["max_score"]]
    if lost:
        raise SystemExit(f"{len(lost)} solution notebook(s) lost points: the benchmark is not grading what it "
                         f"should ({lost[0]['notebook']}: {[e['message'] for e in lost[0]['exercises']]})")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, default=6, help="students, each with the notebooks (default: 6)")
    parser.add_argument("--notebooks", nargs="+", default=DEFAULT_NOTEBOOKS,
                        help="solution notebooks each student hands in, all of one module "
                             f"(default: {' '.join(DEFAULT_NOTEBOOKS)})")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts (default: 1 2)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per worker count (default: 1)")
    parser.add_argument("--timeout", type=float, default=1800, help="per student module (default: 1800 s)")
    parser.add_argument("--keep", action="store_true", help="keep the grading folders")
    args = parser.parse_args(argv)

    sources = core.source_notebooks()
    unknown = [n for n in args.notebooks if n not in sources]
    if unknown:
        raise SystemExit(f"no such notebook(s): {', '.join(unknown)}")
    if len({sources[n].parent.name for n in args.notebooks}) != 1:
        raise SystemExit("give notebooks of one module: each student's module is one unit of work")
    tmp = Path(tempfile.mkdtemp(prefix="wcdl-bench-"))
    try:
        subs = tmp / "submissions"
        build_class(subs, args.notebooks, args.copies)
        times: dict[int, list[float]] = {w: [] for w in args.workers}
        loads = [os.getloadavg()[0]]
        print(f"grading {args.copies} students x {len(args.notebooks)} notebook(s) "
              f"({', '.join(args.notebooks)}) on {os.cpu_count()} CPU core(s) ...", flush=True)
        for r in range(args.repeat):
            for w in args.workers:
                out = tmp / f"grading-{w}-{r}"
                t = grade(subs, out, w, args.timeout)
                times[w].append(t)
                loads.append(os.getloadavg()[0])
                print(f"  {w} worker(s): {t:7.1f} s  ({60 * args.copies / t:5.2f} student modules/min)", flush=True)
                if not args.keep:
                    shutil.rmtree(out, ignore_errors=True)
        base = statistics.median(times[args.workers[0]])
        print("\nworkers  median s  modules/min  speedup")
        for w in args.workers:
            t = statistics.median(times[w])
            print(f"{w:7d}  {t:8.1f}  {60 * args.copies / t:11.2f}  {base / t:6.2f}x")
        if len(args.workers) >= 2:
            print(f"\nthroughput ratio {args.workers[-1]} vs {args.workers[0]} worker(s): "
                  f"{base / statistics.median(times[args.workers[-1]]):.2f}x")
        print(f"load average (1 min) during the runs: {min(loads):.1f} .. {max(loads):.1f} "
              f"on {os.cpu_count()} core(s); other programs' load takes CPU the workers cannot use")
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
