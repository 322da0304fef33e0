"""Deployment checks of our own, run by ``manage.py check --deploy``."""

from typing import Any

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=True)
def shared_cache_check(app_configs: Any, **kwargs: Any) -> list[checks.CheckMessage]:
    """Without Redis every process counts requests on its own: N workers allow N times the
    budget, and a restart forgets it."""
    if settings.REDIS_URL:
        return []
    return [
        checks.Warning(
            "REDIS_URL is not set: request budgets are counted per process, not shared.",
            hint="Set REDIS_URL to the Redis every instance shares (see the README).",
            id="inventory.W001",
        )
    ]


@checks.register(checks.Tags.caches, deploy=True)
def read_cache_check(app_configs: Any, **kwargs: Any) -> list[checks.CheckMessage]:
    """Cached reads are right only when every process sees every write's version bump."""
    if settings.READ_CACHE_SECONDS <= 0 or settings.REDIS_URL:
        return []
    return [
        checks.Error(
            "READ_CACHE_SECONDS is set without REDIS_URL: each process would cache reads that "
            "another process's writes cannot retire.",
            hint="Set REDIS_URL, or READ_CACHE_SECONDS=0.",
            id="inventory.E002",
        )
    ]


@checks.register(checks.Tags.security, deploy=True)
def key_cache_check(app_configs: Any, **kwargs: Any) -> list[checks.CheckMessage]:
    """A process that remembers keys must hear of every revocation, from every process."""
    if settings.API_KEY_CACHE_SECONDS <= 0 or settings.REDIS_URL:
        return []
    return [
        checks.Error(
            "API_KEY_CACHE_SECONDS is set without REDIS_URL: a key revoked through one process "
            "would still be accepted by the others.",
            hint="Set REDIS_URL, or API_KEY_CACHE_SECONDS=0.",
            id="inventory.E003",
        )
    ]
