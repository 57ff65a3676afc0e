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


# ---------------------------------------------------------------- active content

# What learner-made HTML may keep in a graded notebook and its feedback: text,
# structure, tables, images -- no scripts, event handlers, forms, frames,
# embedded objects or style sheets, and links only to http(s) and mail.
SAFE_TAGS = frozenset({
    "a", "abbr", "acronym", "b", "blockquote", "br", "caption", "cite", "code", "col", "colgroup", "dd", "del",
    "details", "dfn", "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
    "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "samp", "small", "span", "strike",
    "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "tt", "u", "ul",
    "var"})
_ATTRS = {"*": {"class", "id", "title", "align", "lang", "dir"}, "a": {"href", "title"},
          "img": {"src", "alt", "width", "height"}, "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan", "scope"},
          "ol": {"start", "type"}, "abbr": {"title"}}
_IMAGE_DATA = ("data:image/png;", "data:image/jpeg;", "data:image/gif;", "data:image/webp;")
# outputs shown as they are (plain text, raster images) or after cleaning; every other kind
# (application/javascript, widgets, image/svg+xml that can carry scripts, PDFs ...) is dropped
SAFE_OUTPUTS = frozenset({"text/plain", "image/png", "image/jpeg", "image/gif", "text/latex", "application/json"})
CLEANED_OUTPUTS = frozenset({"text/html", "text/markdown"})


def _allowed_attribute(tag: str, name: str, value: str) -> bool:
    if name not in _ATTRS.get(tag, set()) | _ATTRS["*"]:
        return False
    if name in ("href", "src"):
        low = "".join(value.split()).lower()
        if low.startswith("data:"):
            return tag == "img" and name == "src" and low.startswith(_IMAGE_DATA)
    return True


def clean_html(html) -> str:
    """`html` with active content removed (scripts, event handlers, javascript: URLs, frames,
    forms, styles), markup outside the allow-list escaped; bleach does the parsing."""
    import bleach

    html = html.decode() if isinstance(html, bytes) else str(html)
    return bleach.clean(html, tags=SAFE_TAGS, attributes=_allowed_attribute,
                        protocols={"http", "https", "mailto", "data"}, strip=False, strip_comments=True)


def _instructor_markdown(resources) -> set[str]:
    """Markdown cells of the notebook as the instructor wrote it (source and release)."""
    import os
    from pathlib import Path

    import nbformat

    info = resources.get("nbgrader", {})
    name = f"{info.get('notebook', '')}.ipynb"
    repo = Path(__file__).resolve().parents[1]
    found = set()
    for root in (Path(os.getcwd()) / "solutions", repo / "course"):
        path = root / info.get("assignment", "") / name
        if path.is_file():
            found |= {c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown"}
    return found


class SanitizeOutputs(Preprocessor):
    """Strip active content from what the learner made: their markdown cells (other than the
    instructor's own, which stay as written) and every code cell's outputs.

    Run in autograde (the formgrader shows graded notebooks to the instructor) and in
    generate_feedback (the learner's feedback, also opened by the instructor). With
    HTMLExporter.sanitize_html (see nbgrader_config.py) the HTML template also cleans
    rendered markdown and drops scripts and widgets: two lines of defence.
    """

    enabled = Bool(True).tag(config=True)

    def preprocess(self, nb, resources):
        self._instructor = _instructor_markdown(resources)
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "raw" or (cell.cell_type == "markdown" and cell.source not in self._instructor):
            # markup needs a "<"; markdown's own links are made safe by its renderer
            if "<" in cell.source:
                cell.source = clean_html(cell.source)
        elif cell.cell_type == "code":
            for out in cell.get("outputs", []):
                data = out.get("data")
                if not isinstance(data, dict):
                    continue
                for key in list(data):
                    if key in CLEANED_OUTPUTS:
                        value = data[key]
                        data[key] = clean_html("".join(value) if isinstance(value, list) else value)
                    elif key not in SAFE_OUTPUTS:
                        del data[key]
                if not data:
                    data["text/plain"] = "[output removed by the grader: active content]"
                meta = out.get("metadata")
                if isinstance(meta, dict):
                    for key in list(meta):
                        if key not in data:
                            meta.pop(key)
        return cell, resources


def _html_exporter():
    from jinja2 import pass_context
    from nbconvert.exporters import HTMLExporter

    class SafeHTMLExporter(HTMLExporter):
        """HTMLExporter whose rendered markdown goes through clean_html: nbgrader's feedback
        template renders markdown cells without the sanitize_html switch."""

        @pass_context
        def markdown2html(self, context, source):
            return clean_html(super().markdown2html(context, source))

    return SafeHTMLExporter


SafeHTMLExporter = _html_exporter()
