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
	$(BIN)/mypy
	$(BIN)/pytest -q -n 2 --durations=15

lint: $(INSTALLED_DEV)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check $(FORMAT_PATHS)
	$(BIN)/lint-imports
	$(BIN)/mypy

snapshots-update: $(INSTALLED_DEV)
	$(BIN)/pytest -q --snapshot-update tests/snapshots

# Benchmarks are scripts, not tests: each prints a table and writes its JSON to
# benchmarks/results/<name>.json; harness.py then prints them as one table (measure, value, floor,
# ratio, budget, OK/SHORT) and writes benchmarks/results/summary.json (benchmarks/README.md).
# `make bench BENCHES="diff_bench numbers_bench"` runs a few; bench-<name> runs one.
BENCHES ?= grid_bench diff_bench numbers_bench summary_bench startup first_frame interaction_bench \
	rating_bench feeds_bench alarms_bench report_bench
BENCH_ARGS_grid_bench ?= --rows 1000000 --db benchmarks/results/grid-1000000.sqlite
BENCH_ARGS_summary_bench ?= --cdrs 1000000

bench: $(INSTALLED_DEV)
	@mkdir -p benchmarks/results
	@rm -f benchmarks/results/*.json
	@status=0; \
	for name in $(BENCHES); do \
		$(MAKE) --no-print-directory bench-$$name || status=1; \
	done; \
	$(BIN)/python benchmarks/harness.py || status=1; \
	exit $$status

bench-%: $(INSTALLED_DEV)
	@mkdir -p benchmarks/results
	@echo "== benchmarks/$*.py  (load average $$(cut -d' ' -f1-3 /proc/loadavg))"
	@started=$$(date +%s); \
	$(BIN)/python benchmarks/$*.py --json benchmarks/results/$*.json $(BENCH_ARGS_$*); \
	status=$$?; echo "   ($$(( $$(date +%s) - started )) s)"; exit $$status

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
