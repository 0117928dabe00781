# Two commands on a fresh machine: `make run` and `make test`. Both build .venv from the pinned
# requirements when it is missing or older than any requirements file.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
PINS := requirements.txt requirements-test.txt constraints.txt

.PHONY: run test venv lock

venv: $(INSTALLED)

$(INSTALLED): $(PINS)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check --quiet \
		-r requirements.txt -r requirements-test.txt -c constraints.txt
	@touch $@

test: $(INSTALLED)
	$(BIN)/python -m pytest

run: $(INSTALLED)
	$(BIN)/python -m sample_dataset --out build/sample
	$(BIN)/python model_code/train.py --data_dir build/sample/dogImages --model_dir build/run/model \
		--output_data_dir build/run/output --checkpoint_dir build/run/checkpoints $(LOCAL_TRAINING_ARGS)

# Regenerates constraints.txt from a clean venv holding exactly the direct pins.
lock:
	rm -rf build/lock-venv && $(PYTHON) -m venv build/lock-venv
	build/lock-venv/bin/python -m pip install --quiet -r requirements.txt -r requirements-test.txt
	build/lock-venv/bin/python -m pip freeze --exclude-editable > constraints.txt
