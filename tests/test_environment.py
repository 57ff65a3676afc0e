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
    import urllib.error
    import urllib.request

    import socket

    with socket.socket() as s:  # a free port, so a running JupyterLab is not in the way
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ)
    env.pop("DISPLAY", None)
    proc = subprocess.Popen(["make", "-s", "lab", f"PORT={port}"], cwd=ROOT, env=env,
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
        # quiet: JupyterLab's start-up log is kept to warnings, so the URL is the last thing said
        assert not [ln for ln in seen if re.match(r"^\[[IDW] ", ln)], "JupyterLab's log is not quiet:\n" + "".join(seen)
        # the learners' lab: nbgrader's instructor tools and the news pop-up are switched off
        page = urllib.request.urlopen(url, timeout=30).read().decode()
        disabled = json.loads(re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>',
                                        page, re.S).group(1))["disabledExtensions"]
        assert {"@jupyter/nbgrader:menu", "@jupyter/nbgrader:create-assignment",
                "@jupyter/nbgrader:validate-assignment", "@jupyterlab/apputils-extension:announcements"} <= set(disabled)
        try:
            urllib.request.urlopen(url.replace("/lab?", "/formgrader?"), timeout=30)
            formgrader = True
        except urllib.error.HTTPError:
            formgrader = False
        assert not formgrader, "the learners' lab serves the formgrader"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


# ---------------------------------------------------------------- the lock

TORCH_FAMILY = re.compile(r"^(torch|triton|nvidia-[a-z0-9-]+|cuda-[a-z0-9-]+)$")


def _lock():
    """requirements.lock -> ({name: [(version, marker)]}, {torch-family name: version}, {name: hashes})."""
    text = (ROOT / "requirements.lock").read_text()
    pins, torch_family, hashes = {}, {}, {}
    for block in re.split(r"\n(?=\S)", text):
        m = re.match(r"^(# \(installed with torch\) )?([A-Za-z0-9_.\-]+)==([^\s;\\]+)\s*(?:;\s*([^\\\n]+))?", block)
        if not m:
            continue
        name = m.group(2).lower().replace("_", "-")
        if m.group(1):
            torch_family[name] = m.group(3)
        else:
            pins.setdefault(name, []).append((m.group(3), (m.group(4) or "").strip()))
            hashes[name] = re.findall(r"--hash=sha256:[0-9a-f]{64}", block)
    return pins, torch_family, hashes


def test_lock_agrees_with_pyproject_and_environment_yml():
    pins, torch_family, hashes = _lock()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    course = _pins(project["optional-dependencies"]["course"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = _pins(next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d))
    assert course == conda
    for name, version in course.items():
        if TORCH_FAMILY.match(name):
            assert torch_family.get(name) == version, f"requirements.lock lists {name} {torch_family.get(name)}"
        else:
            assert [v for v, _ in pins.get(name, [])] == [version], \
                f"{name}: pyproject.toml pins {version}, requirements.lock has {pins.get(name)}: run `make lock`"
    # every package has its hashes; only torch and its CUDA libraries are left to torch's own pins
    assert len(pins) > 100 and all(hashes[n] for n in pins), [n for n in pins if not hashes[n]]
    assert not [n for n in pins if TORCH_FAMILY.match(n)]


def test_lock_is_complete_for_this_platform():
    """Every requirement of every locked package (on this platform) is itself locked: nothing is
    left for pip to pick (the install uses --no-deps)."""
    from importlib.metadata import PackageNotFoundError, distribution

    from packaging.markers import default_environment
    from packaging.requirements import Requirement

    pins, torch_family, _ = _lock()
    env = default_environment()
    here = {n for n, vs in pins.items() for _, marker in vs if not marker or
            Requirement(f"x; {marker}").marker.evaluate(env)}
    missing = {}
    for name in sorted(here):
        try:
            requires = distribution(name).requires or []
        except PackageNotFoundError:
            continue          # not installed in this environment (the lock is universal)
        for r in map(Requirement, requires):
            dep = r.name.lower().replace("_", "-")
            if r.marker is not None and not r.marker.evaluate(dict(env, extra="")):
                continue
            if dep not in pins and dep not in torch_family:
                missing.setdefault(name, []).append(dep)
    assert not missing, f"requirements.lock lacks what these need: {missing}; run `make lock`"


def test_both_readme_commands_install_from_the_lock():
    make = (ROOT / "Makefile").read_text()
    install = make[make.index("$(STAMP):"):make.index("\nlab:")]
    assert "--require-hashes --no-deps -r $(LOCK)" in install and "LOCK   := requirements.lock" in make
    assert re.search(r"^lab: \$\(STAMP\)", make, re.M) and re.search(r"^test: \$\(STAMP\)", make, re.M)
    assert re.search(r"^lock:", make, re.M), "`make lock` refreshes the lock"
    # the CPU build of torch is an option of the same commands
    assert "$(if $(TORCH_INDEX),--index-url $(TORCH_INDEX),)" in install
    assert "make lab TORCH_INDEX=https://download.pytorch.org/whl/cpu" in (ROOT / "README.md").read_text()


def test_the_readme_grading_example_leaves_git_clean():
    """The README grades `submissions/` into `grading/` inside the repository: git ignores both."""
    ignored = (ROOT / ".gitignore").read_text().split()
    assert "/submissions/" in ignored and "/grading/" in ignored


def test_a_cpp_compiler_is_on_path():
    """torch.compile on the CPU (notebook m02_6) builds the C++ that TorchInductor writes with the
    compiler it finds the way inductor does ($CXX, else g++; clang++ on macOS): without one the
    notebook fails halfway, so CI checks for it here, with the fix in the message."""
    import os
    import shutil
    import subprocess
    import sys

    cxx = os.environ.get("CXX") or ("clang++" if sys.platform == "darwin" else "g++")
    path = shutil.which(cxx)
    fix = ("torch.compile on the CPU (notebook m02_6) needs a C++ compiler: install one "
           "(Debian/Ubuntu: apt-get install g++; macOS: xcode-select --install; conda: conda install gxx) "
           "or point $CXX at one.")
    assert path, f"no C++ compiler: {cxx!r} is not on PATH. {fix}"
    run = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, f"the C++ compiler {path} does not run ({run.stderr.strip()[:300]}). {fix}"
