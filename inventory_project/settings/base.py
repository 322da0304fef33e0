"""Settings shared by every environment, read from environment variables.

Everything an operator may need to change comes from the environment (twelve-factor); the
defaults are those of a developer's machine: a SQLite file beside the code, debug off.
"""

import warnings
from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured
from rest_framework.deprecation import RemovedInDRF320Warning  # type: ignore[import-untyped]

from core.shortcuts import check_names

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=False)

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. It is required whenever DJANGO_DEBUG is off: set it to a "
            'long random string, e.g. python -c "import secrets; print(secrets.token_urlsafe(50))".'
        )
    # Only ever used with debug on, on a developer's machine.
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"  # noqa: S105

ALLOWED_HOSTS: list[str] = env.list(
    "DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else []
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "corsheaders",
    "csp",
    "axes",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # Before django_tasks_db: its db_worker command (with this project's interval) wins.
    "events",
    "django_tasks",
    "django_tasks_db",
    "core.api",
    "catalog",
    "stock",
    "orders",
    "reports",
]

MIDDLEWARE = [
    "core.api.middleware.RequestIdMiddleware",
    "core.api.middleware.AccessLogMiddleware",
    # Before anything that checks the Host header: probes call by address, not by name.
    "core.api.middleware.HealthCheckMiddleware",
    # Before anything that resolves the path: /api/v1/products is /api/v1/products/.
    "core.api.middleware.ApiTrailingSlashMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Before anything that may answer, so that every answer to an allowed origin carries CORS.
    "corsheaders.middleware.CorsMiddleware",
    # Serves the admin's and the API docs' static files from the app itself, compressed and
    # cached, so a deployment needs no separate file server.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "core.api.middleware.SessionActorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes requires: turns a locked-out login into its lockout page.
    "axes.middleware.AxesMiddleware",
]

# The admin's address. Moving it off /admin/ keeps the login page out of every scanner's list.
ADMIN_URL = env.str("DJANGO_ADMIN_URL", default="admin/").strip("/") + "/"

# Admin logins: django-axes records failures in the database (shared by every instance) and
# locks a username at an address out after DJANGO_LOGIN_FAILURE_LIMIT failures, for
# DJANGO_LOGIN_COOLOFF_MINUTES. Keyed by the pair, so nobody can lock a colleague out from
# elsewhere by typing their username wrong on purpose.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("DJANGO_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("DJANGO_LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "admin/lockout.html"
# The address as throttling sees it: the socket's, or behind DJANGO_NUM_PROXIES proxies the one
# they add to X-Forwarded-For (which a client could forge were no proxy of ours in front).
AXES_CLIENT_IP_CALLABLE = "core.api.throttling.client_address"
AXES_VERBOSE = False

# Browser clients (a web shop's front end) may call the API from these origins only, e.g.
# "https://shop.example.com,https://staging.shop.example.com". Never credentials: the API key
# travels in a header, and cookies (the admin's session) are never sent cross-origin.
CORS_ALLOWED_ORIGINS: list[str] = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_CREDENTIALS = False
CORS_ALLOW_HEADERS = [
    "accept",
    "authorization",
    "content-type",
    "idempotency-key",
    "x-request-id",
]
CORS_EXPOSE_HEADERS = ["retry-after", "x-request-id", "idempotent-replayed"]
CORS_PREFLIGHT_MAX_AGE = 3600

# The pages a browser renders (admin, Swagger UI, Redoc) load scripts only from this server.
# Styles may be inline: Redoc and Swagger UI set them from their scripts. Redoc renders in a
# worker it builds from a blob.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "worker-src": [SELF, "blob:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

ROOT_URLCONF = "inventory_project.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "inventory_project.wsgi.application"

# Database: DATABASE_URL, e.g. postgres://user:password@host:5432/inventory; a SQLite file in
# the project folder when unset.
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite allows one writer at a time. IMMEDIATE transactions take the write lock when the
    # transaction starts, so a second writer waits (up to the timeout, in seconds) instead of
    # failing halfway with "database is locked"; WAL lets readers go on while a write runs.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": env.int("SQLITE_BUSY_TIMEOUT", default=20),
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    # Reusing connections saves a connect (about 5 ms) on every request; Django checks each
    # reused connection (SELECT 1) before a request's first query.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Behind PgBouncer in transaction mode a cursor cannot outlive its transaction: exports and
    # other .iterator() reads then fetch in chunks without server-side cursors.
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env.bool("DB_PGBOUNCER", default=False)
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env.int(
        "DB_CONNECT_TIMEOUT", default=5
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The cache holds the request budgets (throttling) and admin login failures. With REDIS_URL
# (e.g. redis://redis:6379/0) every worker and instance shares them; without it each process
# keeps its own in memory, which is right only for a single process on a developer's machine.
REDIS_URL = env.str("REDIS_URL", default="")
CACHE_KEY_PREFIX = env.str("CACHE_KEY_PREFIX", default="inventory")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            # A Redis that hangs must not hang every request with it: throttling gives up after
            # this long and serves the request (see core/api/throttling.py).
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "KEY_PREFIX": CACHE_KEY_PREFIX,
        }
    }

# Catalog reads are kept rendered in the cache for this long, and answered 304 without a query,
# while the catalog's version stands (catalog/versions.py). Only with a shared cache: a process's
# own cache would not see another process's writes. 0 turns it off.
READ_CACHE_SECONDS = env.int("READ_CACHE_SECONDS", default=300 if REDIS_URL else 0)

# Each process remembers the API keys it has found for this long, while no key has changed
# (core/api/key_cache.py). Only with a shared cache, which tells every process of
# a revocation. 0 turns it off.
API_KEY_CACHE_SECONDS = env.int("API_KEY_CACHE_SECONDS", default=60 if REDIS_URL else 0)

# Speed-ups through private parts of our libraries to turn off, by name (core/shortcuts.py,
# docs/private-internals.md): for the benchmark, which measures each against the plain path.
SHORTCUTS_OFF = check_names(frozenset(env.list("SHORTCUTS_OFF", default=[])))

# Background tasks (webhook deliveries) are rows in the database, written in the transaction of
# the change that causes them; `manage.py db_worker` runs them (several may, on any machines).
# Deliveries to degraded endpoints (slow or failing) have a queue of their own, run by workers of
# their own, so that their timeouts never hold up the other endpoints' deliveries (events.tasks).
TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.backend.DatabaseBackend",
        "QUEUES": ["default", "webhooks-degraded"],
    }
}

# Webhook URLs must be https and must not reach loopback, private or link-local addresses (checked
# when an endpoint is saved and again, after DNS, at each delivery). On for development and tests
# only, where the receiver is on this machine; `check --deploy` warns when it is on.
WEBHOOK_ALLOW_PRIVATE_TARGETS = env.bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", default=False)
# Seconds before each retry of a failed delivery (about a day in all, then it has failed), and
# the longest an attempt may take before another worker may take it over (its worker died).
WEBHOOK_RETRY_DELAYS = env.list(
    "WEBHOOK_RETRY_DELAYS", cast=float, default=[5, 60, 600, 3600, 4 * 3600, 12 * 3600]
)
WEBHOOK_ATTEMPT_LEASE_SECONDS = env.float("WEBHOOK_ATTEMPT_LEASE_SECONDS", default=30)
# A receiver that has not answered within this many seconds has failed the attempt.
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=5)
# An endpoint whose latest attempt failed or took longer than this is degraded: its deliveries
# go to the degraded queue until an attempt succeeds within this time again.
WEBHOOK_SLOW_SECONDS = env.float("WEBHOOK_SLOW_SECONDS", default=2)
# The most requests one worker has in flight to one endpoint at once (a batch of its deliveries).
WEBHOOK_SENDS_PER_ENDPOINT = env.int("WEBHOOK_SENDS_PER_ENDPOINT", default=4)
# A default-lane worker whose batch to an endpoint is still sending after WEBHOOK_SLOW_SECONDS
# leaves it to its own threads (which record it when done) and goes on (events.delivery).
WEBHOOK_LEAVE_SLOW_BATCHES = env.bool("WEBHOOK_LEAVE_SLOW_BATCHES", default=True)
# An event's dispatch task is due this long after the event: under load, the first task due
# sends all the events of its window at once (``events.delivery``), so a worker's round trips
# are shared by many events rather than spent on each. 0 dispatches each at once.
WEBHOOK_BATCH_WINDOW_SECONDS = env.float("WEBHOOK_BATCH_WINDOW_SECONDS", default=0.2)
# Events are kept at least this long for clients catching up (`purge_events` deletes older).
EVENTS_KEEP_DAYS = env.int("EVENTS_KEEP_DAYS", default=7)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("DJANGO_TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT: Path | None = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

CSRF_FAILURE_VIEW = "core.api.views.csrf_failure"

# Largest request body the API accepts, in bytes; larger ones get 413 payload_too_large.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DJANGO_MAX_BODY_BYTES", default=1024 * 1024)

# The store's currency (ISO 4217); every price in the API is in it.
STORE_CURRENCY = env.str("STORE_CURRENCY", default="EUR")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # First, so that a request without credentials answers 401 with
        # "WWW-Authenticate: Api-Key" rather than 403.
        "core.api.authentication.ApiKeyAuthentication",
        "core.api.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["core.api.permissions.DenyAll"],
    "DEFAULT_THROTTLE_CLASSES": [
        "core.api.throttling.ActorRateThrottle",
    ],
    # Per API key and per staff user, for each kind of request; per address when anonymous.
    # Shared by every worker and instance when REDIS_URL is set (see the README).
    "DEFAULT_THROTTLE_RATES": {
        "read": env.str("THROTTLE_RATE_READ", default="1200/min"),
        "write": env.str("THROTTLE_RATE_WRITE", default="300/min"),
        "order": env.str("THROTTLE_RATE_ORDER", default="120/min"),
        "anon": env.str("THROTTLE_RATE_ANON", default="60/min"),
    },
    "DEFAULT_RENDERER_CLASSES": [
        "core.api.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "core.api.negotiation.ContentNegotiation",
    # JSON only: the schema advertises it, and one format means one rule for types (see
    # core/api/serializers.py). Forms are the admin's (and the import upload's).
    "DEFAULT_PARSER_CLASSES": ["core.api.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["core.api.filters.FilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "EXCEPTION_HANDLER": "core.api.exceptions.exception_handler",
    # How many proxies in front of the app set X-Forwarded-For; 0 trusts only the socket's
    # address, so a client cannot pick the address its anonymous requests are counted under.
    "NUM_PROXIES": env.int("DJANGO_NUM_PROXIES", default=0),
    "DEFAULT_SCHEMA_CLASS": "core.api.schema.AutoSchema",
    "DEFAULT_VERSIONING_CLASS": None,
    "COERCE_DECIMAL_TO_STRING": True,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Errors of list items as a list with one entry per item ({"lines": [{}, {"quantity": [...]}]}),
    # the shape the API documents, rather than DRF 3.18's new dict keyed by index.
    "LIST_SERIALIZER_ERRORS_AS_DICT": False,
}
warnings.filterwarnings("ignore", category=RemovedInDRF320Warning)

SPECTACULAR_SETTINGS = {
    "TITLE": "Inventory API",
    "DESCRIPTION": (
        "Inventory backend for fashion retail: products, their variants by size and their stock. "
        "Authenticate with `Authorization: Api-Key <key>`. Every error answers with the envelope "
        '`{"error": {"code", "message", "details"}}`; the codes are listed in the README.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Bodies mapped as bodies (not-blank strings have minLength 1); their components lose the
    # "Request" suffix again in core.api.schema.postprocess (OrderCreate).
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "Category": "catalog.models.Category",
        "Size": "catalog.models.Size",
        "OrderStatus": "orders.models.OrderStatus",
        "MovementReason": "stock.models.MovementReason",
        "LocationKind": "stock.models.LocationKind",
        "TransferStatus": "stock.models.TransferStatus",
        "CountStatus": "stock.models.CountStatus",
        "AdjustReason": "stock.services.MANUAL_REASON_CHOICES",
        "DeliveryStatus": "events.models.DeliveryStatus",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.api.schema.postprocess",
    ],
    "SCHEMA_PATH_PREFIX": "/api/v1",
}

LOG_LEVEL = env.str("DJANGO_LOG_LEVEL", default="INFO")
# "json": one JSON object per line, for a log collector (the default); "plain": for people.
LOG_FORMAT = env.str("DJANGO_LOG_FORMAT", default="json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "core.api.middleware.RequestIdLogFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(actor)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            "timestamp": False,
        },
        "plain": {
            "format": "%(asctime)s %(levelname)s %(name)s [request_id=%(request_id)s actor=%(actor)s] %(message)s"
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # The access log has every request's status; Django's request logger adds a line only
        # for a 5xx (with its traceback). The API's exception handler logs its 5xx itself and
        # marks them so that this logger does not log them twice.
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
        "inventory_project.access": {"handlers": ["console"], "level": "INFO", "propagate": False},
        # django-axes notes every successful sign-in at INFO; failures and lockouts are warnings.
        "axes": {"level": "WARNING"},
        # runserver's own line per request would repeat the access log's.
        "django.server": {"handlers": [], "propagate": False},
    },
}
