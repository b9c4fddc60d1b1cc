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
	$(PY) -m pytest --ignore=tests/faults

unit: $(VENV)/.installed
	$(PY) -m pytest tests/unit

integration: $(VENV)/.installed
	$(PY) -m deploy.local.stack broker
	$(PY) -m pytest tests/integration

e2e: $(VENV)/.installed
	$(PY) -m deploy.local.stack broker
	$(PY) -m pytest tests/e2e

# the fault-injection journey (~3-5 min); not yet in `make test`: it still
# fails on one known defect (see tests/faults/test_faults.py docstring)
faults: $(VENV)/.installed
	$(PY) -m deploy.local.stack broker
	$(PY) -m pytest tests/faults

bench: $(VENV)/.installed
	$(PY) bench/intake_bench.py

clean:
	rm -rf $(VENV) .run
