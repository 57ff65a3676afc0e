"""JupyterLab in a real browser: a learner runs a notebook; an instructor opens the formgrader.

Needs Chromium (Debian: `apt-get install chromium`); CI installs it and sets
WCDL_REQUIRE_BROWSER=1 so that a missing browser fails instead of skipping.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
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
    """JupyterLab as `make lab` (learners) or `make formgrader` (instructors) starts it, on a
    free port; the URL is read from what the command prints. Stopped with its kernels at the end."""

    def __init__(self, root: Path, formgrader: bool = False):
        port = _free_port()
        args = [sys.executable, "-m", "grader.lab", "--no-browser", "--port", str(port)]
        args += ["--formgrader", str(root)] if formgrader else ["--root", str(root)]
        self.log_path = root / "lab.log"
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(args, cwd=core.REPO, stdout=subprocess.PIPE, stderr=self.log, text=True,
                                     start_new_session=True)
        self.printed = []
        for line in self.proc.stdout:
            self.printed.append(line)
            m = re.search(r"(http://127\.0\.0\.1:\d+)/\w+\?token=(\w+)", line)
            if m:
                self.base, self.token = m.groups()
                return
        self.stop()
        raise RuntimeError("JupyterLab did not start: " + "".join(self.printed) + self.log_path.read_text()[-2000:])

    def url(self, path: str) -> str:
        return f"{self.base}/{path}?token={self.token}"

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()


@contextlib.contextmanager
def _browser(lab: Lab, name: str):
    """A page of a headless Chromium; on failure a screenshot `<name>-failure.png`; the browser
    and `lab` stopped at the end."""
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROME_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            try:
                yield page
            except Exception:
                print("screenshot:", _shot(page, f"{name}-failure"))
                raise
            finally:
                browser.close()
    finally:
        lab.stop()


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
    with _browser(lab, "learner-run") as page:
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
        # the learners' lab: no Nbgrader menu, no Create Assignment panel, no Validate button,
        # no "get notified about Jupyter news?" pop-up
        menus = page.locator(".lm-MenuBar-itemLabel").all_inner_texts()
        assert "Run" in menus and not any("nbgrader" in m.lower() for m in menus), menus
        text = page.locator("body").inner_text()
        assert "Create Assignment" not in text and "Validate" not in text, "instructor tools shown"
        assert "Jupyter news" not in text, "the news pop-up is shown"
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
    saved = nbformat.read(folder / f"{NB}.ipynb", as_version=4)
    code = [c for c in saved.cells if c.cell_type == "code" and c.source.strip()]
    assert len(code) == n_code and all(c.execution_count for c in code), "not every cell ran in the browser"
    errors = [(o.ename, o.evalue) for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, f"cells failed in the browser: {errors}"
    assert any("image/png" in o.get("data", {}) for c in code for o in c.outputs), "no plot appeared"


def test_instructors_open_the_formgrader_on_a_graded_class(tmp_path):
    """`make formgrader GRADING=...` on what `wcdl autograde` wrote: the graded students are there,
    and nothing warns about nbgrader's exchange (the course does not use one)."""
    from grader import cli

    subs, grading = tmp_path / "submissions", tmp_path / "grading"
    for student in ("alice", "bob"):
        (subs / student).mkdir(parents=True)
        nbformat.write(submission(NB, solved=student == "alice"), subs / student / f"{NB}.ipynb")
    assert cli.main(["autograde", str(subs), "--out", str(grading), "--quiet"]) == 0
    lab = Lab(grading, formgrader=True)
    with _browser(lab, "formgrader") as page:
        page.goto(lab.url("formgrader/manage_students"))
        for student in ("alice", "bob"):
            page.get_by_text(student, exact=True).first.wait_for(timeout=120_000)
        page.goto(lab.url("formgrader"))
        page.get_by_text(module_of(NB), exact=True).first.wait_for(timeout=120_000)
        assert page.locator("#warning-exchange").count() == 0, "the formgrader warns about the exchange"
        _shot(page, "formgrader")
    assert "exchange" not in lab.log_path.read_text().lower(), lab.log_path.read_text()[-2000:]
