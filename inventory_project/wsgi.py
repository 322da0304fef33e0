"""WSGI entry point, served by gunicorn: ``gunicorn inventory_project.wsgi``."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "inventory_project.settings.base")

application = get_wsgi_application()
