# Two commands do all set-up on a fresh clone:
#   make lab    create .venv, install the course, start JupyterLab on course/
#   make test   create .venv if missing, run the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
# No display (a server, CI, a container): do not try to open a browser, print the URL.
BROWSER_FLAG := $(if $(or $(DISPLAY),$(WAYLAND_DISPLAY),$(filter Darwin,$(shell uname -s))),,--no-browser)
WORKERS ?= auto

.PHONY: lab test check release

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade --quiet pip
	$(BIN)/python -m pip install -e '.[course]'
	rm -f $(VENV)/.installed-*
	touch $@

lab: $(STAMP)
	$(BIN)/jupyter lab --ServerApp.root_dir=course $(ROOT_FLAG) $(BROWSER_FLAG) $(LAB_ARGS)

# One torch thread per test worker: threads on an oversubscribed CPU stall.
test: $(STAMP)
	OMP_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false $(BIN)/python -m pytest -n $(WORKERS) $(PYTEST_ARGS)

check: $(STAMP)
	$(BIN)/wcdl check $(NB)

release: $(STAMP)
	$(BIN)/wcdl release
