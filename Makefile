# eks-inferentia. `make up STACK=dev` deploys; `make test` runs every offline check; `make help` lists the rest.
STACK ?= dev
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
# checkov and parliament live in their own venv: checkov pins an old `packaging` that breaks the Pulumi SDK.
CHECKERS_VENV ?= .venv-checkers
# The CrossGuard pack's own venv (policy/PulumiPolicy.yaml names it); previews and updates enforce the pack.
POLICY_VENV := policy/.venv
# Local file state by default: no Pulumi Cloud account needed. Override for S3 or Pulumi Cloud.
# `eval "$$(make env)"` gives your shell the same backend, so bare `pulumi` commands find the stack.
export PULUMI_BACKEND_URL ?= file://$(CURDIR)/.pulumi-state

.PHONY: help env install checkers policy test lint typecheck unit mutation render compare schema docs identities stack preview up destroy bench clean \
	check-deploy-tools

help:
	@echo "make up STACK=dev      check the Pulumi and AWS CLIs, create the venv, install, create the stack, pulumi up"
	@echo "make test              lint, type check and every offline test (make lint, make typecheck, make unit)"
	@echo "make render STACK=dev  offline preview: no Pulumi CLI, no AWS account (build/render/STACK)"
	@echo "make compare STACK=dev SET='instanceType=inf2.xlarge' [BASELINE=dev]"
	@echo "                       offline: what those overrides (or stack STACK against BASELINE) replace, update, add, remove"
	@echo "make env               print the backend's export line: eval \"\$$(make env)\" before bare pulumi commands"
	@echo "make preview STACK=dev pulumi preview --diff, enforcing the policy pack in policy/"
	@echo "make mutation          mutation score of components/, eks_inferentia/, client/ (PACKAGE=client: one)"
	@echo "make destroy STACK=dev tear the stack down"
	@echo "make schema            after changing CONFIG_KEYS or OUTPUTS: rewrite Pulumi.yaml's config block and the README tables"
	@echo "make docs              after changing a command's options or help, or the rules and alerts (eks_inferentia/metrics.py):"
	@echo "                       rewrite docs/cli.md (the command-line reference) and docs/alerts.md (the alerts runbook)"
	@echo "make identities        after a deliberate rename: record each stack's resource URNs (tests/identities/)"
	@echo "make bench             time evaluating each stack under the mock engine; the client's cost per request"
	@echo "make install           the project's .venv"
	@echo "make checkers          .venv-checkers: checkov and parliament, apart from the Pulumi SDK"
	@echo "make policy            policy/.venv: the CrossGuard pack's venv"
	@echo "make clean             remove build/ and the tools' caches"
	@echo "make help              this list"

env:
	@printf "export PULUMI_BACKEND_URL='%s'\n" "$$PULUMI_BACKEND_URL"

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

$(CHECKERS_VENV)/.installed: requirements-checkers.txt
	$(PYTHON) -m venv $(CHECKERS_VENV)
	$(CHECKERS_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKERS_VENV)/bin/python -m pip install --quiet -r requirements-checkers.txt
	touch $@

checkers: $(CHECKERS_VENV)/.installed

$(POLICY_VENV)/.installed: policy/requirements.txt
	$(PYTHON) -m venv $(POLICY_VENV)
	$(POLICY_VENV)/bin/python -m pip install --quiet -r policy/requirements.txt
	touch $@

policy: $(POLICY_VENV)/.installed

lint: install
	$(VENV)/bin/ruff check .

typecheck: install
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy examples/consumer  # a second run: both programs are modules named __main__

unit: install checkers
	$(PY) -m pytest

test: lint typecheck unit

# Mutation testing (README, "Mutation testing"): mutmut, each mutant against the tests that call the mutated
# function; tools/mutation_report.py prints the score per package and the survivors, with the accepted ones'
# reasons from tools/mutation_allowlist.yaml. Not part of `make test`: it takes minutes, not seconds.
MUTATION_PACKAGES := components eks_inferentia client
PACKAGE ?= $(MUTATION_PACKAGES)
MUTATION_JOBS ?= 2

$(VENV)/.mutation-installed: requirements-mutation.txt $(VENV)/.installed
	$(PY) -m pip install --quiet -r requirements-mutation.txt
	touch $@

mutation: install checkers $(VENV)/.mutation-installed
	rm -rf mutants build/mutation
	mkdir -p mutants build/mutation
	ln -s $(abspath $(CHECKERS_VENV)) mutants/.venv-checkers  # tools/checkers.py finds it beside the copied tools/
	@set -e; for package in $(PACKAGE); do \
	  start=$$(date +%s); \
	  echo "mutmut run '$$package.*' (log: build/mutation/$$package.log)"; \
	  $(VENV)/bin/mutmut run --max-children $(MUTATION_JOBS) "$$package.*" > build/mutation/$$package.log 2>&1 \
	    || { tail -n 30 build/mutation/$$package.log; exit 1; }; \
	  echo "  $$package: $$(( $$(date +%s) - start )) s"; \
	done
	$(PY) -m tools.mutation_report $(PACKAGE)

render: install
	$(PY) -m tools.render $(STACK)

# SET: space-separated KEY=VALUE overrides of STACK's config; BASELINE: the stack as it is now (default STACK).
SET ?=
BASELINE ?= $(STACK)
compare: install
	$(PY) -m tools.render $(STACK) $(foreach override,$(SET),--set '$(override)') --compare-with $(BASELINE)

schema: install
	$(PY) -m tools.schema

docs: install
	$(PY) -m tools.cli_reference
	$(PY) -m tools.alerts_reference

identities: install
	$(PY) -m tools.identities

bench: install
	$(PY) -m tools.bench

check-deploy-tools:
	@command -v pulumi >/dev/null 2>&1 || { echo "error: the Pulumi CLI is not installed; see https://www.pulumi.com/docs/install/ (or run 'make render STACK=$(STACK)' for an offline preview)" >&2; exit 1; }
	@command -v aws >/dev/null 2>&1 || { echo "error: the AWS CLI v2 is not installed; the cluster's kubeconfig authenticates with 'aws eks get-token'" >&2; exit 1; }
	@aws --version 2>&1 | grep -q '^aws-cli/2\.' || { echo "error: the AWS CLI is $$(aws --version 2>&1 | cut -d' ' -f1); v2 is needed (https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html)" >&2; exit 1; }
	@aws sts get-caller-identity >/dev/null 2>&1 || { echo "error: no working AWS credentials; run 'aws configure' or 'aws sso login', or set AWS_PROFILE" >&2; exit 1; }
	@case "$$PULUMI_BACKEND_URL" in file://*) [ -n "$$PULUMI_CONFIG_PASSPHRASE$$PULUMI_CONFIG_PASSPHRASE_FILE" ] || { echo "error: set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE): the local backend encrypts the stack's secrets with it" >&2; exit 1; }; mkdir -p "$${PULUMI_BACKEND_URL#file://}";; esac

# The deploy tools are checked first: a missing Pulumi CLI is reported before a minute of installing.
stack: check-deploy-tools install
	@pulumi stack select $(STACK) 2>/dev/null || pulumi stack init $(STACK)

preview: stack policy
	pulumi preview --stack $(STACK) --diff --policy-pack policy

up: stack policy
	pulumi up --stack $(STACK) --policy-pack policy

destroy: check-deploy-tools
	pulumi destroy --stack $(STACK)

clean:
	rm -rf build mutants .pytest_cache .mypy_cache .ruff_cache
