# agentcron: every set-up step lives here, so a fresh machine needs only `make local` or `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# The Lambda runtime is python3.13. pyenv's python3.13 shim does not resolve
# while another version is global, so prefer the interpreter itself.
PYTHON313 ?= $(firstword $(wildcard /root/.pyenv/versions/3.13*/bin/python3.13) $(shell command -v python3.13))
UV_VERSION := 0.13.9
SAM_CLI_VERSION := 1.170.0
CHECKOV_VERSION := 3.3.30
UV := .tools/uv/bin/uv
VENV := .venv
BIN := $(VENV)/bin
SAM := .tools/sam/bin/sam
CHECKOV := .tools/checkov/bin/checkov
export UV_PROJECT_ENVIRONMENT := $(VENV)
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= us-east-1

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-20s %s\n", $$1, $$2}'

$(UV):
	@test -n "$(PYTHON313)" || { echo "python3.13 is needed (pyenv install 3.13)"; exit 1; }
	$(PYTHON313) -m venv .tools/uv
	.tools/uv/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(BIN)/agentcron: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --all-extras --python $(PYTHON313) --quiet
	@touch $@

install: $(BIN)/agentcron  ## create .venv with the app and dev dependencies from uv.lock

$(SAM):
	$(PYTHON313) -m venv .tools/sam
	.tools/sam/bin/pip install --quiet --disable-pip-version-check aws-sam-cli==$(SAM_CLI_VERSION)

sam-cli: $(SAM)  ## install the SAM CLI in its own venv (it pins its own boto3 and pydantic)

$(CHECKOV):
	$(PYTHON313) -m venv .tools/checkov
	.tools/checkov/bin/pip install --quiet --disable-pip-version-check checkov==$(CHECKOV_VERSION)

checkov: $(CHECKOV)  ## install checkov in its own venv (its pins clash with the app's)

OPENAPI_LINT := tools/openapi-lint/node_modules/.package-lock.json

# Spectral and Redocly for tests/security/test_api_document.py, pinned by the committed lock file.
$(OPENAPI_LINT): tools/openapi-lint/package.json tools/openapi-lint/package-lock.json
	npm ci --prefix tools/openapi-lint --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $@

openapi-lint-tools: $(OPENAPI_LINT)  ## install Spectral and Redocly (npm ci) to lint the API's OpenAPI document

# Rebuilt only when its sources changed since the last build.
web/dist/index.html: web/package-lock.json web/index.html $(wildcard web/src/*.ts* web/src/*.css web/src/*/*.ts*)
	$(MAKE) --no-print-directory web

local: install web/dist/index.html  ## install, build the web app and start the local stack on http://127.0.0.1:3000
	$(BIN)/agentcron local

lint: install  ## ruff, mypy and cfn-lint
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy shared local functions
	$(BIN)/cfn-lint template.yaml

web: install  ## the web app: npm ci, OpenAPI types from the API, eslint, tsc, vite build into web/dist
	cd web && npm ci --no-audit --no-fund && PYTHON=$(CURDIR)/$(BIN)/python npm run openapi && npm run lint && npm run typecheck && npm run build

chromium:  ## Debian's chromium for the browser tests (Playwright drives it; no browser download)
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)

deploy-web: web  ## publish web/dist to a deployed stack (after sam deploy): make deploy-web STACK=name
	@test -n "$(STACK)" || { echo "usage: make deploy-web STACK=<stack name>"; exit 1; }
	$(BIN)/python web/scripts/deploy_web.py --stack $(STACK)

test: install sam-cli checkov openapi-lint-tools web chromium  ## install everything and run the whole suite (what CI runs)
	$(MAKE) --no-print-directory lint
	SAM_CLI=$(CURDIR)/$(SAM) CHECKOV=$(CURDIR)/$(CHECKOV) $(BIN)/python -m pytest -q -n 2 --dist loadfile --durations=25

test-long: install  ## the long variants: full concurrency mix, a bigger fuzz run, a longer load test
	CONCURRENCY_SCALE=4 FUZZ_EXAMPLES=500 LOAD_SECONDS=60 LOAD_USERS=16 $(BIN)/python -m pytest -q \
	  tests/integration/test_dispatch_concurrency.py tests/security tests/load

fuzz: install  ## schemathesis against the API's own OpenAPI document, 500 examples per operation
	FUZZ_EXAMPLES=500 $(BIN)/python -m pytest -q tests/security tests/security/test_fuzz_api.py

bench: install sam-cli  ## run the benchmarks and write their table into README.md
	PATH=$(dir $(PYTHON313)):$$PATH $(BIN)/python -m bench.run

layer-requirements: $(UV)  ## regenerate the pinned layer requirements from uv.lock
	{ echo "# Generated from uv.lock by 'make layer-requirements': the DependenciesLayer's pinned packages."; \
	  echo "# boto3 is pinned too: the tracer's aws-xray-sdk pulls botocore in, and the pair must match."; \
	  $(UV) export --frozen --no-dev --no-hashes --no-emit-project --no-header --no-annotate --format requirements-txt; \
	} > layers/requirements.txt

# Lambda's /var/task and /opt are read-only, so a function without bytecode compiles every
# module it imports at each cold start (bench.coldstart: ~60% of the handlers' import CPU).
# Hash-based .pyc that are never checked against their source: zip files keep mtimes only to
# 2 s, so timestamp-based ones would not match and be ignored. Forced: nothing stale survives.
# Without PYTHONPYCACHEPREFIX, which would put the .pyc outside the artifacts.
build: sam-cli  ## sam build (no Docker needed), then compile every artifact to python3.13 bytecode
	PATH=$(dir $(PYTHON313)):$$PATH $(SAM) build
	env -u PYTHONPYCACHEPREFIX $(PYTHON313) -m compileall -q -f -j 0 --invalidation-mode unchecked-hash .aws-sam/build

validate: sam-cli  ## sam validate --lint
	$(SAM) validate --lint

.PHONY: help install sam-cli checkov openapi-lint-tools local web chromium deploy-web lint test test-long fuzz bench layer-requirements build validate
