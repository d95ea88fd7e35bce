# Credit Self-Check: `make run` serves the app on a seeded database, `make test` runs
# every test. Both set up everything they need from a clean clone (Python 3.11+ and make).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
RESIDENTS ?= 10000
export FLASK_APP := app

.PHONY: run test bench lighthouse venv dev-venv translations browser servers pdf-libraries clean extract-messages

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

# One gunicorn process with threads: the embedded database and the in-memory rate limits
# are exact within one process (see gunicorn.conf.py for several workers).
run: venv translations pdf-libraries
	$(BIN)/flask seed --residents $(RESIDENTS) --if-empty
	@echo "Serving on http://127.0.0.1:$(PORT) (demo accounts: $(BIN)/flask demo-accounts; text messages: /dev/sms)"
	CREDIT_SELF_DEMO=1 PORT=$(PORT) $(BIN)/gunicorn -c gunicorn.conf.py 'app:create_app()'


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

# The suite needs PostgreSQL and Redis servers: tests/run.py starts throwaway ones unless
# CREDIT_SELF_TEST_DATABASE_URL and CREDIT_SELF_TEST_REDIS_URL name running ones. Their
# programs come from Debian, installed here when we are root and they are missing, with
# what WeasyPrint needs for the certificates' PDF (Pango, and CJK fonts to embed).
PDF_PACKAGES := fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0
DEBIAN_PACKAGES := postgresql redis-server $(PDF_PACKAGES)
# What the PDFs need (WeasyPrint's Pango, CJK fonts to embed), for `make run` alone.
pdf-libraries:
	@if ! ls /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc >/dev/null 2>&1 || ! ldconfig -p | grep -q libpangoft2; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	    (apt-get install -y -qq $(PDF_PACKAGES) >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq $(PDF_PACKAGES))); \
	  else \
	    echo "The PDFs need from Debian: $(PDF_PACKAGES)" >&2; \
	  fi; \
	fi

servers:
	@if ! command -v redis-server >/dev/null || ! { command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; } || ! ls /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc >/dev/null 2>&1 || ! ldconfig -p | grep -q libpangoft2; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	    (apt-get install -y -qq $(DEBIAN_PACKAGES) >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq $(DEBIAN_PACKAGES))); \
	  else \
	    echo "Needed from Debian: $(DEBIAN_PACKAGES)" >&2; exit 1; \
	  fi; \
	fi

# The whole suite on SQLite, then again on PostgreSQL (tests/run.py).
test: dev-venv translations browser servers
	$(BIN)/python tests/run.py

# Benchmarks: both engines at 1,000,000 residents (RESIDENTS=N for another size), wrk,
# the audit page; bench/README.md. BENCH_ARGS passes more options to bench/run.py.
bench: venv translations servers
	@command -v wrk >/dev/null || ([ "$$(id -u)" = "0" ] && (apt-get install -y -qq wrk >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq wrk)))
	$(BIN)/python bench/run.py $(if $(filter command line environment,$(origin RESIDENTS)),--residents $(RESIDENTS)) $(BENCH_ARGS)
	$(BIN)/python bench/credentials.py

# Page budgets in a real browser: Lighthouse 12 (npm, Node 20) at mobile settings on every
# resident page, the verdict page and sign-in, against a freshly seeded server; fails below
# performance 95, accessibility 100, best practices 100 or above LCP 1.0 s. Reports in
# bench/out/lighthouse/. Not part of `make test`.
LIGHTHOUSE_DIR := bench/lighthouse
$(LIGHTHOUSE_DIR)/node_modules/.bin/lighthouse: $(LIGHTHOUSE_DIR)/package.json
	@command -v node >/dev/null || (echo "Node 20 is needed for Lighthouse" >&2; exit 1)
	cd $(LIGHTHOUSE_DIR) && npm ci --no-audit --no-fund --silent
	touch $@

lighthouse: venv translations $(LIGHTHOUSE_DIR)/node_modules/.bin/lighthouse
	@[ -n "$$CHROME_PATH" ] || command -v chromium >/dev/null || \
	  ([ "$$(id -u)" = "0" ] && (apt-get install -y -qq chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium)))
	CHROME_PATH="$${CHROME_PATH:-$$(command -v chromium)}" $(BIN)/python bench/lighthouse.py

# Refresh the message catalogs after changing user-visible strings: the foundation's,
# then each capability's (see tests/app/test_i18n.py for which files each one covers).
extract-messages: dev-venv
	$(BIN)/python -m credit_self.i18n_catalogs

clean:
	rm -rf $(VENV) .pytest_cache
