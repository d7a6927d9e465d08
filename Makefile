# apigw-doctor: `make demo` shows the engine on built-in samples; `make test` runs every check CI runs.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
CARGO ?= cargo
VENV := .venv
PY := $(VENV)/bin/python
DEBUG := target/debug
CLI := $(DEBUG)/apigw-doctor

.PHONY: demo test lint unit tools events build clean

## demo: the CLI on the sample events (timeouts, near-limit, errors), no AWS account needed
demo:
	$(CARGO) build --quiet --bins
	@echo "== apigw-doctor analyze events/timeout-info.json events/near-limit.json events/function-timeout-502.json"
	@$(CLI) analyze events/timeout-info.json events/near-limit.json events/function-timeout-502.json
	@echo "== ERROR-level logs only: what the logs cannot tell, said plainly"
	@$(CLI) analyze events/timeout-error-level.json | sed -n '3,12p'

## test: formatting, lints, unit, fixture, snapshot and property tests
test: lint unit

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets --quiet -- -D warnings

# One dev-profile build serves clippy's check, the tests and the demo.
unit:
	$(CARGO) test --quiet --all-targets

## tools: the Python tools in .venv (LocalStack, cargo-lambda, cfn-lint)
tools: $(VENV)/.installed
$(VENV)/.installed: requirements-dev.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

## events: regenerate events/ (deterministic)
events:
	python3 events/generate.py

clean:
	$(CARGO) clean
	rm -rf $(VENV)
