# One command sets up and runs the sandbox demo; one runs the tests.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python

CHECKOV := $(VENV)/checkov/bin/checkov

.PHONY: demo demo-realistic page test lint mutants fuzz install clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

# checkov pins its own dependencies: it gets a virtualenv of its own.
$(CHECKOV):
	$(PYTHON) -m venv $(VENV)/checkov
	$(VENV)/checkov/bin/python -m pip install --quiet --disable-pip-version-check checkov==3.3.30

demo: install
	$(PY) -m sandbox demo

# The same demo at Teamleader's real limit and the APIs' latency: a first run's waits, explained.
demo-realistic: install
	$(PY) -m sandbox demo --realistic

# Both services' consent pages to click through in a browser, with a cast of users (README).
page: install
	$(PY) -m sandbox page

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy sync sandbox main.py tests bench mutants

test: install lint $(CHECKOV)
	CHECKOV_BIN=$(CHECKOV) $(PY) -m pytest

# The public entry points fuzzed far longer than the test run does (a new seed each time).
fuzz: install
	FUZZ_EXAMPLES=5000 $(PY) -m pytest -p no:cacheprovider tests/integration/test_fuzz_public.py

# Break each protection on purpose (mutants/mutants.toml); fails if a test does not notice.
mutants: install
	$(PY) mutants/run.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
