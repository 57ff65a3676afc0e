"""JupyterLab for learners (`make lab`) and for instructors (`make formgrader`).

    python -m grader.lab [--no-browser] [-- JUPYTER_ARGS]      learners: JupyterLab on course/
    python -m grader.lab --formgrader GRADING [--no-browser]   instructors: the formgrader on a grading folder

Learners get a lab without nbgrader's instructor tools (menu, Create
Assignment panel, Validate button, assignment list) and without the
news pop-up; instructors get the formgrader on a course directory such as
the one `wcdl autograde` writes, without the exchange (the course does not
use one). Both are plain Jupyter settings kept in the repository:
jupyter/learner/ and jupyter/instructor/ (page_config.json disables lab
plugins, jupyter_server_config.json nbgrader's server extensions), found
through JUPYTER_CONFIG_PATH. JupyterLab's own log is kept to warnings and
errors; the URL is printed last, once the server answers.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import webbrowser
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SETTINGS = REPO / "jupyter"


def free_port(preferred: int = 8888) -> int:
    for port in [*range(preferred, preferred + 12), 0]:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise OSError("no free port")


def command(root: Path, port: int, token: str, extra: list[str] = ()) -> list[str]:
    jupyter = Path(sys.executable).with_name("jupyter")
    cmd = [str(jupyter), "lab", "--no-browser", f"--ServerApp.root_dir={root}", f"--ServerApp.port={port}",
           "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", "--ServerApp.log_level=WARN",
           "--LabApp.log_level=WARN"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    return cmd + list(extra)


def environment(profile: str) -> dict:
    """This process's environment with the profile's Jupyter settings first on JUPYTER_CONFIG_PATH."""
    paths = [str(SETTINGS / profile)] + [p for p in os.environ.get("JUPYTER_CONFIG_PATH", "").split(os.pathsep) if p]
    return dict(os.environ, JUPYTER_CONFIG_PATH=os.pathsep.join(paths))


def wait_until_up(proc: subprocess.Popen, base: str, token: str, limit: float = 300) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5)
            return True
        except OSError:
            time.sleep(0.5)
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.lab", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--formgrader", metavar="GRADING",
                        help="open nbgrader's formgrader on this grading folder (instructors)")
    parser.add_argument("--no-browser", action="store_true", help="only print the URL")
    parser.add_argument("--root", default=str(REPO / "course"), help="folder for the learners' lab (default: course/)")
    parser.add_argument("--port", type=int, default=None, help="port to serve on (default: 8888, or the next free)")
    parser.add_argument("jupyter_args", nargs="*", help="more options for jupyter lab (after --)")
    args = parser.parse_args(argv)
    if args.formgrader:
        root = Path(args.formgrader).resolve()
        if not (root / "nbgrader_config.py").is_file():
            print(f"error: {root} is not a grading folder (no nbgrader_config.py): grade a class first with\n"
                  f"  .venv/bin/wcdl autograde submissions/ --out {args.formgrader}", file=sys.stderr)
            return 2
        profile, page, what = "instructor", "formgrader", f"the formgrader on {root}"
    else:
        root, profile, page, what = Path(args.root).resolve(), "learner", "lab", "the course"
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))     # stop JupyterLab too (see finally)
    port, token = args.port or free_port(), secrets.token_hex(24)
    proc = subprocess.Popen(command(root, port, token, args.jupyter_args), cwd=root, env=environment(profile))
    base = f"http://127.0.0.1:{port}"
    try:
        if not wait_until_up(proc, base, token):
            print("error: JupyterLab did not start (its messages are above)", file=sys.stderr)
            return 1
        url = f"{base}/{page}?token={token}"
        opened = not args.no_browser and webbrowser.open(url)
        print(f"\nJupyterLab is running: {what}.{' A browser tab was opened;' if opened else ''} "
              f"Open this URL in a browser:\n\n    {url}\n\nCtrl-C stops it.", flush=True)
        return proc.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    sys.exit(main())
