"""Plausible wrong answers ("mutants"), as data the grading tests iterate.

A mutant is one text replacement inside one answer cell of a solution
notebook, plus the exercises it must make lose points. `mNN_K.yml` holds the
list of notebook mNN_K (its comment says why the mutants are what they are):

    notebook: m01_1_embeddings_are_lookup_tables
    mutants:
    - cell: m01_one_hot_answer      # grade id of the answer cell to change
      old: ...                      # text that occurs exactly once in that cell
      new: ...                      # what a learner wrote instead
      fails: m01_one_hot            # exercise ids (space-separated) that must lose points
      why: ...                      # the mistake, in a few words
      hidden_only: true             # optional: passes every visible test, only the hidden tests catch it

Adding a mutant is adding one entry; YAML block scalars (`|`) keep the code's
indentation and line breaks exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

FOLDER = Path(__file__).parent
KEYS = {"cell", "old", "new", "fails", "why", "hidden_only"}


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


def load(path: Path) -> list[Mutant]:
    """The mutants of one `mNN_K.yml` file; an unknown or missing key is an error, not a skip."""
    data = yaml.safe_load(path.read_text())
    out = []
    for i, row in enumerate(data["mutants"]):
        if set(row) - KEYS or not {"cell", "old", "new", "fails", "why"} <= set(row):
            raise ValueError(f"{path.name}: mutant {i + 1} has keys {sorted(row)}; expected {sorted(KEYS)}")
        out.append(M(data["notebook"], row["cell"], row["old"], row["new"], row["fails"], row["why"],
                     bool(row.get("hidden_only", False))))
    return out


def all_mutants() -> list[Mutant]:
    return [m for path in sorted(FOLDER.glob("m*.yml")) for m in load(path)]


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
