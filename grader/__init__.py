"""The course's grading commands: release, check, autograde (see `wcdl --help`)."""
