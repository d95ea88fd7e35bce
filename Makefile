# Credit Self-Check: `make run` serves the app on a seeded database, `make test` runs
# every test. Both set up everything they need from a clean clone (Python 3.11+ and make).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
RESIDENTS ?= 10000
export FLASK_APP := app

.PHONY: run test bench venv dev-venv translations browser clean extract-messages

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Stamps re-install only when the requirement files change.
$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed

venv: $(VENV)/.installed
dev-venv: $(VENV)/.installed-dev

# Compiled catalogs (.mo) are build output, not committed.
translations: $(VENV)/.installed
	@for dir in credit_self/translations credit_self/*/translations; do \
	  if [ -d "$$dir" ]; then $(BIN)/pybabel compile -d "$$dir" || exit 1; fi; \
	done

run: venv translations
	$(BIN)/flask seed --residents $(RESIDENTS) --if-empty
	@echo "Serving on http://127.0.0.1:$(PORT) (demo accounts: $(BIN)/flask demo-accounts)"
	$(BIN)/gunicorn --workers 2 --bind 127.0.0.1:$(PORT) --access-logfile - 'app:create_app()'


# Playwright's own browser download is not possible offline: use Debian's Chromium,
# installing it when we are root and it is missing. A missing browser fails the tests.
browser:
	@if $(BIN)/python tests/browser/find_chromium.py >/dev/null 2>&1; then \
	  echo "Browser: $$($(BIN)/python tests/browser/find_chromium.py)"; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	  (apt-get install -y -qq chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium)); \
	else \
	  echo "No Chromium found: install Debian's chromium package or run 'playwright install chromium'" >&2; exit 1; \
	fi

test: dev-venv translations browser
	$(BIN)/python -m pytest

# Benchmarks: 1,000,000 residents, gunicorn with 2 workers, wrk, ratios to a baseline.
bench: venv translations
	@command -v wrk >/dev/null || ([ "$$(id -u)" = "0" ] && (apt-get install -y -qq wrk >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq wrk)))
	$(BIN)/python bench/run.py

# Refresh the message catalogs after changing user-visible strings: the foundation's,
# then each capability's (see tests/app/test_i18n.py for which files each one covers).
extract-messages: dev-venv
	$(BIN)/python -m credit_self.i18n_catalogs

clean:
	rm -rf $(VENV) .pytest_cache
