"""Settings for the test suite: the base settings with a fixed key and a fast password hasher."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key")

from .base import *  # noqa: F403
from .base import REST_FRAMEWORK

# Hashing passwords with the production hasher would cost most of the suite's time.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Throttling has its own tests, which set their own rates; the rest of the suite must not trip it.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": dict.fromkeys(("read", "write", "order", "anon"), "100000/min"),
    # The API reads JSON only.
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

# Static files come straight from the apps (no collectstatic before tests).
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# The tests' webhook receivers listen on loopback. (Set here, not in the environment, which the
# servers that some tests start with production settings would inherit.)
WEBHOOK_ALLOW_PRIVATE_TARGETS = True
# An event's dispatch task is due at once, so that a test runs it right after the change (the
# window's own test sets it).
WEBHOOK_BATCH_WINDOW_SECONDS = 0
# A batch left to its threads records it on a connection of theirs, which cannot write while
# a test's transaction is open: the tests of that (transactional ones, and the real workers'
# from the environment) turn it on.
WEBHOOK_LEAVE_SLOW_BATCHES = os.environ.get("WEBHOOK_LEAVE_SLOW_BATCHES") == "1"
