"""Throughput of a class graded as 1, 2 and 3 shards (one process each, as a job array would run
them), and the CPU time a notebook costs, for sizing a cluster run.

    python -m grader.bench_shards                      # 6 students x m01_2's solution, 1 2 3 shards
    python -m grader.bench_shards --copies 12 --shards 1 4 --notebooks m01_4_loops_considered_harmful

For each shard count N it starts the N shards of the class at once (`wcdl autograde --shard K/N
--workers 1`, each in its own folder), waits for all, then gathers them (`wcdl gather`), and
prints the wall time of the shards and of the gather, notebooks per minute, and the CPU seconds
the shards used per notebook (their processes and kernels, from the OS's accounting): the number
that prices a cluster run. Every solution must score full marks in the gathered grades. On a
machine that other programs share, the load average printed with the results limits what more
shards can gain.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from grader import core
from grader.bench import build_class, full_marks


def _cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(subs: Path, tmp: Path, n: int, timeout: float) -> dict:
    folders = [tmp / f"{n}-shards" / f"shard-{k}" for k in range(1, n + 1)]
    cpu0, start = _cpu_children(), time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-m", "grader", "autograde", str(subs), "--out", str(f),
                               "--shard", f"{k}/{n}", "--workers", "1", "--quiet", "--timeout", str(timeout)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for k, f in enumerate(folders, 1)]
    for p in procs:
        _, err = p.communicate()
        if p.returncode != 0:
            raise SystemExit(f"a shard failed:\n{err[-3000:]}")
    shards_s, cpu = time.perf_counter() - start, _cpu_children() - cpu0
    final = tmp / f"{n}-shards" / "final"
    start = time.perf_counter()
    gather = subprocess.run([sys.executable, "-m", "grader", "gather", *map(str, folders), "--out", str(final)],
                            capture_output=True, text=True)
    gather_s = time.perf_counter() - start
    if gather.returncode != 0:
        raise SystemExit(f"gather failed:\n{gather.stderr[-3000:]}")
    report = full_marks(final / "report.json")
    pairs = [len(json.loads((f / "shard.json").read_text())["pairs"]) for f in folders]
    return {"shards": n, "notebooks": len(report["results"]), "pairs_per_shard": pairs, "shards_s": shards_s,
            "gather_s": gather_s, "cpu_s": cpu}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.bench_shards", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, default=6, help="students (default: 6)")
    parser.add_argument("--notebooks", nargs="+", default=["m01_2_normalization_and_dropout"],
                        help="solution notebooks each student hands in (default: m01_2_normalization_and_dropout)")
    parser.add_argument("--shards", type=int, nargs="+", default=[1, 2, 3], help="shard counts (default: 1 2 3)")
    parser.add_argument("--timeout", type=float, default=1800, help="per student module (default: 1800 s)")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)

    sources = core.source_notebooks()
    unknown = [n for n in args.notebooks if n not in sources]
    if unknown:
        raise SystemExit(f"no such notebook(s): {', '.join(unknown)}")
    tmp = Path(tempfile.mkdtemp(prefix="wcdl-bench-shards-"))
    results = []
    try:
        subs = tmp / "submissions"
        build_class(subs, args.notebooks, args.copies)
        loads = [os.getloadavg()[0]]
        print(f"grading {args.copies} students x {len(args.notebooks)} notebook(s) on {os.cpu_count()} core(s), "
              f"load average {loads[0]:.1f} ...", flush=True)
        for n in args.shards:
            r = run(subs, tmp, n, args.timeout)
            loads.append(os.getloadavg()[0])
            r["load_after"] = loads[-1]
            results.append(r)
            print(f"  {n} shard(s) {r['pairs_per_shard']}: shards {r['shards_s']:.1f} s, gather {r['gather_s']:.1f} s, "
                  f"load {loads[-1]:.1f}", flush=True)
        print("\nshards  notebooks  shards s  gather s  notebooks/min (shards)  (with gather)  CPU s/notebook")
        for r in results:
            nb = r["notebooks"]
            print(f"{r['shards']:6d}  {nb:9d}  {r['shards_s']:8.1f}  {r['gather_s']:8.1f}  "
                  f"{60 * nb / r['shards_s']:22.2f}  {60 * nb / (r['shards_s'] + r['gather_s']):13.2f}  "
                  f"{r['cpu_s'] / nb:14.1f}")
        print(f"\nload average (1 min) during the runs: {min(loads):.1f} .. {max(loads):.1f} on {os.cpu_count()} "
              "core(s); other programs' load takes CPU the shards cannot use")
        if args.json:
            Path(args.json).write_text(json.dumps({"results": results, "loads": loads, "cpus": os.cpu_count(),
                                                   "copies": args.copies, "notebooks": args.notebooks}, indent=1))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
