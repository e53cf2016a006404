# The two commands of the README: `make run` and `make test`.
# Everything installs into .venv from the pinned lock file (uv.lock); nothing else is needed
# but Python 3.11 and the package registries.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
UV_VERSION := 0.13.8
DATA_DIR ?= ./data
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test sdk-test screenshots lint format check clean

$(VENV)/bin/uv:
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet "uv==$(UV_VERSION)"

install: $(VENV)/bin/uv
	$(VENV)/bin/uv sync --frozen --python $(VENV)/bin/python

run: install
	$(VENV)/bin/lehnz serve --demo --data-dir $(DATA_DIR) --host $(HOST) --port $(PORT)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test: lint
	$(VENV)/bin/pytest
	$(MAKE) sdk-test

# The TypeScript SDK (sdk/typescript): needs Node 18+ and npm; its tests start a real server.
sdk-test: install
	cd sdk/typescript && npm ci --no-audit --no-fund && npm test

# The dashboard's screenshots in docs/images/, taken by its end-to-end test in Chromium.
screenshots: install
	LEHNZ_TEST_SCREENSHOTS=docs/images LEHNZ_TEST_REQUIRE_BROWSER=1 \
		$(VENV)/bin/pytest -q tests/test_dashboard_e2e.py -k end_to_end

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
