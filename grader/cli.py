"""`wcdl`: the course's grading commands.

    wcdl release      regenerate course/ from solutions/ (nbgrader generate_assignment)
    wcdl check        grade your own notebooks and see a table per exercise
    wcdl autograde    grade a folder of submissions: grades CSV and feedback
    wcdl gather       merge the folders of `wcdl autograde --shard K/N` runs
    wcdl publish      write a student repository for a class (no solutions, no hidden tests)
    wcdl audit        profile a model: where its time goes, and what-ifs
"""

# This file only parses arguments and dispatches: each command lives in a module of its own
# (grader/release.py, check.py, autograde.py, publish.py and wcdl/profiling.py: `main(args)`;
# shards.py: `gather_main`),
# and has one subparser block below.

from __future__ import annotations

import argparse
import os
import sys

# jsonschema (imported by nbformat) loads rfc3987_syntax when it is installed (jupyter-events
# brings it), which builds an IRI grammar at import: 0.7 s of every `wcdl check`, for a format
# that no notebook schema uses. Without it jsonschema simply skips that format.
sys.modules.setdefault("rfc3987_syntax", None)

from grader import autograde, check, core, publish, release, shards  # noqa: E402
from wcdl import profiling  # noqa: E402  (`wcdl audit`; it imports torch only when run)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="wcdl", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("release", help="regenerate course/ from solutions/",
                       description="Regenerate the learners' notebooks (course/) from solutions/ with "
                                   "nbgrader generate_assignment: solutions and hidden tests removed, "
                                   "outputs stripped.")
    p.add_argument("modules", nargs="*", help="modules to release (default: all)")
    p.add_argument("--out", default=str(core.COURSE), help="release folder (default: course/)")
    p.set_defaults(func=release.main)

    p = sub.add_parser("check", help="grade your own notebooks",
                       description="Grade your notebooks exactly as an instructor's autograde would, and "
                                   "print per exercise the points and what failed. Hidden tests are "
                                   "counted, never shown. Your notebooks are only read, never changed.")
    p.add_argument("paths", nargs="*", help="notebooks or folders (default: course/)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--workers", type=int, default=2, help="modules graded at once (default: 2)")
    p.add_argument("--quiet", action="store_true", help="no progress lines while grading")
    p.add_argument("--cell-timeout", type=float, default=None,
                   help="seconds allowed for one cell (default: the course config's, 60)")
    p.set_defaults(func=check.main)

    p = sub.add_parser("autograde", help="grade a folder of submissions (instructors)",
                       description="Grade SUBMISSIONS/<student>/<notebook>.ipynb with nbgrader, several students' "
                                   "modules at once, each notebook in a sandboxed kernel. Writes, under --out: "
                                   "grades.csv (nbgrader export), grades_by_exercise.csv, feedback/<student>/ "
                                   "(HTML, hidden tests removed; problems.txt), report.json and progress.jsonl. "
                                   "Interrupted? Run the same command again: it grades only what is missing or "
                                   "changed.")
    p.add_argument("submissions", help="folder with one subfolder per student")
    p.add_argument("--out", default="grading", help="grading workspace (default: ./grading)")
    p.add_argument("--workers", type=int, default=max(1, min(4, os.cpu_count() or 1)),
                   help="student modules graded at once, each by its own nbgrader (default: CPU cores, at most 4)")
    p.add_argument("--timeout", type=float, default=1800,
                   help="seconds allowed for one student's module; past it the grading is killed and scores "
                        "zero (default: 1800)")
    p.add_argument("--cell-timeout", type=float, default=None,
                   help="seconds allowed for one cell (default: the course config's, 60)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--private-tests", default=None, metavar="DIR",
                   help="a folder of your own hidden tests, DIR/<hidden test grade id>.py, each appended to that "
                        "hidden test at grading (see grader/private_tests.py)")
    p.add_argument("--without-os-sandbox", action="store_true",
                   help="grade even where the OS sandbox (Landlock) is missing, with the audit hook alone "
                        "(weaker: see the README's threat model)")
    p.add_argument("--shard", type=shards.parse_shard, default=None, metavar="K/N",
                   help="grade only shard K of N (a fixed share of the (student, module) pairs), for a job "
                        "array; merge the N output folders with `wcdl gather`")
    p.set_defaults(func=autograde.main)

    p = sub.add_parser("gather", help="merge the folders of `wcdl autograde --shard K/N` runs (instructors)",
                       description="Merge the output folders of the N shards of a class (`wcdl autograde "
                                   "SUBMISSIONS --out DIR --shard K/N`) into one course folder: one gradebook, "
                                   "the feedback, grades.csv, grades_by_exercise.csv, rejected.csv, report.json. "
                                   "A missing, failed or unfinished shard is named, with the command that runs it "
                                   "again, and nothing is written (exit 1); gather again once it is complete.")
    p.add_argument("shards", nargs="+", help="the shards' output folders (all N of them)")
    p.add_argument("--out", required=True, help="the course folder to write (replaced by each gather)")
    p.set_defaults(func=shards.gather_main)

    p = sub.add_parser("publish", help="write a student repository for a class (instructors)",
                       description="Write OUT, a repository for a class: the released notebooks (Colab badges "
                                   "and set-up cells pointing at OUT's own repository), the helper package, "
                                   "`wcdl check` (visible tests only), a learner README, pyproject.toml, "
                                   "Makefile and the lock. No solutions, no hidden tests: every file is "
                                   "searched for them before the command succeeds.")
    p.add_argument("out", help="folder to write (a clone of the class's repository, or a new folder)")
    p.add_argument("--repository", default=None,
                   help="the class repository on GitHub: owner/name or https://github.com/owner/name "
                        "(default: OUT's git remote `origin`)")
    p.add_argument("--branch", default="main", help="the branch learners open in Colab (default: main)")
    p.add_argument("--module", dest="modules", action="append", default=[],
                   help="publish only this module (repeat for several; default: all)")
    p.set_defaults(func=publish.main)

    p = sub.add_parser("audit", help="profile a model: where its time goes, and what-ifs",
                       description="Profile one forward pass of a model and say where its time goes.")
    profiling.add_arguments(p)
    p.set_defaults(func=profiling.main)

    args = parser.parse_args(argv)
    if core.PUBLISHED and args.command != "check":
        core.log(f"error: this is a class repository (written by `wcdl publish`): without solutions or hidden "
                 f"tests, `wcdl {args.command}` cannot run here; `wcdl check` grades your notebooks' visible tests.")
        return 2
    try:
        return args.func(args)
    except core.GradingError as e:
        core.log(f"error: {e}")
        return 1
