# `make dashboard`: set up and open the dashboard; `make test`: set up, lint and run every test.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed-$(shell cksum < requirements.txt | cut -d' ' -f1)

.PHONY: setup dashboard test lint bench

$(STAMP): requirements.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	rm -f $(VENV)/.installed-* && touch $(STAMP)

setup: $(STAMP)

dashboard: setup
	$(VENV)/bin/python -m streamlit run dashboard/serve.py

test: setup
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .
	$(VENV)/bin/python -m pytest

lint: setup
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

bench: setup
	$(VENV)/bin/python bench/bench_trainer.py
