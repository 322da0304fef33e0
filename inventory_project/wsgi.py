"""WSGI entry point, served by gunicorn: ``gunicorn inventory_project.wsgi``."""

import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

from core.server.chunked import ChunkedBodyMiddleware

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "inventory_project.settings.base")

application = ChunkedBodyMiddleware(
    get_wsgi_application(), limit=lambda: int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
)
