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
	$(PY) -m pytest --ignore=tests/faults --ignore=tests/integration/test_notification_delivery.py \
		--ignore=tests/integration/test_sms_refused_not_counted.py
	# sessions of their own, without the end-to-end stack still at work on the
	# shared SMS sandbox and a vhost of their own: notification's outage and
	# limit tests (the sandbox's faults and counts are the test's alone), then
	# the fault-injection journey
	$(PY) -m pytest tests/integration/test_notification_delivery.py \
		tests/integration/test_sms_refused_not_counted.py
	$(PY) -m pytest tests/faults

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
