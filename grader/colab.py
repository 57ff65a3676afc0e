"""Stamp release notebooks for Google Colab: a badge and a (collapsed) set-up cell;
label the empty hidden-test cells the release leaves behind.

The repository's owner/name is set once, in pyproject.toml
([tool.wcdl] repository); `wcdl release` stamps every notebook in course/.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import nbformat

from grader import core

STAMP = "wcdl-colab"   # cell metadata marking stamped cells (so stamping is idempotent)

SETUP = '''\
# Set-up for Google Colab; anywhere else this cell does nothing.
# In Colab it installs the course's helper package and what Colab lacks
# (torch is already there and is left alone){fetch_doc},
# and runs numba.cuda kernels in the CUDA simulator when there is no GPU.
import os
import shutil
import subprocess
import sys
{fetch_import}
try:
    import google.colab  # noqa: F401
    IN_COLAB = True
except ImportError:
    IN_COLAB = False
if IN_COLAB:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    os.environ.get("WCDL_INSTALL", "wcdl[colab] @ git+https://github.com/{repo}.git@{branch}")],
                   check=True)
{fetch}    if shutil.which("nvidia-smi") is None:
        os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")
'''
# Only for modules with files besides the notebooks (data, scripts).
FETCH = '''\
    for name in {files!r}:
        if not os.path.exists(name):
            urllib.request.urlretrieve("https://raw.githubusercontent.com/{repo}/{branch}/course/{module}/" + name, name)
'''
# Shown instead of the hidden-test cell's empty source in course/ (the grader puts the tests back).
HIDDEN_LABEL = "# Hidden tests: they run when the notebook is graded, or with `wcdl check`."


def setup_source(repo: str, branch: str, module: str, files: list[str]) -> str:
    fetch = FETCH.format(files=sorted(files), repo=repo, branch=branch, module=module) if files else ""
    return SETUP.format(repo=repo, branch=branch, fetch=fetch,
                        fetch_doc=", fetches this module's files" if files else "",
                        fetch_import="import urllib.request\n" if files else "").replace("\n\n\ntry:", "\n\ntry:")


def settings(pyproject: Path = core.REPO / "pyproject.toml") -> tuple[str, str]:
    tool = tomllib.loads(pyproject.read_text()).get("tool", {}).get("wcdl", {})
    return tool["repository"], tool.get("branch", "main")


def colab_url(repo: str, branch: str, module: str, notebook: str) -> str:
    return f"https://colab.research.google.com/github/{repo}/blob/{branch}/course/{module}/{notebook}.ipynb"


def stamp(path: Path, module: str, extra_files: list[str], repo: str | None = None,
          branch: str | None = None) -> None:
    """Insert (or refresh) the badge and the set-up cell of one release notebook.

    `repo` and `branch` default to pyproject.toml's (`wcdl publish` gives a class repository's own).
    """
    own_repo, own_branch = settings()
    repo, branch = repo or own_repo, branch or own_branch
    nb = nbformat.read(path, as_version=4)
    nb.cells = [c for c in nb.cells if c.get("metadata", {}).get(STAMP) is None]
    badge = nbformat.v4.new_markdown_cell(
        f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
        f"({colab_url(repo, branch, module, path.stem)})", metadata={STAMP: "badge"})
    # collapsed: locally it does nothing, so it should not be the first thing a learner reads
    setup = nbformat.v4.new_code_cell(setup_source(repo, branch, module, extra_files).rstrip(),
                                      metadata={STAMP: "setup", "collapsed": True,
                                                "jupyter": {"source_hidden": True}})
    badge.id, setup.id = "colab-badge", "colab-setup"   # fixed ids keep the release reproducible
    nb.cells = [badge, *nb.cells[:1], setup, *nb.cells[1:]]
    for cell in nb.cells:
        gid = core.nbgrader_meta(cell).get("grade_id", "")
        if cell.cell_type == "code" and gid.endswith(core.HIDDEN_SUFFIX) and not cell.source.strip():
            cell.source = HIDDEN_LABEL
    nbformat.write(nb, path)


def stamp_module(folder: Path, repo: str | None = None, branch: str | None = None) -> None:
    extra = sorted(p.name for p in folder.iterdir() if p.is_file() and p.suffix != ".ipynb")
    for path in sorted(folder.glob("*.ipynb")):
        stamp(path, folder.name, extra, repo, branch)
