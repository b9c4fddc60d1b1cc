# The two commands (see README): `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test unit integration e2e faults bench clean

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements.txt
	touch $@

run: $(VENV)/.installed
	$(PY) -m deploy.local.stack run

test: $(VENV)/.installed
	$(PY) -m deploy.local.stack broker
	# four lanes of pytest sessions at once (the end-to-end tests in two;
	# the integration and unit tests in two, notification's outage and limit
	# tests in a session of their own), then the fault-injection journey
	# alone; each session starts its own stack (tests/sessions.py)
	$(PY) -m tests.sessions

unit: $(VENV)/.installed
	$(PY) -m pytest tests/unit

integration: $(VENV)/.installed
	$(PY) -m deploy.local.stack broker
	$(PY) -m pytest tests/integration

e2e: $(VENV)/.installed
	$(PY) -m deploy.local.stack broker
	$(PY) -m pytest tests/e2e

# the fault-injection journey alone (~3-4 min; also part of `make test`)
faults: $(VENV)/.installed
	$(PY) -m deploy.local.stack broker
	$(PY) -m pytest tests/faults

# the whole system at a Dinas' peak, beside the machine's ceilings (bench/README.md)
bench: $(VENV)/.installed
	$(PY) -m deploy.local.stack broker
	$(PY) bench/system_bench.py

clean:
	rm -rf $(VENV) .run
