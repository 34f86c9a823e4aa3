# `make demo` and `make test` work on a fresh clone: both create .venv and install into it.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo test bench

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -c constraints.txt -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/python scripts/demo.py

test: $(STAMP)
	$(VENV)/bin/python -m pytest -q
	$(VENV)/bin/python -m pytest -q -m external   # GNU Go games; skipped where gnugo is missing

bench: $(STAMP)
	$(VENV)/bin/selfplay bench games
