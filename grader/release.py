"""`wcdl release`: regenerate course/ from solutions/ (nbgrader generate_assignment),
solutions and hidden tests removed, each module stamped for Colab."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from grader import colab, core


def release(out: Path = core.COURSE, solutions: Path = core.SOLUTIONS, only: list[str] | None = None) -> list[str]:
    """Regenerate the release folder `out` from `solutions`; return the modules.

    `only` limits the work to some modules (others in `out` are left alone).
    """
    all_mods = core.modules(solutions)
    unknown = sorted(set(only or []) - set(all_mods))
    if unknown:
        raise core.GradingError(f"no such module(s) in {solutions}: {', '.join(unknown)}")
    mods = sorted(only) if only else all_mods
    with tempfile.TemporaryDirectory(prefix="wcdl-release-") as tmp:
        ws = core.make_workspace(Path(tmp), mods, solutions)
        for m in mods:
            core.generate(ws, m)
        out.mkdir(parents=True, exist_ok=True)
        for stale in out.iterdir():
            if stale.is_dir() and stale.name[:2].isdigit() and stale.name not in all_mods:
                shutil.rmtree(stale)
        for m in mods:
            if (out / m).exists():
                shutil.rmtree(out / m)
            shutil.copytree(ws / "course" / m, out / m)
            colab.stamp_module(out / m)
    return mods


def main(args) -> int:
    """`wcdl release [MODULE ...] [--out DIR]`."""
    mods = release(Path(args.out), only=[m.rstrip("/").split("/")[-1] for m in args.modules])
    core.log(f"released {len(mods)} module(s) into {args.out}: {', '.join(mods)}")
    return 0
