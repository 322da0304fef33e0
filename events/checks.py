"""Deployment checks of the events, run by ``manage.py check --deploy``."""

from typing import Any

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=True)
def private_targets_check(app_configs: Any, **kwargs: Any) -> list[checks.CheckMessage]:
    """Webhooks to private addresses let whoever manages endpoints reach the internal network
    (the database, the cloud's metadata service) from the server."""
    if not settings.WEBHOOK_ALLOW_PRIVATE_TARGETS:
        return []
    return [
        checks.Warning(
            "WEBHOOK_ALLOW_PRIVATE_TARGETS is on: webhooks may be sent over plain HTTP and to "
            "loopback, private and link-local addresses.",
            hint="Unset WEBHOOK_ALLOW_PRIVATE_TARGETS in production; it is for development.",
            id="inventory.W010",
        )
    ]
