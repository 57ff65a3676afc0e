import os

import pytest

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

_timings: list[tuple[str, float]] = []


def pytest_runtest_logreport(report):
    if report.when == "call":
        for key, value in report.user_properties:
            if key == "notebook_seconds":
                _timings.append((report.nodeid, value))


def pytest_terminal_summary(terminalreporter):
    if _timings:
        terminalreporter.section("solution notebooks: autograde time (nbgrader, whole notebook)")
        for nodeid, seconds in sorted(_timings):
            terminalreporter.write_line(f"{seconds:6.1f} s  {nodeid}")
