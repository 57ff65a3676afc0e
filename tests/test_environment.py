"""The two ways to install the course agree, and CI runs the README's command."""

import json
import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _pins(reqs):
    out = {}
    for r in reqs:
        m = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)$", r.strip())
        if m:
            out[m.group(1).lower().replace("_", "-")] = m.group(2)
    return out


def test_environment_yml_matches_pyproject_pins():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pip_pins = _pins(project["optional-dependencies"]["course"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    conda_pins = _pins(pip_section)
    assert pip_pins, "no pins found in pyproject.toml's course extra"
    missing = sorted(set(pip_pins) - set(conda_pins))
    extra = sorted(set(conda_pins) - set(pip_pins))
    differ = {k: (pip_pins[k], conda_pins[k]) for k in set(pip_pins) & set(conda_pins) if pip_pins[k] != conda_pins[k]}
    assert not (missing or extra or differ), (
        f"environment.yml disagrees with pyproject.toml: missing {missing}, extra {extra}, "
        f"different versions (pyproject, environment.yml) {differ}")
    assert "-e ." in pip_section, "environment.yml must install the course's helper package (-e .)"
    assert pip_pins.get("torch") == "2.13.0"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"^\s*(make \w+)\s*$", readme, flags=re.M)
    assert commands[:2] == ["make lab", "make test"], f"README's first two commands are {commands[:2]}"
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, flags=re.M), ".ci/run must run the README's `make test`"
    assert "shared/data" in ci and "WCDL_DATA_DIR" in ci


def test_make_lab_serves_the_course_and_prints_its_url():
    """The README's first command, as a learner (or root in a container) runs it."""
    import os
    import signal
    import subprocess
    import time
    import urllib.request

    import socket

    with socket.socket() as s:  # a free port, so a running JupyterLab is not in the way
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ)
    env.pop("DISPLAY", None)
    proc = subprocess.Popen(["make", "-s", "lab", f"LAB_ARGS=--ServerApp.port={port} --ServerApp.port_retries=0"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    url, seen = None, []
    try:
        deadline = time.time() + 120
        while time.time() < deadline and url is None:
            line = proc.stdout.readline()
            if not line:
                break
            seen.append(line)
            m = re.search(r"(http://127\.0\.0\.1:\d+/lab\?token=\w+)", line)
            url = m.group(1) if m else None
        assert url, "JupyterLab printed no URL:\n" + "".join(seen[-30:])
        api = url.replace("/lab?", "/api/contents?")
        listing, last_error = None, None
        for _ in range(20):  # the URL is printed a moment before the socket accepts
            try:
                listing = json.loads(urllib.request.urlopen(api, timeout=30).read())
                break
            except OSError as e:
                last_error = e
                time.sleep(0.5)
        assert listing is not None, f"{api}: {last_error}; exit status {proc.poll()}"
        names = {item["name"] for item in listing["content"]}
        assert "01_matmul_is_all_you_need" in names, f"JupyterLab does not serve course/: {names}"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
