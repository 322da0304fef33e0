"""Checks of the events' settings: the lease against the timeout (always), and private targets
(``manage.py check --deploy``)."""

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


@checks.register()
def attempt_lease_check(app_configs: Any, **kwargs: Any) -> list[checks.CheckMessage]:
    """Until an attempt's lease ends no other worker makes it; after, one does, taking the first
    worker for dead. A lease no longer than the request's timeout lets two workers make the same
    attempt (resolving the name comes on top of the timeout)."""
    lease = settings.WEBHOOK_ATTEMPT_LEASE_SECONDS
    timeout = settings.WEBHOOK_TIMEOUT_SECONDS
    if lease > timeout:
        return []
    return [
        checks.Error(
            f"WEBHOOK_ATTEMPT_LEASE_SECONDS ({lease:g}) must be longer than "
            f"WEBHOOK_TIMEOUT_SECONDS ({timeout:g}): another worker would make an attempt still "
            "being made.",
            hint="Keep the lease several times the timeout (30 s and 5 s by default).",
            id="inventory.E011",
        )
    ]


@checks.register()
def sends_per_endpoint_check(app_configs: Any, **kwargs: Any) -> list[checks.CheckMessage]:
    """A batch needs at least one sender: with none, deliveries would be claimed and never sent."""
    sends = settings.WEBHOOK_SENDS_PER_ENDPOINT
    if isinstance(sends, int) and sends >= 1:
        return []
    return [
        checks.Error(
            f"WEBHOOK_SENDS_PER_ENDPOINT ({sends!r}) must be a whole number, at least 1.",
            hint="4 by default; 1 sends each endpoint's deliveries one at a time.",
            id="inventory.E012",
        )
    ]


@checks.register()
def batch_window_check(app_configs: Any, **kwargs: Any) -> list[checks.CheckMessage]:
    """The batch window must end before a stock level's coalescing window: the dispatch takes
    on keyed events due within it, which must have gathered some of their burst first."""
    from events.delivery import COALESCE_WINDOW

    window = settings.WEBHOOK_BATCH_WINDOW_SECONDS
    limit = COALESCE_WINDOW.total_seconds()
    if isinstance(window, int | float) and 0 <= window < limit:
        return []
    return [
        checks.Error(
            f"WEBHOOK_BATCH_WINDOW_SECONDS ({window!r}) must be at least 0 and below {limit:g}.",
            hint="0.2 by default; 0 dispatches each event at once.",
            id="inventory.E013",
        )
    ]
