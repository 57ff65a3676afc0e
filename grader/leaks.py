"""Does a tree of files give an answer away?

Every file of a tree (a release, a published class repository: notebooks,
scripts, data, any type) is searched for the lines of the solution blocks and
hidden tests of `solutions/`: a learner who opens one of its files must not
find an answer or a hidden test there. Short lines (`cuda.syncthreads()`,
`return out`), comments, and lines that the notebooks show anyway outside
those blocks (a function's signature, a visible test) are not secrets.
"""

from __future__ import annotations

import json
from pathlib import Path

MIN_LENGTH = 25
BEGIN = ("### BEGIN SOLUTION", "### BEGIN HIDDEN TESTS")
END = ("### END SOLUTION", "### END HIDDEN TESTS")
# Idioms a hidden test shares with the helper package learners import: public by nature
# (torch's dispatch-mode pass-through, as in wcdl/ops.py's OpCounter).
COMMON = frozenset({"return func(*args, **(kwargs or {}))"})


def _cells(path: Path) -> list[str]:
    return ["".join(c.get("source", "")) for c in json.loads(path.read_text()).get("cells", [])]


def secret_lines(solutions: Path) -> dict[str, str]:
    """Lines of solution blocks and hidden tests -> the notebook they come from.

    Lines that also stand outside those blocks in a source notebook are released
    on purpose (the release keeps everything outside the blocks), so they are not secret.
    """
    secret: dict[str, str] = {}
    public: set[str] = set()
    for nb in sorted(solutions.glob("*/*.ipynb")):
        for source in _cells(nb):
            inside = False
            for line in source.splitlines():
                s = line.strip()
                if s.startswith(BEGIN):
                    inside = True
                elif s.startswith(END):
                    inside = False
                elif inside:
                    if len(s) >= MIN_LENGTH and not s.startswith("#"):
                        secret.setdefault(s, nb.name)
                else:
                    public.add(s)
    return {s: nb for s, nb in secret.items() if s not in public and s not in COMMON}


def released_lines(path: Path) -> list[str]:
    """The stripped lines a learner can read in a released file (a notebook's cell sources)."""
    if path.suffix == ".ipynb":
        try:
            return [ln.strip() for source in _cells(path) for ln in source.splitlines()]
        except (json.JSONDecodeError, UnicodeDecodeError, AttributeError, TypeError):
            pass
    return [ln.strip() for ln in path.read_text(errors="replace").splitlines()]


def leaks(solutions: Path, tree: Path) -> list[str]:
    """One line per file under `tree` that holds a solution or hidden-test line, or an nbgrader
    marker (a `.git` folder, whose objects are compressed copies of the other files, is skipped)."""
    secret = secret_lines(solutions)
    found = []
    for f in sorted(p for p in tree.rglob("*") if p.is_file() and ".git" not in p.relative_to(tree).parts):
        lines = released_lines(f)
        hits = [s for s in lines if s in secret]
        markers = [s for s in lines if s.startswith(BEGIN + END)]
        if hits or markers:
            example = (hits or markers)[0]
            found.append(f"{f.relative_to(tree)}: {len(hits)} line(s) of solutions or hidden tests"
                         f"{f' and {len(markers)} nbgrader marker(s)' if markers else ''}, e.g. {example[:80]!r}"
                         + (f" (from {secret[example]})" if example in secret else ""))
    return found
