# Two commands on a fresh machine: `make run` and `make test`. Both build .venv from the pinned
# requirements when it is missing or older than any requirements file.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
PINS := requirements.txt requirements-test.txt constraints.txt

.PHONY: run stop up test venv lock

venv: $(INSTALLED)

$(INSTALLED): $(PINS)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check --quiet \
		-r requirements.txt -r requirements-test.txt -c constraints.txt
	@touch $@

test: $(INSTALLED)
	$(BIN)/python -m pytest

# The whole dog_breed_pipeline DAG on the embedded local AWS (`airflow dags test`, local profile).
# `make run CONF='{"training_backend": "ec2"}'` changes parameters of the run (run_pipeline.py's --conf).
run: $(INSTALLED)
	$(BIN)/python scripts/run_pipeline.py $(if $(CONF),--conf '$(CONF)')

# `make run` leaves local AWS serving the endpoint (so the next run updates it); this stops it.
stop: $(INSTALLED)
	$(BIN)/python scripts/run_pipeline.py --stop

# Local AWS plus `airflow standalone` with this project's DAGs: the UI on http://localhost:8080.
up: $(INSTALLED)
	scripts/up.sh

# Regenerates constraints.txt from a clean venv holding exactly the direct pins.
lock:
	rm -rf build/lock-venv && $(PYTHON) -m venv build/lock-venv
	build/lock-venv/bin/python -m pip install --quiet -r requirements.txt -r requirements-test.txt
	{ echo '# Every package in .venv, pinned: `make lock` regenerates this file.'; \
	  build/lock-venv/bin/python -m pip freeze --exclude-editable; } > constraints.txt
