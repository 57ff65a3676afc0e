# Lets `nbgrader ...` and the formgrader run with the repository as the course directory.
c = get_config()  # noqa: F821
load_subconfig("grader/nbgrader_config.py")  # noqa: F821
