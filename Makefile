# One entry point for local work and CI. `make synth` and `make test` install what they
# need (pinned in requirements*.txt and package-lock.json), then run.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# jsii warns on every run that Node 20 is past end of life; the warning would bury the
# output that matters. Node 20 is what this machine has; see README "Requirements".
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
# No network beyond the package registries: no CLI notices, telemetry or version checks.
export CDK_DISABLE_CLI_TELEMETRY := true
export CDK_DISABLE_VERSION_CHECK := true

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The template scanners live apart: checkov pins a `packaging` that clashes with pytest 9.
SCAN_VENV := .venv-scan
CDK := node_modules/.bin/cdk --no-notices
ENV ?=

.PHONY: help install synth scan report test lint typecheck unit update-snapshots diff deploy check-config clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.txt requirements-dev.txt requirements-loadtest.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-dev.txt -r requirements-loadtest.txt
	touch $@

$(SCAN_VENV)/.installed: requirements-scan.txt
	$(PYTHON) -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-scan.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed $(SCAN_VENV)/.installed node_modules/.installed ## create .venv, .venv-scan and node_modules from the pins

check-config: $(VENV)/.installed ## validate cdk.json settings (one line per error)
	@$(PY) -m config

synth: install check-config ## synthesize every environment into cdk.out/ (no AWS access)
	$(CDK) synth --quiet

scan: synth $(SCAN_VENV)/.installed ## cfn-lint, checkov and the Control Tower rules over every synthesized template
	$(PY) -m review.scan cdk.out --scan-venv $(SCAN_VENV)

report: scan ## security review per environment: cdk.out/security-review-<env>.md and .html, docs/architecture.svg
	$(PY) -m review.report cdk.out --diagram docs/architecture.svg --diagram-env prod

lint: $(VENV)/.installed ## ruff lint and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(VENV)/.installed ## mypy --strict
	$(VENV)/bin/mypy

unit: $(VENV)/.installed $(SCAN_VENV)/.installed ## the pytest suite (assertions, snapshots, bad config, cdk-nag, scanners)
	$(PY) -m pytest

test: install lint typecheck unit scan loadtest-selftest ## everything CI runs

# Load test of a deployed environment and its offline self-test (docs/loadtest.md). The
# key comes from the environment (OUTPOST_API_KEY), never from a file; extra flags: ARGS=.
URL ?=
ARGS ?=
.PHONY: loadtest loadtest-selftest

loadtest: $(VENV)/.installed ## load-test an environment: make loadtest ENV=prod [URL=https://...] [ARGS=...]
	@test -n "$(ENV)" || { echo "usage: make loadtest ENV=<environment> [URL=<ApiUrl>] [ARGS=<flags>]" >&2; exit 2; }
	$(PY) -m loadtest --env '$(ENV)' $(if $(URL),--url '$(URL)') $(ARGS)

loadtest-selftest: $(VENV)/.installed ## the load-test harness against a local stand-in on 127.0.0.1 (no AWS)
	$(PY) -m pytest loadtest/tests -q

update-snapshots: $(VENV)/.installed ## accept template changes into tests/__snapshots__
	$(PY) -m pytest tests/test_snapshots.py --snapshot-update

diff: install ## cdk diff of one environment: make diff ENV=prod (needs AWS credentials)
	@test -n "$(ENV)" || { echo "usage: make diff ENV=<environment>" >&2; exit 2; }
	stage=$$($(PY) -m config --env $(ENV)) && $(CDK) diff "$$stage/*" -c outpost:only=$(ENV)

deploy: install ## cdk deploy of one environment: make deploy ENV=prod (needs AWS credentials)
	@test -n "$(ENV)" || { echo "usage: make deploy ENV=<environment>" >&2; exit 2; }
	stage=$$($(PY) -m config --env $(ENV)) && \
	  $(CDK) deploy "$$stage/*" -c outpost:only=$(ENV) --require-approval broadening

clean: ## remove cdk.out and caches (keeps .venv and node_modules)
	rm -rf cdk.out .pytest_cache .mypy_cache .ruff_cache
