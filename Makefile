# Two commands matter: `make run` and `make test`. Everything else is a step they use.
SHELL := /bin/bash
PYTHON ?= python3
PYENV_ROOT ?= $(shell pyenv root 2>/dev/null || echo $$HOME/.pyenv)
PYTHON310 ?= $(firstword $(wildcard $(PYENV_ROOT)/versions/3.10.*/bin/python) $(shell command -v python3.10))
VENV := .venv
RASA_VENV := .venv-rasa
RASA := $(RASA_VENV)/bin/rasa
MODEL := models/integrity.tar.gz
RASA_PORT ?= 5005
ACTIONS_PORT ?= 5055
export ACTION_ENDPOINT_URL ?= http://127.0.0.1:$(ACTIONS_PORT)/webhook
export PYTHONPATH := $(CURDIR)
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 3
RASA_DATA := nlu stories
TRAINING_INPUTS := config.yml domain.yml rasa_plugins/tfidf_intent_classifier.py rasa_plugins/semantic_features.py $(wildcard nlu/*.yml stories/*.yml)

.PHONY: run test test-deps shell model envs bench nlu-eval deploy-test mutate clean

run: envs $(MODEL)
	$(VENV)/bin/python -m devtools.stack

test: envs test-deps $(MODEL)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(RASA) data validate --data $(RASA_DATA) --domain domain.yml --fail-on-warnings
	$(VENV)/bin/pytest -q

shell: envs $(MODEL)
	$(VENV)/bin/python -m bot.terminal --url http://127.0.0.1:$(RASA_PORT)

envs: $(VENV)/.installed $(RASA_VENV)/.installed

# System packages the tests need (Debian): a PostgreSQL server for the storage tests and Chromium for the
# browser tests (driven by Playwright with executable_path=/usr/bin/chromium; no browser download), and npm for
# axe-core, the accessibility checker the browser tests inject (pinned in package-lock.json, installed with
# `npm ci` into node_modules/).
TEST_DEBS := postgresql chromium redis-server
test-deps: node_modules/.installed
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || ! test -x /usr/bin/chromium || ! test -x /usr/bin/redis-server; then \
		if [ "$$(id -u)" != 0 ]; then echo "Install first: sudo apt-get install -y $(TEST_DEBS)" >&2; exit 1; fi; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(TEST_DEBS) >/dev/null; \
	fi

node_modules/.installed: package.json package-lock.json
	@if ! command -v npm >/dev/null; then \
		if [ "$$(id -u)" != 0 ]; then echo "Install first: sudo apt-get install -y nodejs npm" >&2; exit 1; fi; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm >/dev/null; \
	fi
	npm ci --no-audit --no-fund --ignore-scripts
	touch $@

$(VENV)/.installed: requirements/main.lock
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r requirements/main.lock
	touch $@

$(RASA_VENV)/.installed: requirements/rasa.lock
	@test -n "$(PYTHON310)" || { echo "Python 3.10 not found: install it with pyenv (pyenv install 3.10)" >&2; exit 1; }
	test -x $(RASA_VENV)/bin/python || $(PYTHON310) -m venv $(RASA_VENV)
	$(RASA_VENV)/bin/pip install -q --upgrade pip
	$(RASA_VENV)/bin/pip install -q -r requirements/rasa.lock
	touch $@

model: $(MODEL)

# Trains only when the training data, domain or pipeline changed.
$(MODEL): $(TRAINING_INPUTS) $(RASA_VENV)/.installed
	$(RASA) train --data $(RASA_DATA) --domain domain.yml --config config.yml --out models \
		--fixed-model-name integrity --quiet
	touch $@

nlu-eval: envs
	$(VENV)/bin/python -m experiments.nlu_eval

# About 50-60 min on 2 cores (rasa train, four NLU pipelines; diet-transformer alone ~30 min). Quick runs:
# make bench BENCH_FLAGS="--skip-nlu"
# (also --skip-train, --skip-chat, --skip-reports, --pipelines NAME..., --users 1 20; see benchmarks/run.py).
bench: envs $(MODEL)
	$(VENV)/bin/python -m benchmarks.run $(BENCH_FLAGS)

# The production deployment in containers (podman, images built here from Debian's packages), tested end to end
# through nginx with faults and upgrades; not part of `make test`. About 11 min (first build +5 min); root on Debian
# bookworm; it installs podman, runc and debootstrap if missing and removes its test stack at the end
# (docs/deployment.md). DEPLOY_TEST_FLAGS="--skip-build" reuses the images, "--keep" leaves the stack running.
# The model is trained first when missing or stale (a fresh clone has none), like `make run`.
deploy-test: envs $(MODEL)
	$(VENV)/bin/python deploy/test/run.py $(DEPLOY_TEST_FLAGS)

# Mutation testing (mutmut, pinned in requirements/main.lock) of receipts and throttles, scope, deadlines, the safety
# net, statistics and the CSV export, and sessions; not part of `make test`. Prints the kill rate per module and
# every surviving mutant (docs/testing.md explains them); fails below 90% in a module. See docs/testing.md for the
# run time. MUTATE_FLAGS="--report" reports on the last run only; "--fresh" starts from a clean mutants/.
mutate: envs test-deps
	$(VENV)/bin/python -m devtools.mutate $(MUTATE_FLAGS)

clean:
	rm -rf models results .pytest_cache node_modules mutants
