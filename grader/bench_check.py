"""How long `wcdl check` takes next to running the notebook itself.

    python -m grader.bench_check [--runs 3] [--solved] m01_2_normalization_and_dropout m03_3_tiled_matmul

For each notebook (the release as a learner gets it, or with `--solved` its
answer cells filled in from solutions/), runs in turn, `--runs` times each:
`jupyter execute --allow-errors` (the notebook alone) and `wcdl check` (the
grader: hidden tests, sandbox, gradebook). Prints the medians and the
course's target: a check within 1.5x of (executing the notebook + 2 s).
The generated module is cached by a first, uncounted check.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from grader import core


def solved(name: str, sources: dict[str, Path]):
    """The release notebook with every answer cell as the solution (markers removed)."""
    module = sources[name].parent.name
    nb = nbformat.read(core.COURSE / module / f"{name}.ipynb", as_version=4)
    answers = {core.nbgrader_meta(c)["grade_id"]: c.source
               for c in nbformat.read(sources[name], as_version=4).cells
               if core.nbgrader_meta(c).get("solution")}
    for cell in nb.cells:
        gid = core.nbgrader_meta(cell).get("grade_id")
        if gid in answers:
            cell.source = "\n".join(ln for ln in answers[gid].splitlines()
                                    if ln.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))
    return nb


def timed(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.bench_check", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="+", help="notebook names, e.g. m03_3_tiled_matmul")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--solved", action="store_true", help="answer cells filled in from solutions/")
    args = parser.parse_args(argv)
    sources = core.source_notebooks()
    bindir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory(prefix="wcdl-bench-check-") as tmp:
        for name in args.notebooks:
            module = sources[name].parent.name
            folder = Path(tmp) / module
            if not folder.exists():
                # the module's other files (data, scripts) beside the notebook, as in course/
                subprocess.run(["cp", "-r", str(core.COURSE / module), str(folder)], check=True)
            path = folder / f"{name}.ipynb"
            nb = solved(name, sources) if args.solved else nbformat.read(core.COURSE / module / path.name, as_version=4)
            nbformat.write(nb, path)
            run = [str(bindir / "jupyter"), "execute", "--allow-errors", f"--output={tmp}/out.ipynb", str(path)]
            check = [str(bindir / "wcdl"), "check", "--quiet", str(path)]
            timed(check, folder)                      # fills the generated-module cache
            ex, ch = [], []
            for _ in range(args.runs):
                ex.append(timed(run, folder))
                ch.append(timed(check, folder))
            e, c = statistics.median(ex), statistics.median(ch)
            print(f"{name} ({'solved' if args.solved else 'untouched'}): execute {e:.1f} s, check {c:.1f} s; "
                  f"check / (execute + 2 s) = {c / (e + 2):.2f} (target <= 1.5)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
