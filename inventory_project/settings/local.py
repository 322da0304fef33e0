"""Settings for a developer's machine, the default of ``manage.py``: the base settings with debug
on unless the environment says otherwise. Servers (gunicorn, the Docker image) use ``base`` or
``production``, where a secret key is required."""

import os

os.environ.setdefault("DJANGO_DEBUG", "1")
os.environ.setdefault("DJANGO_LOG_FORMAT", "plain")
# The demo's webhook receivers run on this machine.
os.environ.setdefault("WEBHOOK_ALLOW_PRIVATE_TARGETS", "1")

from .base import *  # noqa: F403
