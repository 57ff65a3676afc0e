import os

import pytest

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

_timings: list[tuple[str, float]] = []


def pytest_collection_modifyitems(items):
    # nbval yields one item per cell; all cells of a notebook share one
    # kernel, so they must run on the same xdist worker.
    for item in items:
        if str(item.fspath).endswith(".ipynb"):
            item.add_marker(pytest.mark.xdist_group(name=str(item.fspath)))


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
