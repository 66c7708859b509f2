# One entry point for local work and CI. `make synth` and `make test` install what they
# need (pinned in requirements*.txt and package-lock.json), then run.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# Node.js: package-lock.json pins npm's `node` package (a Node.js LTS binary from the npm
# registry), so the CDK CLI, jsii (which aws-cdk-lib's Python package starts with the `node` on
# PATH) and the Control Tower rules run on a supported Node whatever the machine has; the
# machine's Node only runs `npm ci`. See docs/development.md, "Node.js".
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)
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
# `make diff`: auto (a change set through the deploy role, falling back to the templates) or
# template (compares templates through the read-only lookup role: what CI's diff role may do).
DIFF_METHOD ?= auto
# `make deploy`: CI passes `never`, behind the GitHub environment's required reviewers (see
# README, "Deploy from GitHub Actions"); at a terminal, broadened permissions ask first.
REQUIRE_APPROVAL ?= broadening
# `make deploy` of an environment with `bootstrap: true` (0 control-plane tasks: an outage on a
# running environment) asks at a terminal; without one it needs CONFIRM_BOOTSTRAP=<environment>.
CONFIRM_BOOTSTRAP ?=
WORKFLOWS := $(wildcard .github/workflows/*.yml)

# Each install is stamped with a checksum of the files it was made from, not their mtime: a
# fresh checkout (or CI restoring .venv and node_modules from its cache) reinstalls only when
# a pin changed.
stamp = $(1)/.installed-$(shell cat $(2) | cksum | cut -d' ' -f1)
VENV_READY := $(call stamp,$(VENV),requirements.lock)
SCAN_READY := $(call stamp,$(SCAN_VENV),requirements-scan.lock)
NODE_READY := $(call stamp,node_modules,package.json package-lock.json)

.PHONY: help install lock synth scan report review-check rehearse rehearse-update rehearse-recreate rehearse-first-deploy changes cost test lint check-new-environment \
	typecheck unit update-snapshots diff deploy diff-delivery deploy-delivery check-config clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

# The environments install the whole dependency tree from the lock files (every transitive
# package pinned), so two machines get the same versions; `make lock` writes them from the
# requirements*.txt files people edit (tests/test_locks.py fails when they disagree).
$(VENV_READY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	rm -f $(VENV)/.installed*
	touch $@

$(SCAN_READY):
	$(PYTHON) -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-scan.lock
	rm -f $(SCAN_VENV)/.installed*
	touch $@

LOCK_VENV := .venv-lock
PIP_COMPILE := $(LOCK_VENV)/bin/pip-compile --quiet --no-emit-index-url --no-emit-find-links --strip-extras
lock: ## rewrite requirements.lock and requirements-scan.lock from requirements*.txt (needs PyPI)
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/pip install --quiet --disable-pip-version-check pip-tools==7.5.2
	$(PIP_COMPILE) --output-file requirements.lock requirements.txt requirements-dev.txt requirements-loadtest.txt
	$(PIP_COMPILE) --output-file requirements-scan.lock requirements-scan.txt

$(NODE_READY):
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV_READY) $(SCAN_READY) $(NODE_READY) ## create .venv, .venv-scan and node_modules from the pins

check-config: $(VENV_READY) ## validate cdk.json settings (one line per error)
	@$(PY) -m config

synth: $(VENV_READY) $(NODE_READY) check-config ## synthesize every environment into cdk.out/ (no AWS access; installs only what synthesis needs)
	$(CDK) synth --quiet

# cdk.out as a file: the tests, the scanners, the rehearsal and the cost estimate read the one
# assembly `make synth` wrote, synthesized again only when an input changed. The Control Tower
# rules run once over it (tools/review/guard.py), not inside every synth.
CDK_OUT := cdk.out/manifest.json
GUARD_OUT := cdk.out/cfn-guard-report.json
SYNTH_INPUTS := app.py cdk.json requirements.txt package-lock.json \
	$(shell find config stacks constructs compliance permissions lambdas -type f -not -path '*/__pycache__/*' 2>/dev/null)
$(CDK_OUT): $(SYNTH_INPUTS) | $(VENV_READY) $(NODE_READY)
	$(MAKE) --no-print-directory synth
$(GUARD_OUT): $(CDK_OUT)
	$(PY) -m tools.review.guard cdk.out

scan: $(GUARD_OUT) $(SCAN_READY) ## cfn-lint, checkov and the Control Tower rules over every synthesized template
	$(PY) -m tools.review.scan cdk.out --scan-venv $(SCAN_VENV)

report: scan ## security review per environment: cdk.out/security-review-<env>.md and .html, docs/architecture.svg
	$(PY) -m tools.review.report cdk.out --diagram docs/architecture.svg

rehearse: $(CDK_OUT) $(VENV_READY) $(NODE_READY) ## deploy every stack of every environment onto a local AWS emulator (moto) after checking AWS's create-time limits; see docs/rehearsal.md
	$(PY) -m tools.rehearsal cdk.out

# Day two (docs/rehearsal.md): a change rehearsed as an update from FROM's template snapshots, and a development
# environment destroyed and created again (docs/rehearsal.md).
rehearse-update: $(CDK_OUT) $(VENV_READY) $(NODE_READY) ## create every stack from FROM's templates (git snapshots; FROM=HEAD~1), update to cdk.out as cdk deploy would, fail stale weak references
	$(PY) -m tools.rehearsal.update cdk.out --from '$(or $(FROM),HEAD~1)'

rehearse-recreate: $(CDK_OUT) $(VENV_READY) $(NODE_READY) ## create each development environment, destroy it (what is retained stays), create it again
	$(PY) -m tools.rehearsal.recreate cdk.out

rehearse-first-deploy: $(CDK_OUT) $(VENV_READY) $(NODE_READY) ## the first-deploy runbook on the emulator: bootstrap: true, push images, deploy (one more synth)
	$(PY) -m tools.rehearsal.first_deploy cdk.out.first-deploy
	$(PY) -m tools.rehearsal cdk.out --first-deploy cdk.out.first-deploy

# Not part of `make test`: CI has no browser. Needs Debian's chromium and poppler-utils.
review-check: report ## prod's HTML review in headless Chromium at 1,280 px: screenshots, PDF, page count, overflow
	$(PY) -m tools.review.browser_check cdk.out/security-review-prod.html --out cdk.out/browser-check \
	  --shot acknowledgements --shot data-reach --shot architecture

# Day two (docs/changes.md): what a deploy of the current code does to each resource relative to
# FROM's committed template snapshots; refuses unacknowledged data loss and changed outputs that
# other stacks read. FROM defaults to the merge base with main, else HEAD~1; `make test` passes
# HEAD~1, the pull-request workflow the PR's base.
FROM ?=
changes: $(CDK_OUT) $(VENV_READY) ## add/update/replace/delete per resource since FROM (default: merge base with main); refuses data loss
	$(PY) -m tools.changes cdk.out $(if $(FROM),--from '$(FROM)')

cost: $(CDK_OUT) $(VENV_READY) ## monthly cost estimate of every environment, from cdk.out, the settings and tools/cost/prices.json
	$(PY) -m tools.cost cdk.out

lint: $(VENV_READY) ## ruff lint and format check; actionlint (with ShellCheck) on every workflow
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/actionlint -shellcheck $(VENV)/bin/shellcheck -pyflakes= $(WORKFLOWS)

typecheck: $(VENV_READY) ## mypy --strict
	$(VENV)/bin/mypy

# Coverage is measured in the same run (pyproject.toml, [tool.coverage]), over the app wing and
# the Lambda handlers, each with its floor: below either, `make unit` fails.
COVERAGE_FLOOR_APP := 95
COVERAGE_FLOOR_LAMBDAS := 96
unit: $(GUARD_OUT) $(VENV_READY) $(SCAN_READY) ## the pytest suite over cdk.out (assertions, snapshots, bad config, cdk-nag, scanners, the load-test self-test), with the coverage floors
	OUTPOST_ASSEMBLY=cdk.out $(PY) -m pytest --cov --cov-report=
	@echo "coverage of the app wing (floor $(COVERAGE_FLOOR_APP) %):"
	@$(PY) -m coverage report --omit='lambdas/*' --fail-under=$(COVERAGE_FLOOR_APP) | tail -1
	@echo "coverage of the Lambda handlers (floor $(COVERAGE_FLOOR_LAMBDAS) %):"
	@$(PY) -m coverage report --include='lambdas/*' --fail-under=$(COVERAGE_FLOOR_LAMBDAS) | tail -1

# Both cores: the steps after the one synth are independent; each one's output is printed
# whole when it ends.
test: install ## everything CI runs: lint, types, tests (with the load-test self-test and coverage), scanners, rehearsals, call paths, changes since HEAD~1
	$(MAKE) --no-print-directory -j2 --output-sync=target lint typecheck unit scan rehearse rehearse-update paths \
	  changes FROM='$(or $(FROM),HEAD~1)'

# Runtime call paths (docs/paths.md): network and IAM of every declared path, per environment.
.PHONY: paths
paths: $(CDK_OUT) $(VENV_READY) ## every runtime call path of every environment, network and IAM, from cdk.out (docs/paths.md)
	$(PY) -m tools.paths cdk.out --check-docs docs/paths.md

# Load test of a deployed environment and its offline self-test (docs/loadtest.md). The
# key comes from the environment (OUTPOST_API_KEY), never from a file; extra flags: ARGS=.
URL ?=
ARGS ?=
.PHONY: loadtest loadtest-selftest

loadtest: $(VENV_READY) ## load-test an environment: make loadtest ENV=prod [URL=https://...] [ARGS=...]
	@test -n "$(ENV)" || { echo "usage: make loadtest ENV=<environment> [URL=<ApiUrl>] [ARGS=<flags>]" >&2; exit 2; }
	$(PY) -m tools.loadtest --env '$(ENV)' $(if $(URL),--url '$(URL)') $(ARGS)

loadtest-selftest: $(VENV_READY) ## the load-test harness against a local stand-in on 127.0.0.1 (no AWS; make unit runs it too)
	$(PY) -m pytest tests/tools/loadtest -q

# The rate budget: AWS API calls per dispatch against their quotas (docs/capacity.md); exits 1 when
# a row of the chosen design passes the headroom at 10x. tests/tools/test_rates.py checks the same.
.PHONY: rates
rates: $(VENV_READY) ## the rate budget at 1x and 10x against the documented AWS quotas (rewrites docs/capacity.md's tables)
	$(PY) -m tools.rates --write

# Not part of `make test` (a few minutes): every test run checks a throwaway environment already.
check-new-environment: install ## a copy with the README's example environment added passes make update-snapshots and make test
	$(PY) -m tests.new_environment

update-snapshots: $(VENV_READY) ## accept template changes into tests/__snapshots__
	$(PY) -m pytest tests/test_snapshots.py --snapshot-update

diff: install ## cdk diff of one environment: make diff ENV=prod [DIFF_METHOD=template] (needs AWS credentials)
	@test -n "$(ENV)" || { echo "usage: make diff ENV=<environment>" >&2; exit 2; }
	@case "$(DIFF_METHOD)" in auto|template|change-set) ;; \
	  *) echo "DIFF_METHOD=$(DIFF_METHOD): must be auto, template or change-set" >&2; exit 2;; esac
	stage=$$($(PY) -m config --env $(ENV)) && \
	  $(CDK) diff "$$stage/*" -c outpost:only=$(ENV) --method $(DIFF_METHOD)

# Stack by stack through the prepared change set, refused like `make changes` on CloudFormation's
# own answer; release alarms in ALARM stop it; readers of changed outputs are deployed too
# (tools/changes/deploy.py, docs/changes.md).
deploy: install $(CDK_OUT) ## deploy one environment through its change sets: make deploy ENV=prod [CONFIRM_BOOTSTRAP=prod] (needs AWS credentials)
	@test -n "$(ENV)" || { echo "usage: make deploy ENV=<environment>" >&2; exit 2; }
	@case "$(REQUIRE_APPROVAL)" in never|any-change|broadening) ;; \
	  *) echo "REQUIRE_APPROVAL=$(REQUIRE_APPROVAL): must be never, any-change or broadening" >&2; exit 2;; esac
	$(PY) -m config --env $(ENV) >/dev/null && \
	  CONFIRM_BOOTSTRAP='$(CONFIRM_BOOTSTRAP)' $(PY) -m config --confirm-bootstrap $(ENV) && \
	  $(PY) -m tools.changes.deploy cdk.out --env '$(ENV)' --require-approval $(REQUIRE_APPROVAL) --cdk '$(CDK)'

diff-delivery: install ## cdk diff of the Delivery stack of an environment's account: make diff-delivery ENV=prod
	@test -n "$(ENV)" || { echo "usage: make diff-delivery ENV=<environment>" >&2; exit 2; }
	stack=$$($(PY) -m config --delivery-stack $(ENV)) && $(CDK) diff "$$stack"

deploy-delivery: install ## deploy the Delivery stack (GitHub OIDC roles) of an environment's account, by an administrator
	@test -n "$(ENV)" || { echo "usage: make deploy-delivery ENV=<environment>" >&2; exit 2; }
	stack=$$($(PY) -m config --delivery-stack $(ENV)) && $(CDK) deploy "$$stack" --require-approval broadening

clean: ## remove cdk.out and caches (keeps .venv and node_modules)
	rm -rf cdk.out cdk.out.first-deploy .pytest_cache .mypy_cache .ruff_cache .cache .coverage
