# The API served by gunicorn, as a non-root user. Build: docker build -t inventory .
# Migrations are a separate step (compose's `migrate` service, or a release job):
#   docker run --rm -e DATABASE_URL=... -e DJANGO_SECRET_KEY=... inventory python manage.py migrate

# --- build: wheels for every pinned dependency, compiled where needed -------------------------
FROM python:3.11-slim-bookworm AS build

ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /venv
COPY requirements.txt /tmp/requirements.txt
RUN /venv/bin/pip install --requirement /tmp/requirements.txt

# --- runtime: the virtual environment and the code, nothing else ------------------------------
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/venv/bin:$PATH \
    DJANGO_SETTINGS_MODULE=inventory_project.settings.production \
    GUNICORN_BIND=0.0.0.0:8000

RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --shell /usr/sbin/nologin app

COPY --from=build /venv /venv
WORKDIR /app
# The code belongs to root and is read-only for the app user (.dockerignore lists what comes in).
COPY . .
# Static files are collected at build time and served by WhiteNoise; the key is a throwaway
# needed only to load the settings.
RUN DJANGO_SECRET_KEY=collectstatic-only python manage.py collectstatic --no-input --verbosity 0

USER app
EXPOSE 8000
# /healthz answers over plain HTTP whatever the Host header (core/api/middleware.py),
# so the check needs no name from DJANGO_ALLOWED_HOSTS; it asks on GUNICORN_BIND's port.
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s \
    CMD python -c "import os, urllib.request; port = os.environ['GUNICORN_BIND'].rpartition(':')[2]; urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=2)"

# The API; the same image runs the background workers with
# `python manage.py db_worker --queue-name default --no-reload` as its command, and
# `python manage.py db_worker --queue-name webhooks-degraded --no-reload` (README, Events).
CMD ["gunicorn", "inventory_project.wsgi", "--config", "gunicorn.conf.py"]
