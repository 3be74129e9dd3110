# CivicPulse: `make up` starts everything with demo traffic, `make test` runs the whole suite.
VENV := .venv
BIN := $(VENV)/bin
DEMO ?= 1
PYTEST_ARGS ?=

.PHONY: help bootstrap up down status test test-unit test-integration lint fmt schema docs generate promtool bench bench-ingest bench-metrics clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

bootstrap: ## Install system packages (as root on Debian), the virtualenv and the Kafka jars
	@bash deploy/bootstrap.sh

up: bootstrap ## Start Kafka, PostgreSQL, the services, Prometheus and Alertmanager, with demo traffic (DEMO=0: without)
	@$(BIN)/civicpulse dev up $(if $(filter 0,$(DEMO)),--no-demo,--demo)

down: ## Stop everything `make up` started
	@$(BIN)/civicpulse dev down

status: ## Health and URL of each component of the local stack
	@$(BIN)/civicpulse dev status

test: bootstrap ## The whole suite against real Kafka and PostgreSQL started by the test session
	@$(BIN)/pytest $(PYTEST_ARGS)

test-unit: bootstrap ## Pure-logic tests only (no servers)
	@$(BIN)/pytest -m unit $(PYTEST_ARGS)

test-integration: bootstrap ## Tests against real Kafka and PostgreSQL
	@$(BIN)/pytest -m "integration or e2e" $(PYTEST_ARGS)

lint: bootstrap ## ruff, ruff format --check, mypy --strict, import contracts, committed contract schemas up to date
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .
	@$(BIN)/mypy
	@$(BIN)/lint-imports
	@$(BIN)/civicpulse schema export --check
	@$(BIN)/civicpulse docs config --check
	@$(BIN)/civicpulse docs asyncapi --check
	@$(BIN)/mypy tests/support/prometheus.py deploy/prometheus/generate_rules.py deploy/grafana/build_dashboards.py
	@$(BIN)/python deploy/prometheus/generate_rules.py --check
	@$(BIN)/python deploy/grafana/build_dashboards.py --check

fmt: ## Format and auto-fix
	@$(BIN)/ruff format .
	@$(BIN)/ruff check --fix .

schema: ## Regenerate the committed JSON Schema of the canonical event
	@$(BIN)/civicpulse schema export

generate: ## Regenerate the Prometheus KPI rules and the Grafana dashboards
	@$(BIN)/python deploy/prometheus/generate_rules.py
	@$(BIN)/python deploy/grafana/build_dashboards.py

promtool: ## Check the Prometheus config and rules, run the rule tests, check the Alertmanager config
	promtool check config deploy/prometheus/prometheus.yml
	promtool test rules deploy/prometheus/tests/*.yml
	amtool check-config deploy/alertmanager/alertmanager.yml

docs: ## Regenerate the README's configuration table and the AsyncAPI documents
	@$(BIN)/civicpulse docs config
	@$(BIN)/civicpulse docs asyncapi

bench-ingest: bootstrap ## Ingest benchmark: events/s and latency by batch size against a raw aiokafka producer
	@$(BIN)/python bench/ingest.py

bench-metrics: bootstrap ## Metrics benchmark: catch-up rate against a raw consumer, RSS, end-to-end latency
	@$(BIN)/python bench/metrics.py

.PHONY: bench-pipeline bench-quick
bench-pipeline: bootstrap ## Whole-pipeline benchmark: HTTP -> ingest -> metrics at 500 and 2,000 events/s
	@$(BIN)/python bench/pipeline.py

bench: bootstrap ## All benchmarks, the Quix Streams peer, 10x events and national trees, one table (~12 min; bench/results/)
	@$(BIN)/python bench/run_all.py

bench-quick: bootstrap ## `make bench` at smoke-test sizes (~2.5 min; bench/results/quick/)
	@$(BIN)/python bench/run_all.py --quick

clean: down ## Stop the stack and remove its state
	rm -rf .civicpulse
