"""JupyterLab in a real browser: a learner runs a notebook; an instructor opens the formgrader.

Needs Chromium (Debian: `apt-get install chromium`); CI installs it and sets
WCDL_REQUIRE_BROWSER=1 so that a missing browser fails instead of skipping.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from grader import core
from tests.grading import module_of, submission

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if not CHROMIUM and os.environ.get("WCDL_REQUIRE_BROWSER"):
    raise RuntimeError("WCDL_REQUIRE_BROWSER is set but Chromium is not installed")
pytestmark = pytest.mark.skipif(not CHROMIUM, reason="Chromium not installed (apt-get install chromium)")
sync_api = pytest.importorskip("playwright.sync_api")

NB = "m01_2_normalization_and_dropout"
ARTIFACTS = Path(os.environ.get("WCDL_ARTIFACTS", Path(__file__).resolve().parents[1] / "build" / "browser"))
CHROME_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """A JupyterLab server on a folder, stopped with its kernels at the end."""

    def __init__(self, root: Path):
        self.port, self.token = _free_port(), secrets.token_hex(16)
        self.base = f"http://127.0.0.1:{self.port}"
        jupyter = Path(sys.executable).with_name("jupyter")
        args = [str(jupyter), "lab", "--no-browser", f"--ServerApp.port={self.port}",
                "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
                f"--ServerApp.root_dir={root}"]
        if os.geteuid() == 0:
            args.append("--allow-root")
        self.log = open(root / "lab.log", "w")
        self.proc = subprocess.Popen(args, cwd=root, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        for _ in range(240):
            try:
                urllib.request.urlopen(f"{self.base}/api?token={self.token}", timeout=5)
                return
            except OSError:
                time.sleep(0.5)
        self.stop()
        raise RuntimeError("JupyterLab did not start: " + (root / "lab.log").read_text()[-2000:])

    def url(self, path: str) -> str:
        return f"{self.base}/{path}?token={self.token}"

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()


def _browser_page(p):
    browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROME_ARGS)
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    return browser, page


def _shot(page, name: str) -> str:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return str(path)


def test_learner_runs_a_notebook_in_jupyterlab(tmp_path):
    folder = tmp_path / module_of(NB)
    shutil.copytree(core.COURSE / module_of(NB), folder)
    nbformat.write(submission(NB), folder / f"{NB}.ipynb")   # a learner who solved every exercise
    # empty code cells (hidden-test placeholders) are not executed by JupyterLab
    n_code = sum(c.cell_type == "code" and bool(c.source.strip())
                 for c in nbformat.read(folder / f"{NB}.ipynb", as_version=4).cells)
    lab = Lab(tmp_path)
    try:
        with sync_api.sync_playwright() as p:
            browser, page = _browser_page(p)
            try:
                page.goto(lab.url(f"lab/tree/{folder.name}/{NB}.ipynb"))
                page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
                # JupyterLab may ask which kernel to start: take the notebook's own (Python 3).
                accept = page.locator(".jp-Dialog button.jp-mod-accept")
                try:
                    accept.wait_for(timeout=15_000)
                    accept.click()
                except sync_api.TimeoutError:
                    pass
                page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle'], "
                                       ".jp-Toolbar-kernelStatus", timeout=120_000)
                page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
                page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
                # JupyterLab renders only the cells in view, so progress is read from the
                # saved file: every code cell has an execution count once it has run.
                path, deadline = folder / f"{NB}.ipynb", time.time() + 300
                while True:
                    page.locator(".jp-NotebookPanel-toolbar [data-command='docmanager:save']").first.click()
                    time.sleep(3)
                    saved = nbformat.read(path, as_version=4)
                    if all(c.execution_count for c in saved.cells if c.cell_type == "code" and c.source.strip()):
                        break
                    assert time.time() < deadline, f"cells did not finish; screenshot {_shot(page, 'timeout')}"
                _shot(page, "learner-run")
            except Exception:
                print("screenshot:", _shot(page, "learner-run-failure"))
                raise
            finally:
                browser.close()
    finally:
        lab.stop()
    saved = nbformat.read(folder / f"{NB}.ipynb", as_version=4)
    code = [c for c in saved.cells if c.cell_type == "code" and c.source.strip()]
    assert len(code) == n_code and all(c.execution_count for c in code), "not every cell ran in the browser"
    errors = [(o.ename, o.evalue) for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, f"cells failed in the browser: {errors}"
    assert any("image/png" in o.get("data", {}) for c in code for o in c.outputs), "no plot appeared"


def test_formgrader_lists_the_course_assignments(tmp_path):
    ws = core.make_workspace(tmp_path / "grading")
    for module in core.modules():
        core.generate(ws, module)
    lab = Lab(ws)
    try:
        with sync_api.sync_playwright() as p:
            browser, page = _browser_page(p)
            try:
                page.goto(lab.url("formgrader"))
                for module in core.modules():
                    page.get_by_text(module, exact=True).first.wait_for(timeout=120_000)
            except Exception:
                print("screenshot:", _shot(page, "formgrader-failure"))
                raise
            finally:
                browser.close()
    finally:
        lab.stop()
