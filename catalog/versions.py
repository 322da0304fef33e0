"""The catalog's version: a number that changes, on commit, with every write to what it shows.

Client apps read the catalog far more often than it changes. A read answered with this version
in its ``ETag`` lets a client ask "has anything changed?" (``If-None-Match``) and get 304
without a query, and lets the API keep rendered answers in the shared cache for as long as the
version stands (see ``inventory_project.api.caching``).

One version for the whole catalog: a product list embeds every variant's stock, so a sale
anywhere changes some page. Coarse, but it cannot miss a change.

Every door bumps it: the model signals catch every ``save()`` and ``delete()`` of a product or
a variant (the services, the admin); the writes that bypass them (the stock service's single
UPDATE, the CSV import's bulk statements) call ``catalog_changed`` themselves, and so does
``migrate``. A change made outside the application (SQL by hand) needs
``manage.py catalog_changed``.

The version lives in the cache, so it is shared only when the cache is (Redis). It starts from
the clock (nanoseconds) and counts up, so a version lost with Redis's memory is never reissued.
"""

import logging
import time
from typing import Any

from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.db import transaction

logger = logging.getLogger(__name__)

VERSION_KEY = "catalog:version"


def current() -> int:
    """The catalog's version now (the cache's; started from the clock if it has none)."""
    version = cache.get(VERSION_KEY)
    if version is None:
        cache.add(VERSION_KEY, time.time_ns(), timeout=None)
        version = cache.get(VERSION_KEY)
    return int(version)


def _bump() -> None:
    try:
        backend = caches["default"]
        if isinstance(backend, RedisCache):
            _bump_in_redis(backend)
        else:
            try:
                cache.incr(VERSION_KEY)
            except ValueError:  # no version yet (or it was evicted): start one
                cache.add(VERSION_KEY, time.time_ns(), timeout=None)
    except Exception:
        # The write has committed; failing its request now would only make the client retry
        # it. Until the next write succeeds in bumping, cached reads may be stale: say so.
        logger.exception("catalog version not bumped: cached reads may be stale until next write")


def _bump_in_redis(backend: RedisCache) -> None:
    """Start the version from the clock if it is missing, and count it up: one round trip.
    (Django's ``incr`` takes two, EXISTS then INCRBY, on every write that commits.) The client
    is the cache's own, so the same server, database and timeouts; Django stores an integer
    as its digits, which is what INCR counts on."""
    key = backend.make_and_validate_key(VERSION_KEY)
    client = backend._cache.get_client(key, write=True)  # type: ignore[attr-defined]  # private
    pipeline = client.pipeline(transaction=False)
    pipeline.set(key, time.time_ns(), nx=True)
    pipeline.incr(key)
    pipeline.execute()


def catalog_changed(**_: Any) -> None:
    """Record that the current transaction changes what the catalog shows: the version is
    bumped once it commits (at once outside a transaction). Once per transaction."""
    connection = transaction.get_connection()
    if any(callback is _bump for _, callback, _ in connection.run_on_commit):
        return
    transaction.on_commit(_bump)
