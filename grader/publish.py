"""`wcdl publish OUT`: a student repository for a class.

The course's own repository holds `solutions/` (answers and hidden tests) and
the tests' mutants; a class gets the release alone. OUT receives:

    course/          the released notebooks and their data files, Colab badges and
                     set-up cells pointing at OUT's own repository
    wcdl/            the helper package the notebooks import
    grader/          the grading code `wcdl check` runs (no benchmarks, no tests), and
    grader/release/  a pristine copy of course/: what `wcdl check` grades against
                     (learners edit course/); its hidden-test cells hold a comment only
    jupyter/learner/ the learners' JupyterLab settings (`make lab`)
    README.md, pyproject.toml, Makefile, requirements.lock, environment.yml, .gitignore

Nothing else: no solutions/, no tests/ (the mutants are wrong answers next to
the right ones), no nbgrader_config.py of the source course. There `wcdl
check` runs the visible tests and says that the hidden tests run when the
instructor grades (core.PUBLISHED). Before it returns, every file of OUT is
searched for solution and hidden-test lines (grader/leaks.py), the same search
`tests/test_release.py` runs on course/.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import nbformat

from grader import colab, core
from grader.leaks import leaks

# What publish writes; each is replaced as a whole, anything else in OUT is left alone.
OWNED = ("course", "wcdl", "grader", "jupyter", "README.md", "pyproject.toml", "Makefile", "requirements.lock",
         "environment.yml", ".gitignore")
# grader/ modules a class repository does without: they need solutions/ and tests/
INSTRUCTOR_ONLY = ("bench.py", "bench_check.py")
# Make targets for the course's maintainers and instructors, not for learners
MAKE_DROPPED = ("test", "release", "formgrader", "lock")
HIDDEN_LABEL = "# Hidden tests: they run when your instructor grades the notebook (not in this repository)."
GITHUB = re.compile(r"\A(?:https?://(?:www\.)?github\.com/|git@github\.com:|ssh://git@github\.com/)?"
                    r"([A-Za-z0-9][A-Za-z0-9-]*)/([A-Za-z0-9._-]+?)(?:\.git)?/?\Z")
IGNORE = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "*.pyc", "*.egg-info", ".DS_Store")


class PublishError(core.GradingError):
    """The class repository cannot be written (bad address, bad folder) or would leak."""


def github_repository(address: str) -> str:
    """owner/name from `owner/name`, `https://github.com/owner/name(.git)` or `git@github.com:owner/name.git`."""
    m = GITHUB.match(address.strip())
    if not m or m[2] in (".", ".."):
        raise PublishError(f"{address!r} is not a GitHub repository (owner/name, https://github.com/owner/name "
                           "or git@github.com:owner/name.git): Colab opens notebooks from GitHub only")
    return f"{m[1]}/{m[2]}"


def origin_of(folder: Path) -> str | None:
    """The `origin` remote of a git clone at `folder`, if it is one."""
    if not (folder / ".git").exists():
        return None
    try:
        out = subprocess.run(["git", "-C", str(folder), "remote", "get-url", "origin"], capture_output=True,
                             text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else None


def _section(readme: str, heading: str) -> str:
    """A section of the course README, from its heading to the next heading of the same level or higher."""
    level = len(heading) - len(heading.lstrip("#"))
    lines = readme.splitlines()
    start = lines.index(heading)
    end = next((i for i in range(start + 1, len(lines))
                if re.match(r"#{1,%d} " % level, lines[i])), len(lines))
    return "\n".join(lines[start + 1:end]).strip()


def learner_readme(repo: str, branch: str, modules: list[str]) -> str:
    course_readme = (core.REPO / "README.md").read_text()
    name = repo.split("/")[1]
    rows = []
    for m in modules:
        for nb in sorted((core.COURSE / m).glob("*.ipynb")):
            title = next(c.source.splitlines()[0][2:] for c in nbformat.read(nb, as_version=4).cells
                         if c.cell_type == "markdown" and c.source.startswith("# "))
            rows.append(f"| `{m}` | [{title}](course/{m}/{nb.name}) | [![Open In Colab]"
                        f"(https://colab.research.google.com/assets/colab-badge.svg)]"
                        f"({colab.colab_url(repo, branch, m, nb.stem)}) |")
    first = min((core.COURSE / modules[0]).glob("*.ipynb"))
    modules_table = _section(course_readme, "## Modules")
    keep = [ln for ln in modules_table.splitlines() if not ln.startswith("| `") or ln.split("`")[1] in modules]
    return f"""# Working-Class Deep Learning

The notebooks of this class: a hands-on course for ML engineers who ship
models. Fill in each `# YOUR CODE HERE`, run the test cell below it, and
hand in your notebooks as your instructor asks.

{chr(10).join(keep)}

## Notebooks

| module | notebook | Colab |
|---|---|---|
{chr(10).join(rows)}

## On your machine

You need Python 3.11+, `git` and `make` (Linux or macOS; on Windows use
WSL). No GPU. The first command creates `.venv` and installs the course's
pinned environment (`requirements.lock`, hash-checked), then starts
JupyterLab on `course/` and prints its URL:

    git clone https://github.com/{repo}.git
    cd {name}
    make lab

On Linux without an NVIDIA GPU, the CPU build of torch saves several GB:
`make lab TORCH_INDEX=https://download.pytorch.org/whl/cpu` (the first time).
Conda users: `conda env create -f environment.yml`, then `pip install -e .`.

## In Colab

Every notebook opens in Colab from its badge (above, or at the top of the
notebook). Its first code cell installs the helper package from this
repository and fetches the module's data files; outside Colab it does
nothing. Save your work to Drive or download it: Colab does not keep it.

## Check your work

    .venv/bin/wcdl check course/{modules[0]}/{first.name}
    make check NB=course/{modules[0]}    # a whole module
    make check    # every notebook

The check grades the saved notebook as your instructor's grader does (the
same nbgrader pipeline and test cells) and prints, per exercise, the points
of the visible tests and what failed. The hidden tests (other sizes, edge
cases, more of the contract) are not in this repository: they run when your
instructor grades, and the check says how many points they are worth.
Passing the visible tests is a good sign, not yet the grade.

## Data, offline

{_section(course_readme, "### Data, offline")}
"""


def learner_makefile(text: str) -> str:
    """The course's Makefile without the maintainers' and instructors' targets (one install recipe)."""
    lines = text.splitlines()
    first = next(i for i, ln in enumerate(lines) if not ln.startswith("#"))
    header = ["# Two commands do all set-up on a fresh clone:",
              "#   make lab      create .venv, install the course, start JupyterLab on course/",
              "#   make check    grade your notebooks' visible tests (NB=course/<module> for one module)",
              "#",
              "# On Linux without an NVIDIA GPU, the CPU build of torch skips several GB of CUDA libraries:",
              "#   make lab TORCH_INDEX=https://download.pytorch.org/whl/cpu"]
    blocks = "\n".join(lines[first:]).split("\n\n")
    dropped = re.compile(r"^(%s):" % "|".join(MAKE_DROPPED), re.M)
    kept = [b for b in blocks if not dropped.search(b)]
    out = "\n".join(header) + "\n" + "\n\n".join(kept).rstrip() + "\n"
    out = re.sub(r"^(WORKERS|GRADING|UV) .*\n", "", out, flags=re.M)     # only the dropped targets use them
    return re.sub(r"^\.PHONY:.*$", ".PHONY: lab check", out, flags=re.M)


def learner_pyproject(text: str, repo: str, branch: str) -> str:
    text = re.sub(r'^repository = ".*"$', f'repository = "{repo}"', text, count=1, flags=re.M)
    text = re.sub(r'^branch = ".*"$', f'branch = "{branch}"', text, count=1, flags=re.M)
    return text.replace("# The course's public repository:", "# This class's repository (written by `wcdl publish`):")


GITIGNORE = ".venv/\n__pycache__/\n*.pyc\n.ipynb_checkpoints/\n*.egg-info/\nbuild/\n"


def _relabel_hidden(folder: Path) -> None:
    """Hidden-test cells say where their tests are: with the instructor."""
    for path in sorted(folder.glob("*/*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            gid = core.nbgrader_meta(cell).get("grade_id", "")
            if cell.cell_type == "code" and gid.endswith(core.HIDDEN_SUFFIX):
                cell.source = HIDDEN_LABEL
        nbformat.write(nb, path)


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def publish(out: Path, repository: str | None = None, branch: str = "main",
            modules: list[str] | None = None) -> dict:
    """Write the class repository at `out`; returns {"repository", "branch", "modules", "kept"}.

    `repository` defaults to the `origin` remote of `out` (a clone of the class's empty
    repository); `modules` to every module of the release.
    """
    out = out.resolve()
    if out == core.REPO or core.REPO.is_relative_to(out) or out.is_relative_to(core.REPO):
        raise PublishError(f"{out}: write the class repository outside the course's own ({core.REPO})")
    if out.exists() and not out.is_dir():
        raise PublishError(f"{out} exists and is not a folder")
    address = repository or origin_of(out)
    if not address:
        raise PublishError("which repository will the class clone? Pass --repository owner/name (or "
                           "https://github.com/owner/name), or publish into a clone of it (its `origin` is used)")
    repo = github_repository(address)
    all_mods = core.modules(core.COURSE)
    unknown = sorted(set(modules or []) - set(all_mods))
    if unknown:
        raise PublishError(f"no such module(s) in {core.COURSE}: {', '.join(unknown)} "
                           f"(modules: {', '.join(all_mods)})")
    mods = sorted(modules) if modules else all_mods

    out.mkdir(parents=True, exist_ok=True)
    kept = sorted(p.name for p in out.iterdir() if p.name not in OWNED and p.name != ".git")
    for name in OWNED:
        _remove(out / name)
    for m in mods:
        shutil.copytree(core.COURSE / m, out / "course" / m, ignore=IGNORE)
        colab.stamp_module(out / "course" / m, repo, branch)
    _relabel_hidden(out / "course")
    shutil.copytree(core.REPO / "wcdl", out / "wcdl", ignore=IGNORE)
    (out / "grader").mkdir()
    for py in sorted((core.REPO / "grader").glob("*.py")):
        if py.name not in INSTRUCTOR_ONLY:
            shutil.copy2(py, out / "grader" / py.name)
    # what `wcdl check` grades against (core.PUBLISHED): the release as published, which learners do not edit
    shutil.copytree(out / "course", out / core.PUBLISHED_RELEASE.relative_to(core.REPO))
    shutil.copytree(core.REPO / "jupyter" / "learner", out / "jupyter" / "learner", ignore=IGNORE)
    for name in ("requirements.lock", "environment.yml"):
        shutil.copy2(core.REPO / name, out / name)
    (out / "pyproject.toml").write_text(learner_pyproject((core.REPO / "pyproject.toml").read_text(), repo, branch))
    (out / "Makefile").write_text(learner_makefile((core.REPO / "Makefile").read_text()))
    (out / ".gitignore").write_text(GITIGNORE)
    (out / "README.md").write_text(learner_readme(repo, branch, mods))

    found = leaks(core.SOLUTIONS, out)
    if found:
        raise PublishError(f"{out} would give answers away; do not push it:\n" + "\n".join("  " + f for f in found))
    return {"repository": repo, "branch": branch, "modules": mods, "kept": kept}


def visible_only(result: core.NotebookResult) -> core.NotebookResult:
    """A check in a class repository: its hidden-test cells hold a comment only, so they count
    for nothing; say what they are worth when the instructor grades."""
    hidden = 0.0
    for e in result.exercises:
        for gid in [g for g in e.cells if g.endswith(core.HIDDEN_SUFFIX)]:
            got, most = e.cells.pop(gid)
            e.score -= got
            e.max_score -= most
            hidden += most
        if e.passed:
            e.message = None
    if hidden:
        result.notes.append(f"hidden tests ({hidden:g} more points) are not in this repository: they run when "
                            "your instructor grades; this check ran the visible tests")
    return result


def main(args) -> int:
    """`wcdl publish`: write the class repository and say how to push it."""
    info = publish(Path(args.out), args.repository, args.branch, args.modules or None)
    out = Path(args.out).resolve()
    print(f"wrote the class repository {out} for github.com/{info['repository']} ({info['branch']}): "
          f"{len(info['modules'])} module(s), no solutions or hidden tests (checked)")
    if info["kept"]:
        print(f"left as they were (not written by publish): {', '.join(info['kept'])}")
    commit = "git add -A && git commit -m 'Publish the course'"
    if (out / ".git").exists():
        print(f"push it: cd {out} && {commit} && git push origin {info['branch']}")
    else:
        print(f"push it: cd {out} && git init -b {info['branch']} && {commit} && git remote add origin "
              f"https://github.com/{info['repository']}.git && git push -u origin {info['branch']}")
    return 0
