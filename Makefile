# Entonnoir — everyday commands. Needs only python3 (with venv and pip) and make.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint format bench bench-quick migrations install clean

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $(STAMP)

install: $(STAMP)

## Run the product: Telegram when TELEGRAM_BOT_TOKEN is set, else the local console chat.
run: $(STAMP)
	$(BIN)/entonnoir run

## Run the whole test suite (PostgreSQL and Dovecot tests start their own servers). The
## servers are installed first when missing (root or passwordless sudo), else one sentence says
## how; once installed, a server that fails to start fails its tests instead of skipping them.
test: $(STAMP)
	@scripts/install-test-services.sh systemd
	ENTONNOIR_TEST_SERVICES=required $(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check bot storage mail tests bench
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix bot storage mail tests bench
	$(BIN)/ruff format bot storage mail tests bench

## Every benchmark in bench/, run as a module from the repository root (bench.loop, ...).
BENCHES := $(basename $(notdir $(filter-out bench/_%,$(wildcard bench/*.py))))
bench: $(STAMP)
	@for b in $(BENCHES); do echo "== bench/$$b.py $(BENCH_ARGS)"; \
	  $(BIN)/python -m bench.$$b $(BENCH_ARGS) || { echo "bench/$$b.py failed" >&2; exit 1; }; done

## The same at a size that finishes in seconds: a smoke test for CI, no timing asserted.
bench-quick:
	@$(MAKE) --no-print-directory bench BENCH_ARGS=--quick

## Write a migration from model changes (Tortoise's built-in migrations).
migrations: $(STAMP)
	$(BIN)/python -m tortoise -c storage.migrate_config.TORTOISE_ORM makemigrations
	rm -f var/makemigrations.db*

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
