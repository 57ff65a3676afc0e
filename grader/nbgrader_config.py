# nbgrader configuration of the course. A course directory (the repository
# itself, or a grading workspace made by `wcdl check` / `wcdl autograde`)
# loads it from its own nbgrader_config.py.
from nbgrader.preprocessors import GetGrades
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor

c = get_config()  # noqa: F821 - provided by traitlets when loading config

c.CourseDirectory.course_id = "wcdl"
# solutions/ is the nbgrader source, course/ the release learners open.
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "course"
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "*.egg-info", ".DS_Store"]

# A learner who deletes a test cell gets it back at grading time.
c.OverwriteCells.add_missing_cells = True

# Per cell: the slowest real exercise cell takes a few seconds on 2 CPU
# cores; a runaway loop is stopped after this many.
c.Execute.timeout = 60
c.Execute.interrupt_on_timeout = True

c.ClearSolutions.code_stub = {"python": '# YOUR CODE HERE\nraise NotImplementedError("not attempted yet")'}

# Feedback goes to learners: hidden tests are replaced by a summary line.
c.GenerateFeedback.preprocessors = [GetGrades, CSSHTMLHeaderPreprocessor,
                                    "grader.preprocessors.HideHiddenTests", "grader.preprocessors.SanitizeOutputs"]
# Feedback pages are opened by the instructor (formgrader, same origin as their
# Jupyter server): no learner-made script, event handler or javascript: link
# runs there. The exporter and template clean rendered markdown and HTML
# outputs with the course's allow-list and drop scripts and widgets.
c.GenerateFeedback.exporter_class = "grader.preprocessors.SafeHTMLExporter"
c.HTMLExporter.sanitize_html = True
c.HTMLExporter.filters = {"clean_html": "grader.preprocessors.clean_html"}

# Grading under attack (grader/guard.py, grader/sandbox.py): every graded
# notebook runs in a sandboxed kernel, its tests run under the guard's control,
# and a test cell earns points only with the guard's signed record of a pass.
from nbconvert.preprocessors import ClearMetadataPreprocessor  # noqa: E402
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, IgnorePattern,  # noqa: E402
                                    LimitOutput, SaveAutoGrades)

c.Autograde.autograde_preprocessors = [
    "grader.guard.GuardCells",
    "grader.guard.GuardedExecute",
    "grader.guard.GuardVerify",
    "grader.preprocessors.SanitizeOutputs",
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]
