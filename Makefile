# Everyday verbs. `make run` and `make test` set everything up on their own (Python 3.11+ only).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
BENCH_ARGS ?=
# The background workers: one runs the default queue, the other the deliveries to degraded
# (slow or failing) webhook endpoints, whose timeouts must not hold up the rest (events/tasks.py).
DB_WORKER := $(BIN)/python manage.py db_worker --no-reload
DEGRADED_QUEUE := webhooks-degraded

.PHONY: install run worker worker-degraded reset-demo serve test check lint layers format types migrations-check deploy-check pytest migrate bench clean

install: $(VENV)/.installed

# pip names each package as it goes: a first install takes a few minutes.
$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -r requirements-dev.txt
	touch $@

# Set up, migrate, load the demo catalog, print a demo login and API key, and serve on SQLite
# at http://$(HOST):$(PORT) (e.g. `make run PORT=8001`), with the two workers beside the server
# that send the webhooks (stopped with it).
run: install
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py demo_access --host $(HOST) --port $(PORT)
	$(DB_WORKER) --queue-name default & worker=$$!; \
	$(DB_WORKER) --queue-name $(DEGRADED_QUEUE) & degraded=$$!; \
	trap 'kill $$worker $$degraded 2>/dev/null' EXIT INT TERM; \
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

# The background workers alone, what production runs beside the API: at least one of each,
# more as needed, on any machines. `worker` runs the default queue (the events' fan-out and the
# deliveries to healthy endpoints), `worker-degraded` the deliveries to degraded endpoints.
worker: install
	$(DB_WORKER) --queue-name default

worker-degraded: install
	$(DB_WORKER) --queue-name $(DEGRADED_QUEUE)

# Start the demo over: empty the database (it asks first; only with DEBUG on, as `make run` has
# it), load the demo catalog again and print a new demo login and API key. Then `make run`.
reset-demo: install
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py seed_demo --reset
	$(BIN)/python manage.py demo_access --host $(HOST) --port $(PORT)

# The production entry command (what the Docker image runs), here on your machine.
serve: install
	$(BIN)/gunicorn inventory_project.wsgi --config gunicorn.conf.py

migrate: install
	$(BIN)/python manage.py migrate --no-input

# The whole suite: lint, types, migrations, then the tests (on SQLite unless DATABASE_URL says).
test: check pytest

pytest: install
	$(BIN)/pytest $(PYTEST_ARGS)

check: lint layers types migrations-check deploy-check

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The import graph's layers (pyproject.toml, [tool.importlinter]): a back-arrow fails.
layers: install
	$(BIN)/lint-imports --no-cache

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

types: install
	$(BIN)/mypy .

migrations-check: install
	DATABASE_URL=sqlite:///:memory: DJANGO_SETTINGS_MODULE=inventory_project.settings.test $(BIN)/python manage.py makemigrations --check --dry-run

# Django's deployment checklist against the production settings, with a throwaway secret key.
deploy-check: install
	DJANGO_SETTINGS_MODULE=inventory_project.settings.production \
	DJANGO_SECRET_KEY="$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
	DJANGO_ALLOWED_HOSTS=inventory.example.com DATABASE_URL=sqlite:///:memory: \
	REDIS_URL=redis://cache:6379/0 \
	$(BIN)/python manage.py check --deploy --fail-level WARNING

# The API against the raw floor of the machine. Needs PostgreSQL on 127.0.0.1:5432 (user
# postgres, trust; the database inventory_bench is dropped and recreated), Redis on
# 127.0.0.1:6379 (its db 7 is flushed) and wrk (apt-get install -y wrk). About 10 minutes;
# `make bench BENCH_ARGS=--quick` is a 2-minute smoke run; BENCH_ARGS=--events measures the
# events and webhooks alone (bench/events.py).
bench: install
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
