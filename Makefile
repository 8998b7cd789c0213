# carriertui: `make demo` to try it, `make test` to check it. Needs only python3 (>= 3.11) and make.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check -q
# Stamps: reinstall only when pyproject.toml changes (an editable install picks up code changes).
INSTALLED := $(VENV)/.installed
INSTALLED_DEV := $(VENV)/.installed-dev
FORMAT_PATHS := $(wildcard carriertui tests benchmarks)

.PHONY: demo test lint snapshots-update bench clean distclean

demo: $(INSTALLED)
	$(BIN)/carriertui demo

test: $(INSTALLED_DEV)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check $(FORMAT_PATHS)
	$(BIN)/lint-imports
	$(BIN)/pytest -q -n 2

lint: $(INSTALLED_DEV)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check $(FORMAT_PATHS)
	$(BIN)/lint-imports

snapshots-update: $(INSTALLED_DEV)
	$(BIN)/pytest -q --snapshot-update tests/snapshots

# Benchmarks are scripts, not tests: each prints a table (and writes its JSON).
bench: $(INSTALLED_DEV)
	@found=0; \
	for script in benchmarks/*.py; do \
		[ -f "$$script" ] || continue; \
		found=1; \
		echo "== $$script"; \
		$(BIN)/python "$$script" || exit 1; \
	done; \
	[ $$found = 1 ] || echo "no benchmarks in benchmarks/ yet"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(INSTALLED): pyproject.toml | $(BIN)/python
	$(PIP) install -e .
	touch $@

$(INSTALLED_DEV): pyproject.toml | $(BIN)/python
	$(PIP) install -e '.[dev]'
	touch $@

clean:
	rm -rf .pytest_cache .ruff_cache .import_linter_cache .hypothesis build dist \
		snapshot_report.html benchmarks/results *.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
