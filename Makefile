# The one entry point for routine work: `make help` lists every target.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
PYTHON := $(VENV)/bin/python
COMPOSE := docker compose
# The project the everyday targets (logs, ps, psql, redis-cli, keys, metrics) talk to:
# development's (`shortener`) or production's (`shortener-prod`, docker-compose.prod.yml),
# whichever runs (development's when both do); PROJECT=... or COMPOSE_PROJECT_NAME chooses.
RUNNING_PROJECTS = $(shell $(COMPOSE) ls --quiet 2>/dev/null)
PROJECT ?= $(or $(COMPOSE_PROJECT_NAME),$(if $(filter shortener,$(RUNNING_PROJECTS)),shortener,$(if $(filter shortener-prod,$(RUNNING_PROJECTS)),shortener-prod,shortener)))
STACK_COMPOSE = $(COMPOSE) -p $(PROJECT)

# HTTPS at the edge (docs/tls.md): TLS_MODE acme (the default once PUBLIC_HOST is set),
# files, or off (the default without PUBLIC_HOST: TLS ends in front, as at a load balancer).
TLS_MODE ?= $(if $(PUBLIC_HOST),acme,off)
export TLS_MODE
TLS_FILES.off :=
TLS_FILES.acme := -f docker-compose.tls.yml --profile acme
TLS_FILES.files := -f docker-compose.tls.yml -f docker-compose.tls-files.yml
PROD := -f docker-compose.yml -f docker-compose.prod.yml $(TLS_FILES.$(TLS_MODE))
# Refuses a TLS_MODE that names no edge, before anything starts.
CHECK_TLS_MODE := case "$(TLS_MODE)" in off|acme|files) ;; *) \
	echo "error: TLS_MODE=$(TLS_MODE): must be acme, files or off (docs/tls.md)" >&2; exit 2;; esac
PYTEST := $(PYTHON) -m pytest
# Sourcing this picks (and if needed builds) the base images; see scripts/base-images.sh.
BASE_IMAGES := . scripts/base-images.sh
# Ryuk, testcontainers' reaper, is an image that machines without registry access cannot
# pull; the integration fixtures remove their containers themselves. Override with false.
export TESTCONTAINERS_RYUK_DISABLED ?= true

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# ---- running the stack ------------------------------------------------------------------
.PHONY: up down prod-up prod-down backup backups backup-check restore rotate-secrets db-upgrade db-upgrade-rollback tls-status tls-renew stack-up stack-down sizes logs ps psql redis-cli secrets standins clean api-key revoke-key keys
up: ## Start the stack (development), health-gated; prints the URL
	@scripts/up.sh

down: ## Stop the stack; data stays in its volumes
	$(COMPOSE) down --remove-orphans

prod-up: ## Start the production variant (base + docker-compose.prod.yml, + TLS per TLS_MODE); needs SECRETS_DIR
	@$(CHECK_TLS_MODE)
	@scripts/up.sh --existing-secrets $(PROD)

prod-down: ## Stop the production variant
	@$(CHECK_TLS_MODE)
	$(COMPOSE) $(PROD) down --remove-orphans

# Backups (docs/backups.md) of the variant PROJECT names: production's files for
# shortener-prod, development's otherwise.
VARIANT_FILES = $(if $(filter shortener-prod,$(PROJECT)),$(PROD))

backup: ## A full base backup now (pgBackRest); make backup TYPE=diff for a differential one
	@scripts/backup.sh backup $(or $(TYPE),full) $(VARIANT_FILES)

backups: ## List the backups: times, sizes, and the range of time a restore can reach
	@scripts/backup.sh list $(VARIANT_FILES)

backup-check: ## Check that WAL archiving works and every file in the repository matches its checksum
	@scripts/backup.sh check $(VARIANT_FILES)

restore: ## Restore the database (latest, or TARGET_TIME="2026-12-07 05:20:00+00"); needs CONFIRM=yes
	@scripts/backup.sh restore $(if $(TARGET_TIME),--target-time "$(TARGET_TIME)") $(if $(filter yes,$(CONFIRM)),--confirm) $(VARIANT_FILES)

rotate-secrets: ## New random passwords, applied in place: nothing restarts, no data touched (SECRET=name for one)
	@scripts/rotate-secrets.sh $(SECRET) $(VARIANT_FILES)

# The next PostgreSQL major (docs/backups.md, "Major upgrade"): POSTGRES_UPGRADE_IMAGE.
db-upgrade: ## Upgrade PostgreSQL to the next major (17 -> 18) by dump and restore onto a new volume; the old one kept; needs CONFIRM=yes
	@$(BASE_IMAGES) && scripts/db-upgrade.sh upgrade $(if $(filter yes,$(CONFIRM)),--confirm) $(VARIANT_FILES)

db-upgrade-rollback: ## Back to the major and volume from before make db-upgrade (later writes stay behind); needs CONFIRM=yes
	@$(BASE_IMAGES) && scripts/db-upgrade.sh rollback $(if $(filter yes,$(CONFIRM)),--confirm) $(VARIANT_FILES)

tls-status: ## The served certificate: names, issuer, expiry, renewal time, the keeper's results (acme)
	@$(COMPOSE) $(PROD) exec -T certs python -m shortener_certs status

tls-renew: ## Renew the certificate now and wait for the outcome (acme); nginx reloads it, drops nothing
	@$(COMPOSE) $(PROD) exec -T certs python -m shortener_certs renew-now

stack-up: ## Deploy the production variant to Docker Swarm (docs/swarm.md); needs SECRETS_DIR; MONITORING=1 adds the monitoring
	@scripts/stack.sh up

stack-down: ## Remove the Swarm stack and its edge proxy; data stays in its volumes
	@scripts/stack.sh down

sizes: ## Print each image's size: proxy, api, worker, the data stores and the base images
	@set -o pipefail; printf '%-44s %s\n' IMAGE SIZE; \
	{ $(COMPOSE) -f docker-compose.yml config --images | sort; \
	  $(COMPOSE) -f docker-compose.yml config | awk '$$1 ~ /^(PYTHON|NGINX)_IMAGE:$$/ {print $$2}'; \
	} | awk '!seen[$$0]++' | while read -r image; do \
	  size="$$(docker image ls --format '{{.Size}}' "$$image" | head -n1)"; \
	  printf '%-44s %s\n' "$$image" "$${size:-(not built or pulled)}"; \
	done

logs: ## Follow the logs of every service
	$(STACK_COMPOSE) logs --follow --tail 100

ps: ## Show each service's state and health
	$(STACK_COMPOSE) ps --all

psql: ## Open psql in the database as the app role
	$(STACK_COMPOSE) exec database sh -c 'PGPASSWORD="$$(cat /run/secrets/database_app_password)" psql -h 127.0.0.1 -U shortener_app shortener'

redis-cli: ## Open redis-cli in the cache
	$(STACK_COMPOSE) exec cache sh -c 'REDISCLI_AUTH="$$(cat /run/secrets/redis_password)" redis-cli'

api-key: ## Create an API key, printed once: make api-key NAME=alice [SCOPES=links:read,stats:read] [EXPIRES=30d]
	@test -n "$(NAME)" || { echo "usage: make api-key NAME=<who it is for> [SCOPES=a,b] [EXPIRES=30d|2027-01-01T00:00:00Z]" >&2; exit 2; }
	@$(STACK_COMPOSE) exec -T api python -m shortener.keys create "$(NAME)" \
		$(if $(SCOPES),--scopes "$(SCOPES)") $(if $(EXPIRES),--expires "$(EXPIRES)")

revoke-key: ## Revoke an API key by its prefix: make revoke-key PREFIX=AbCd1234
	@test -n "$(PREFIX)" || { echo "usage: make revoke-key PREFIX=<prefix from make keys>" >&2; exit 2; }
	@$(STACK_COMPOSE) exec -T api python -m shortener.keys revoke "$(PREFIX)"

keys: ## List API keys (prefixes, state, expiry, scopes, names; never the keys)
	@$(STACK_COMPOSE) exec -T api python -m shortener.keys list

secrets: ## Create missing secrets in .secrets/ (random; existing ones are kept)
	@scripts/secrets.sh

standins: ## Build the Debian stand-ins for the base images (for machines without a registry)
	@scripts/standins/build.sh

clean: ## Stop the stack and delete its volumes (all data)
	$(COMPOSE) down --remove-orphans --volumes

# ---- development ------------------------------------------------------------------------
.PHONY: venv lock lint format docs
venv: $(VENV)/.installed ## Create the dev virtualenv from the lock files

$(VENV)/.installed: api/requirements.lock worker/requirements.lock certs/requirements.lock requirements-dev.lock
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --require-hashes \
		-r api/requirements.lock -r worker/requirements.lock -r certs/requirements.lock \
		-r requirements-dev.lock
	touch $@

lock: venv ## Re-resolve the lock files from the pyproject.toml files
	for svc in api worker; do \
		$(VENV)/bin/uv pip compile $$svc/pyproject.toml --universal --python-version 3.11 \
			--generate-hashes --no-header --quiet -o $$svc/requirements.lock; \
	done
	$(VENV)/bin/uv pip compile requirements-dev.in --universal --python-version 3.11 \
		--generate-hashes --no-header --quiet -c api/requirements.lock \
		-c worker/requirements.lock -o requirements-dev.lock
	# The certificate keeper agrees with the others' pins: the dev venv holds all three.
	$(VENV)/bin/uv pip compile certs/pyproject.toml --universal --python-version 3.11 \
		--generate-hashes --no-header --quiet -c api/requirements.lock \
		-c worker/requirements.lock -c requirements-dev.lock -o certs/requirements.lock

lint: venv ## ruff: lint and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

docs: ## Re-point the line references in docs/practices.md after editing referenced files
	$(PYTHON) scripts/guide_lines.py --fix

format: venv ## ruff: fix what can be fixed and format
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# ---- monitoring (docs/monitoring.md) -----------------------------------------------------
# Beside the variant PROJECT names: production's files for shortener-prod, development's
# (with its override) otherwise. GRAFANA=1 starts Grafana too (a registry must reach it).
MONITORING_VARIANT = $(or $(VARIANT_FILES),-f docker-compose.yml -f docker-compose.override.yml)
MONITORING = $(MONITORING_VARIANT) -f docker-compose.monitoring.yml \
	$(if $(and $(VARIANT_FILES),$(filter acme,$(TLS_MODE))),-f docker-compose.monitoring-tls.yml) \
	$(if $(GRAFANA),--profile grafana)
.PHONY: monitoring-up monitoring-down alerts
monitoring-up: ## Prometheus, Alertmanager and the exporters beside the running variant; ALERT_WEBHOOK_URL=... the first time
	@$(if $(VARIANT_FILES),,scripts/secrets.sh &&) scripts/monitoring-setup.sh $(MONITORING_VARIANT)
	@scripts/up.sh $(if $(VARIANT_FILES),--existing-secrets) $(MONITORING)

monitoring-down: ## Stop the monitoring services (the stack and the samples kept stay)
	$(COMPOSE) $(MONITORING) --profile grafana rm --stop --force prometheus alertmanager postgres-exporter redis-exporter nginx-exporter grafana

alerts: ## The alerts firing now, from Alertmanager (amtool)
	@$(COMPOSE) $(MONITORING) exec -T alertmanager amtool alert query --alertmanager.url=http://127.0.0.1:9093

# ---- observability ----------------------------------------------------------------------
# Read from inside the containers: /metrics is for the backend network (a Prometheus on it
# scrapes api:8000 and worker:9100), never published, and a 404 through the proxy.
METRICS_GET := import sys, urllib.request; sys.stdout.write(urllib.request.urlopen( \
	"http://127.0.0.1:" + sys.argv[1] + "/metrics", timeout=5).read().decode())
.PHONY: metrics
metrics: ## Print the api's and the worker's Prometheus metrics (first replica of each)
	@echo "# ---- api (api:8000/metrics)"
	@$(STACK_COMPOSE) exec -T api python -c '$(METRICS_GET)' 8000
	@echo "# ---- worker (worker:9100/metrics)"
	@$(STACK_COMPOSE) exec -T worker python -c '$(METRICS_GET)' 9100

# ---- tests ------------------------------------------------------------------------------
.PHONY: test test-unit test-integration test-e2e test-faults test-tls test-backups test-monitoring test-swarm
test: venv ## Run every tier (lint, unit, integration, e2e beside faults, swarm); fails if any tier fails
	scripts/test-tiers.sh

test-unit: venv ## Unit tests: pure logic, no containers
	$(PYTEST) tests/unit

test-integration: venv ## Integration tests: api and worker code against real Postgres and Redis containers
	$(BASE_IMAGES) && $(PYTEST) tests/integration

test-e2e: venv ## End-to-end tests: the whole compose stack through nginx on 127.0.0.1
	$(BASE_IMAGES) && $(PYTEST) tests/e2e

test-faults: venv ## Fault and load tests: the prod variant under Docker-made faults, a 60 s soak
	$(BASE_IMAGES) && $(PYTEST) tests/faults

test-backups: venv ## Backup drills: point-in-time restore of a lost volume, a damaged repository refused, the 17 -> 18 upgrade and back
	$(BASE_IMAGES) && $(PYTEST) tests/backups

test-tls: venv ## TLS tests: the production variant with HTTPS from a local ACME CA (pebble)
	$(BASE_IMAGES) && $(PYTEST) tests/tls

test-monitoring: venv ## Monitoring tests: promtool rule tests, then the prod variant with Prometheus: alerts fired by real faults, every dashboard query run
	$(BASE_IMAGES) && $(PYTEST) tests/monitoring

test-swarm: venv ## Swarm tests: the production files as a stack on a single-node swarm (joined and left if needed)
	$(BASE_IMAGES) && $(PYTEST) tests/swarm

# ---- docs images -------------------------------------------------------------------------
.PHONY: screenshots
screenshots: venv ## Re-take docs/img/web-*.png: the web page's browser tests, on a fresh stack
	$(BASE_IMAGES) && WEB_SCREENSHOTS=docs/img $(PYTEST) tests/e2e/test_web_page.py

# ---- benchmarks (never timed assertions in tests) ----------------------------------------
.PHONY: bench bench-compare bench-countries bench-ingest
bench: venv ## Load test the production variant against nginx's own 301 (bench/results/; ARGS="--repeat 3", "--profile")
	@command -v wrk >/dev/null || { echo "installing wrk (Debian package)"; \
		apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
	$(BASE_IMAGES) && PYTHONPATH=. $(PYTHON) -m bench.run $(ARGS)

bench-compare: venv ## Two bench runs side by side: make bench-compare BEFORE=bench/results/A.json AFTER=...B.json
	@test -n "$(BEFORE)" && test -n "$(AFTER)" || { \
		echo "usage: make bench-compare BEFORE=bench/results/<time>.json AFTER=bench/results/<time>.json" >&2; exit 2; }
	@PYTHONPATH=. $(PYTHON) -m bench.compare "$(BEFORE)" "$(AFTER)"

bench-countries: venv ## A click's country lookup: microseconds per click, from a generated MMDB (ARGS="--networks N")
	PYTHONPATH=api:. $(PYTHON) bench/countries.py $(ARGS)

bench-ingest: venv ## Click ingestion: clicks/s of one run over 200,000 events (ARGS="--events N")
	$(BASE_IMAGES) && PYTHONPATH=api:worker:. $(PYTHON) bench/ingest.py $(ARGS)
