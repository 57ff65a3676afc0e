# Two commands do all set-up on a fresh clone:
#   make lab    create .venv, install the course, start JupyterLab on course/
#   make test   create .venv if missing, run the whole test suite
# Instructors: make formgrader GRADING=grading   (nbgrader's formgrader on a graded class)
# Maintainers: make lock   (refresh requirements.lock from pyproject.toml's pins)
#
# On Linux without an NVIDIA GPU, the CPU build of torch skips several GB of CUDA libraries:
#   make lab TORCH_INDEX=https://download.pytorch.org/whl/cpu
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
LOCK   := requirements.lock
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml $(LOCK) | cksum | cut -d' ' -f1)$(if $(TORCH_INDEX),-cpu,)
# The torch release of the course (pyproject.toml's `course` extra pins the same).
TORCH  := torch==$(shell sed -n 's/^ *"torch==\([^"]*\)".*/\1/p' pyproject.toml)
# No display (a server, CI, a container): do not try to open a browser, print the URL.
BROWSER_FLAG := $(if $(or $(DISPLAY),$(WAYLAND_DISPLAY),$(filter Darwin,$(shell uname -s))),,--no-browser)
WORKERS ?= auto
GRADING ?= grading
UV := uv==0.13.9
PIP := $(BIN)/python -m pip install --quiet --quiet --disable-pip-version-check

.PHONY: lab test check release formgrader lock

# Every package at the version in requirements.lock (hash-checked), then torch (which pins its own
# CUDA libraries; see the lock's header), then the course's own package. Quiet: one line at the end.
$(STAMP): pyproject.toml $(LOCK)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing the course environment into $(VENV) (the first time takes a few minutes) ..."
	@$(PIP) --require-hashes --no-deps -r $(LOCK)
	@$(PIP) $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX),) '$(TORCH)'
	@$(PIP) --no-deps --no-build-isolation -e .
	@rm -f $(VENV)/.installed-*
	@touch $@
	@echo "installed: $$($(BIN)/python -m pip list --format=freeze 2>/dev/null | wc -l | tr -d ' ') packages, $$($(BIN)/python -c 'import torch; print("torch", torch.__version__)')"

lab: $(STAMP)
	@$(BIN)/python -m grader.lab $(BROWSER_FLAG) $(if $(PORT),--port $(PORT),) $(if $(LAB_ARGS),-- $(LAB_ARGS),)

# Instructors: the formgrader on a grading folder (`wcdl autograde ... --out grading` makes one).
formgrader: $(STAMP)
	@$(BIN)/python -m grader.lab --formgrader $(GRADING) $(BROWSER_FLAG) $(if $(PORT),--port $(PORT),) $(if $(LAB_ARGS),-- $(LAB_ARGS),)

# One torch thread per test worker: threads on an oversubscribed CPU stall.
test: $(STAMP)
	OMP_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false $(BIN)/python -m pytest -n $(WORKERS) $(PYTEST_ARGS)

check: $(STAMP)
	$(BIN)/wcdl check $(NB)

release: $(STAMP)
	$(BIN)/wcdl release

# Re-resolve every package from pyproject.toml's pins (universal: Linux, macOS, Python 3.11+), with hashes.
# torch and its CUDA libraries are listed as comments: torch is installed by its pin (see $(LOCK)).
lock:
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(PIP) '$(UV)'
	@{ sed -n '1,/^$$/p' $(LOCK); \
	  echo "setuptools>=68" | $(BIN)/uv pip compile pyproject.toml --extra course - --universal \
	    --python-version 3.11 --generate-hashes --no-header --quiet --no-annotate \
	  | awk '/^[^ ]/ { skip = ($$0 ~ /^(torch|triton|nvidia-[^=]*|cuda-[^=]*)==/); \
	                   if (skip) { sub(/ *\\$$/, ""); print "# (installed with torch) " $$0 } } !skip'; \
	} > $(LOCK).new
	@mv $(LOCK).new $(LOCK)
	@echo "wrote $(LOCK): $$(grep -c '^[a-z]' $(LOCK)) packages with hashes, $$(grep -c '^# (installed with torch)' $(LOCK)) installed with torch"
