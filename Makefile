# `make curve`, `make demo` and `make test` work on a fresh clone: each creates .venv and installs into it.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed-stamp

.PHONY: install curve demo test test-ray bench

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -c constraints.txt -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

# The AlphaGo curve, quick preset (about 15 minutes on 2 CPU cores): expert games, SFT, RL, ratings,
# the figure in runs/curve-connect4-quick/elo.png.
curve: $(STAMP)
	$(VENV)/bin/selfplay curve --game connect4 --preset quick

demo: $(STAMP)
	$(VENV)/bin/python scripts/demo.py

test: $(STAMP)
	$(VENV)/bin/python -m pytest -q
	$(VENV)/bin/python -m pytest -q -m external   # GNU Go games; skipped where gnugo is missing

# The Ray backend's tests (docs/ray.md): installs the optional extra, starts a local Ray cluster.
test-ray: $(STAMP)
	$(VENV)/bin/python -m pip install --quiet -c constraints.txt -e ".[test,ray]"
	$(VENV)/bin/python -m pytest -q -m ray

bench: $(STAMP)
	$(VENV)/bin/selfplay bench games
