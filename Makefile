# Two commands do everything on a fresh clone: `make run` and `make test`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False
export ANONYMIZED_TELEMETRY := False

.PHONY: run test index eval bench lint typecheck browser clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

# torch first, pinned: the CPU wheel on this machine; an unpinned torch pulls a CUDA build.
$(STAMP): requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(STAMP)

install: $(STAMP)

index: $(STAMP)
	$(BIN)/python -m qa index

run: index
	$(BIN)/python -m app

# The browser tests need Debian's Chromium; install it when it is missing (CI runs as root).
browser:
	@command -v chromium >/dev/null 2>&1 || ( \
	  (command -v apt-get >/dev/null 2>&1 && (apt-get update -qq && \
	   DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)) || \
	  echo "warning: chromium could not be installed" )

test: $(STAMP) browser
	$(BIN)/python -m pytest

# ruff, mypy over qa/ and app/, and the import contract (layers; app uses public names only).
lint: $(STAMP)
	$(BIN)/ruff check qa app evals tests
	$(BIN)/mypy
	$(BIN)/lint-imports

eval: $(STAMP)
	$(BIN)/python -m evals

bench: $(STAMP)
	$(BIN)/python -m evals.bench --sizes 1000,10000 --lexical-sizes 100000 --search-sizes 100000 --json evals/reports/bench.json

clean:
	rm -rf index .pytest_cache .mypy_cache .ruff_cache
