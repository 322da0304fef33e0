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


def _needs_shared_cache(setting: str, check_id: str, otherwise: str) -> list[checks.CheckMessage]:
    """An error when ``setting`` (seconds) is on without Redis: ``otherwise`` says what then."""
    if getattr(settings, setting) <= 0 or settings.REDIS_URL:
        return []
    return [
        checks.Error(
            f"{setting} is set without REDIS_URL: {otherwise}",
            hint=f"Set REDIS_URL, or {setting}=0.",
            id=check_id,
        )
    ]


@checks.register(checks.Tags.caches, deploy=True)
def read_cache_check(app_configs: Any, **kwargs: Any) -> list[checks.CheckMessage]:
    """Cached reads are right only when every process sees every write's version bump."""
    return _needs_shared_cache(
        "READ_CACHE_SECONDS",
        "inventory.E002",
        "each process would cache reads that another process's writes cannot retire.",
    )


@checks.register(checks.Tags.security, deploy=True)
def key_cache_check(app_configs: Any, **kwargs: Any) -> list[checks.CheckMessage]:
    """A process that remembers keys must hear of every revocation, from every process."""
    return _needs_shared_cache(
        "API_KEY_CACHE_SECONDS",
        "inventory.E003",
        "a key revoked through one process would still be accepted by the others.",
    )
