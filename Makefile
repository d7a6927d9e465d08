# apigw-doctor: `make demo` shows the engine on built-in samples; `make test` runs every check CI runs.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
CARGO ?= cargo
VENV := .venv
PY := $(VENV)/bin/python
# The venv's tools (cargo-lambda, cfn-lint, MiniStack) come first on PATH.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
# Where cargo builds: CARGO_TARGET_DIR when set (the demo and the tests run what cargo built there).
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
CLI := $(TARGET_DIR)/debug/apigw-doctor
ZIP := $(TARGET_DIR)/lambda/bootstrap/bootstrap.zip
# The one dev build that `unit` makes: every target with the test features. A bare `cargo build --bin X`
# would build the dependencies again without the dev-dependencies' features.
BUILD := $(CARGO) test --quiet --all-targets --no-run

.PHONY: demo test lint deny unit state e2e deploy-local sam sam-build template build tools sam-tools events bench \
	compare inflate-backends fuzz clean replay replay-accounts aws-lookup browser fetch fixtures help

## demo: the CLI on the sample events, then what the Lambda would publish for one of them (no AWS account)
demo:
	$(CARGO) build --quiet --bins
	@echo "== apigw-doctor analyze events/timeout-info.json events/near-limit.json events/function-timeout-502.json"
	@$(CLI) analyze events/timeout-info.json events/near-limit.json events/function-timeout-502.json
	@echo "== ERROR-level logs only: what the logs cannot tell, said plainly"
	@$(CLI) analyze --details events/timeout-error-level.json | sed -n '3,12p'
	@echo
	@echo "== apigw-doctor dry-run events/timeout-info.json: the metric data and the alert, as the Lambda would send them"
	@$(CLI) dry-run events/timeout-info.json
	@echo
	@echo "== apigw-doctor analyze tests/fixtures/cli/aws-logs.json.gz: a 20-minute incident, the report"
	@$(CLI) analyze tests/fixtures/cli/aws-logs.json.gz | sed -n '1,60p'
	@mkdir -p $(TARGET_DIR)/demo
	@$(CLI) analyze --format html tests/fixtures/cli/aws-logs.json.gz > $(TARGET_DIR)/demo/report.html
	@echo "== the same as one HTML file: $(TARGET_DIR)/demo/report.html"

## test: formatting, lints, unit/fixture/snapshot/property tests, split-request lookups and the replay through the
## real bootstrap on MiniStack, the template, incident state on MiniStack's DynamoDB, the CLI's fetch against
## MiniStack, the HTML report in headless Chromium, the stack deployed and driven on MiniStack, the arm64 zip and
## sam validate (`sam-build` is outside it: aws-sam-cli 1.170's build fails on the template's Fn::ForEach loops)
test: lint deny unit aws-lookup template state fetch browser e2e build sam sam-build

## lint: cargo fmt --check and clippy -D warnings on every target
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets --quiet -- -D warnings

## deny: cargo deny (pinned, built into .tools/): licences, bans and sources offline; advisories
## from the RustSec database on GitHub when reachable (REQUIRE_ADVISORIES=1 makes an unreachable database fail)
DENY_VERSION := 0.20.2
DENY := $(CURDIR)/.tools/bin/cargo-deny
$(DENY):
	$(CARGO) install cargo-deny --version $(DENY_VERSION) --locked --quiet --root $(CURDIR)/.tools
deny: $(DENY)
	$(DENY) check --hide-inclusion-graph licenses bans sources
	@mkdir -p target
	@if $(DENY) check advisories 2>target/deny-advisories.log; then echo "advisories ok"; \
	elif grep -q "failed to fetch advisory database" target/deny-advisories.log && [ -z "$(REQUIRE_ADVISORIES)" ]; then \
	  echo "*** WARNING: advisories NOT checked: the RustSec database (github.com) cannot be fetched from here."; \
	  echo "*** Licences, bans and sources were checked. Run 'make deny REQUIRE_ADVISORIES=1' where GitHub is reachable."; \
	else cat target/deny-advisories.log; exit 1; fi

## unit: every cargo test target (unit, fixtures, snapshots, properties, the layer guard, the CI-sized replay)
# One dev-profile build serves clippy's check, the tests, the demo and the e2e run.
unit:
	$(CARGO) test --quiet --all-targets

## aws-lookup: the FilterLogEvents lookups (split requests, backend function runs) against MiniStack's CloudWatch Logs, then a small
## replay through two real bootstrap processes behind runtime APIs, healing through MiniStack. The example is built
## as a program (the test build makes it a test harness); built with it, the bootstrap keeps the dev features: only
## the crate compiles.
aws-lookup: tools
	$(PY) tests/aws/ministack.py -- $(CARGO) test --quiet --test aws_lookup --test aws_backend_lookup --test aws_cross_account
	$(CARGO) build --quiet --bin bootstrap --example replay
	$(PY) tests/aws/replay_bootstrap.py $(TARGET_DIR)/debug/bootstrap $(TARGET_DIR)/debug/examples/replay

## replay: the production-like replay (K = 1, 2, 4, 8; subscription and Kinesis; lookups off and on),
## bigger than the CI-sized one in `unit` (tests/replay.rs); REPLAY_MINUTES, REPLAY_PER_MINUTE size it
replay:
	$(CARGO) run --quiet --example replay

## replay-accounts: issue 25's fan-in at organisation size (20 accounts × 50 APIs through a central Kinesis stream,
## K = 1, 4, 8), exact per account, with throughput and cost per million requests (a release build, as `compare`);
## REPLAY_ACCOUNTS, REPLAY_APIS, REPLAY_MINUTES, REPLAY_PER_MINUTE size it
replay-accounts:
	$(CARGO) run --release --quiet --example replay_accounts

## browser: the HTML report in headless Chromium (Debian's `chromium`, installed when missing): no console
## error, charts drawn, the table sorts; screenshot in $(TARGET_DIR)/browser/report.png
browser:
	$(BUILD)
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }
	python3 tests/browser/check_html.py $(CLI) $(TARGET_DIR)/browser

## fetch: `analyze --api-id/--log-group` reading CloudWatch Logs (FilterLogEvents, GetStage) from MiniStack, each
## integration's limit (GetRestApi, GetResources; apigatewayv2 GetStage, GetRoutes, GetIntegrations for HTTP APIs),
## and the window's changes (CloudTrail LookupEvents) related to the incident
fetch: tools
	$(BUILD)
	$(PY) tests/aws/ministack.py -- $(PY) tests/aws/test_fetch.py $(CLI)
	$(PY) tests/aws/ministack.py -- $(PY) tests/aws/test_fetch_limits.py $(CLI)
	$(PY) tests/aws/ministack.py -- $(PY) tests/aws/test_fetch_changes.py $(CLI)

## fixtures: regenerate the CLI's incident fixtures and their truth (deterministic)
fixtures:
	python3 tests/fixtures/cli/generate.py

## template: cfn-lint (pinned) on template.yaml and templates/source-account.yaml, and their promises (IAM, failure
## path, subscriptions, alarms, the central account mode and the source-account template)
template: tools
	cfn-lint template.yaml templates/source-account.yaml
	$(PY) tests/template/test_template.py

## state: two handler instances share a DynamoDB table in MiniStack and get the same batch at once: one `firing`
state: tools
	$(PY) tests/aws/ministack.py -- $(CARGO) test --quiet --test state_dynamodb -- --nocapture

## e2e: the end-to-end run: the local deploy below
e2e: deploy-local

## deploy-local: template.yaml deployed through CloudFormation on MiniStack (loopback, stopped at the end whatever
## happens), log events put into the subscribed groups, alerts/metrics/logs/failure queue checked, the stack updated
## and deleted. The zip holds the x86_64 dev bootstrap of `make unit` (same cargo command: nothing is rebuilt after
## it). KEEP=1 pauses with the stack up, to try it by hand.
deploy-local: tools
	$(BUILD)
	$(PY) tests/e2e/deploy_local.py --bootstrap $(TARGET_DIR)/debug/bootstrap $(if $(KEEP),--keep)

## sam: `sam validate --lint` offline, from its own venv (aws-sam-cli pins a boto3 that MiniStack's botocore refuses)
SAM_VENV := .venv-sam
sam: sam-tools
	SAM_CLI_TELEMETRY=0 AWS_REGION=us-east-1 $(SAM_VENV)/bin/sam validate --lint --template-file template.yaml

## sam-build: `sam build` (samconfig.toml: beta features for rust-cargolambda, language extensions for Fn::ForEach),
## after `build` (its prerequisite): `cargo lambda build --release --arm64 --bin bootstrap` in place, the same cargo
## command as `build`, so it reuses that compile. Fails loudly if cargo compiled the arm64 bootstrap again (the reuse
## broke), rather than slowing CI unnoticed. The compiled file is the one in deps/: cargo lambda moves the copy.
ARM_DEPS := $(TARGET_DIR)/aarch64-unknown-linux-gnu/release/deps
ARM_STAMP = stat -c %Y $$(ls -t $(ARM_DEPS)/bootstrap-* 2>/dev/null | grep -v '\.d$$' | head -1) 2>/dev/null || echo none
sam-build: tools sam-tools build
	@before=$$($(ARM_STAMP)); \
	SAM_CLI_TELEMETRY=0 AWS_REGION=us-east-1 $(SAM_VENV)/bin/sam build --template-file template.yaml; \
	after=$$($(ARM_STAMP)); \
	if [ "$$before" != "$$after" ]; then echo "*** sam build compiled the arm64 bootstrap ($$before -> $$after): run it after 'make build', which it should reuse"; exit 1; fi
	test -x .aws-sam/build/Function/bootstrap
	grep -q 'Fn::ForEach::Subscriptions' .aws-sam/build/template.yaml
sam-tools: $(SAM_VENV)/.installed
$(SAM_VENV)/.installed: requirements-sam.txt
	python3 -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-sam.txt
	touch $@

## build: the deployable zip (provided.al2023, arm64), checked
build: tools
	rustup target add aarch64-unknown-linux-gnu >/dev/null 2>&1 || rustup target list --installed | grep -q aarch64-unknown-linux-gnu
	cargo lambda build --release --arm64 --output-format zip --bin bootstrap
	$(PY) tests/build/check_artifact.py $(ZIP)

## tools: the Python tools in .venv (MiniStack, cargo-lambda, cfn-lint, boto3)
tools: $(VENV)/.installed
$(VENV)/.installed: requirements-dev.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

BATCHES := target/gen-batches
$(BATCHES)/.done:
	mkdir -p $(BATCHES)
	python3 ../shared/bench/gen_batches.py --out $(BATCHES)
	touch $@

## bench: criterion benches (decode, parse, engine) on the generated batches; not part of `make test`
bench: $(BATCHES)/.done
	$(CARGO) bench --bench engine

## compare: ceiling vs engine vs Python baseline, MB/s, ratios and peak RSS, in one run
compare: $(BATCHES)/.done
	$(CARGO) build --release --quiet --example throughput --bin bootstrap
	python3 bench/compare.py $(BATCHES) ../shared
	python3 bench/init.py $(TARGET_DIR)/release/bootstrap $(BATCHES)/access-1m.json 10
	python3 bench/init.py $(TARGET_DIR)/release/bootstrap $(BATCHES)/exec-1m.json 3 | tail -1

## inflate-backends: flate2's backends (and libdeflate) on the same 1 MB batches, one binary each
INFLATE_BACKENDS := zlib-rs miniz_oxide zlib libdeflate
inflate-backends: $(BATCHES)/.done
	for f in $(INFLATE_BACKENDS); do \
	  CARGO_TARGET_DIR=target/inflate-$$f $(CARGO) build --quiet --release --features $$f \
	    --manifest-path bench/inflate-backends/Cargo.toml || exit 1; \
	  target/inflate-$$f/release/inflate-backends $(BATCHES)/exec-1m.json $(BATCHES)/access-1m.json || exit 1; done

## fuzz: the cargo-fuzz targets (nightly), FUZZ_SECONDS each; tests/no_panic.rs covers the same entry points in `make test`
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := envelope execution_log access_log access_log_format
fuzz:
	command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	cd fuzz && for t in $(FUZZ_TARGETS); do \
	  $(CARGO) +nightly fuzz run $$t -- -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 || exit 1; done

## events: regenerate events/ (deterministic)
events:
	python3 events/generate.py

## help: every target and what it does, from the `## target:` comments of this Makefile
help:
	@awk '/^## [a-z-]+:/ { line = substr($$0, 4); name = line; sub(/:.*/, "", name); sub(/^[a-z-]+: */, "", line); \
	  printf "  %-17s %s\n", name, line; next } /^## / { printf "  %-17s %s\n", "", substr($$0, 4) }' $(firstword $(MAKEFILE_LIST))

## clean: cargo clean, the venvs and the generated batches
clean:
	$(CARGO) clean
	rm -rf $(VENV) $(SAM_VENV)
