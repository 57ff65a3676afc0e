"""nbgrader preprocessors of the course."""

from nbconvert.preprocessors import Preprocessor

HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"


def is_hidden_test_cell(cell) -> bool:
    return cell.cell_type == "code" and HIDDEN_BEGIN in cell.source


class HideHiddenTests(Preprocessor):
    """Replace hidden-test cells (code and tracebacks) by a one-line summary.

    Used for feedback that reaches learners: the hidden tests' code, and the
    traceback lines that would quote it, never leave the grader.
    """

    def preprocess_cell(self, cell, resources, index):
        if is_hidden_test_cell(cell):
            failed = any(o.get("output_type") == "error" for o in cell.get("outputs", []))
            cell.source = "# hidden tests: " + ("FAILED" if failed else "passed")
            cell.outputs = []
        return cell, resources
