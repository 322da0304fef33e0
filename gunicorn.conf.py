"""gunicorn settings; each can be overridden with its GUNICORN_* environment variable."""

import os


def _cpus() -> int:
    # The CPUs this process may run on (a container's cpuset), not the whole host's.
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# One sync worker per CPU: with PostgreSQL on the same machine that measured best (more workers
# only added context switches; gthread doubled the tail latency). With the database on its own
# host, workers spend more time waiting on it: try 2 x CPUs + 1 there (GUNICORN_WORKERS).
workers = int(os.environ.get("GUNICORN_WORKERS", str(_cpus())))
# gunicorn's sync worker, writing the requests gunicorn refuses by itself (request line or
# headers too large, malformed) in the API's JSON error envelope instead of an HTML page.
worker_class = "core.server.gunicorn_worker.JsonErrorSyncWorker"
# A request that takes longer is killed (and its transaction rolled back by PostgreSQL).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
# Recycle workers now and then, so a slow leak never grows without bound; rarely, because a
# new worker spends about 0.5 s of CPU loading Django and its first requests are slow (at 2,000
# the benchmark saw a restart every 13 s per worker, and its p99 with it).
max_requests = 100_000
max_requests_jitter = 10_000
# The application writes the access log itself to stdout: one JSON line per request, with its
# caller (core.api.middleware.AccessLogMiddleware); gunicorn's own would repeat it.
accesslog = None
errorlog = "-"
# gunicorn's control socket sits at one path per user: several instances on one host would
# fight over it, and the image's user cannot write its home. Nothing here uses it.
control_socket_disable = True
