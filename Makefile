# The two set-up commands are `make demo` and `make test`; everything else builds on them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck bench install lock clean runtime-packages system-packages messages

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

# Running the app needs Pango (WeasyPrint lays out the term-sheet PDFs) and CJK fonts (Chinese PDFs); the
# tests also drive Debian's Chromium (never a downloaded browser) and extract strings with GNU gettext.
# Installed from Debian when missing, with sudo unless root.
RUNTIME_PACKAGES := fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0
SYSTEM_PACKAGES := $(RUNTIME_PACKAGES) chromium gettext
define apt_install
	SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(1)
endef
runtime-packages:
	@if [ ! -e /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ] \
	    || ! dpkg-query -W -f='$${Status}' libpangoft2-1.0-0 2>/dev/null | grep -q 'ok installed'; then \
	  echo "Installing $(RUNTIME_PACKAGES) from Debian"; \
	  $(call apt_install,$(RUNTIME_PACKAGES)); \
	fi
system-packages: runtime-packages
	@if ! command -v chromium >/dev/null || ! command -v xgettext >/dev/null; then \
	  echo "Installing chromium gettext from Debian"; \
	  $(call apt_install,chromium gettext); \
	fi

demo: $(STAMP) runtime-packages
	$(BIN)/lendcrm demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy src

# The suite runs on SQLite, then again on PostgreSQL when LENDCRM_TEST_DATABASE_URL is set (as in CI).
test: $(STAMP) system-packages lint
	LENDCRM_DATABASE_URL=sqlite:///$(CURDIR)/test-lendcrm.sqlite3 $(BIN)/python -m pytest $(PYTEST_ARGS)
	@if [ -n "$$LENDCRM_TEST_DATABASE_URL" ]; then \
	  echo "--- the same suite on PostgreSQL ---"; \
	  LENDCRM_DATABASE_URL="$$LENDCRM_TEST_DATABASE_URL" $(BIN)/python -m pytest $(PYTEST_ARGS); \
	fi

bench: $(STAMP)
	$(BIN)/python bench/run.py
	$(BIN)/python bench/routing.py
	$(BIN)/python bench/daily.py

# Re-extract the translatable strings and rebuild the .mo files after changing UI text.
messages: $(STAMP) system-packages
	$(BIN)/python scripts/i18n.py extract compile

lock: $(STAMP)
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra dev -o requirements.lock --python-version 3.11

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
