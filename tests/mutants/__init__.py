"""Plausible wrong answers ("mutants"), as data the grading tests iterate.

A mutant is one text replacement inside one answer cell of a solution
notebook, plus the exercises it must make lose points. `mNN.py` files hold
each module's list; adding a mutant is adding one line there.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass


@dataclass(frozen=True)
class Mutant:
    notebook: str          # notebook name without .ipynb
    cell: str              # grade id of the answer cell to change
    old: str               # text that must occur exactly once in that cell
    new: str               # what a learner wrote instead
    fails: tuple[str, ...]  # exercise ids (grade ids without "_hidden") that must lose points
    why: str               # the mistake, in a few words
    hidden_only: bool = False  # passes every visible test; only the hidden tests catch it

    @property
    def id(self) -> str:
        return f"{self.notebook}:{self.cell}:{self.why}"


def M(notebook: str, cell: str, old: str, new: str, fails: str, why: str, hidden_only: bool = False) -> Mutant:
    """One-line constructor: `fails` is a space-separated list of exercise ids.

    `hidden_only=True`: the mistake passes the visible test of each exercise
    in `fails` and must be failed by its hidden test (the grading tests check
    both).
    """
    return Mutant(notebook, cell, old, new, tuple(fails.split()), why, hidden_only)


def all_mutants() -> list[Mutant]:
    out: list[Mutant] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        out.extend(importlib.import_module(f"{__name__}.{info.name}").MUTANTS)
    return out


def batches(mutants: list[Mutant]) -> list[list[Mutant]]:
    """Pack mutants of one notebook into as few graded runs as possible.

    Two mutants share a run only if they change different cells and their
    expected failures are disjoint, so each run still shows every mutant
    losing exactly its own exercises while all others keep full marks.
    """
    runs: list[list[Mutant]] = []
    for m in mutants:
        for run in runs:
            if run[0].notebook != m.notebook:
                continue
            if any(o.cell == m.cell or set(o.fails) & set(m.fails) for o in run):
                continue
            run.append(m)
            break
        else:
            runs.append([m])
    return runs
