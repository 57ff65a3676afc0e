"""nbgrader preprocessors of the course."""

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"
REDACTED = "[output removed by the grader: it quoted hidden test code]"


def is_hidden_test_cell(cell) -> bool:
    return cell.cell_type == "code" and HIDDEN_BEGIN in cell.source


def hidden_lines(nb) -> set[str]:
    """Distinctive source lines of a notebook's hidden tests: lines of 12 or
    more characters that no other cell contains."""
    visible = {ln.strip() for c in nb.cells if not is_hidden_test_cell(c) for ln in c.source.splitlines()}
    return {ln.strip() for c in nb.cells if is_hidden_test_cell(c) for ln in c.source.splitlines()
            if len(ln.strip()) >= 12 and "HIDDEN TESTS" not in ln and ln.strip() not in visible}


def _output_text(out) -> str:
    parts = [out.get("text", ""), out.get("evalue", ""), "\n".join(out.get("traceback", []))]
    for value in (out.get("data") or {}).values():
        parts.append(value if isinstance(value, str) else str(value))
    return "\n".join(p if isinstance(p, str) else "".join(p) for p in parts)


class HideHiddenTests(Preprocessor):
    """Replace hidden-test cells (code and tracebacks) by a one-line summary,
    and drop any other output that quotes hidden-test code.

    Used for feedback that reaches learners: the hidden tests' code, and the
    traceback lines that would quote it, never leave the grader. (At grading
    time the guard keeps the hidden code out of the kernel's reach, so a
    notebook cannot print it; this is the second line of defence.)
    """

    # nbgrader registers configured preprocessors without enabling them;
    # nbconvert's default (False) would silently skip this one
    enabled = Bool(True).tag(config=True)

    def preprocess(self, nb, resources):
        self._hidden = hidden_lines(nb)
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        if is_hidden_test_cell(cell):
            failed = any(o.get("output_type") == "error" for o in cell.get("outputs", []))
            cell.source = "# hidden tests: " + ("FAILED" if failed else "passed")
            cell.outputs = []
        elif cell.cell_type == "code" and self._hidden:
            for i, out in enumerate(cell.get("outputs", [])):
                if any(h in _output_text(out) for h in self._hidden):
                    cell.outputs[i] = {"output_type": "stream", "name": "stdout", "text": REDACTED + "\n"}
        return cell, resources
