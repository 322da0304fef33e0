"""Version numbers in the shared cache that change, on commit, with every write to what they
cover. What is kept between requests (rendered catalog reads, API keys remembered by each
process) is kept next to the version it was read at, and used only while that version stands.

A version lives in the cache, so it is shared only when the cache is (Redis). It starts from
the clock (nanoseconds) and counts up, so a version lost with Redis's memory is never reissued.
"""

import logging
import time
from typing import Any

from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.db import transaction

from core import shortcuts

logger = logging.getLogger(__name__)


class Version:
    def __init__(self, key: str, *, name: str) -> None:
        self.key = key
        self.name = name
        # (the cache, its Redis client, this version's key in it), made once per cache.
        self._redis: tuple[RedisCache, Any, str] | None = None

    def current(self) -> int:
        """The version now (the cache's; started from the clock if it has none)."""
        in_redis = self.in_redis() if shortcuts.on("redis-version") else None
        if in_redis is not None:
            client, key = in_redis
            version = client.get(key)
            if version is None:
                client.set(key, time.time_ns(), nx=True)
                version = client.get(key)
            return int(version)
        version = cache.get(self.key)
        if version is None:
            cache.add(self.key, time.time_ns(), timeout=None)
            version = cache.get(self.key)
        return int(version)

    def changed(self, **_: Any) -> None:
        """Record that the current transaction changes what the version covers: it is bumped
        once the transaction commits (at once outside a transaction), once per transaction."""
        connection = transaction.get_connection()
        if any(callback == self.bump for _, callback, _ in connection.run_on_commit):
            return
        transaction.on_commit(self.bump)

    def bump(self) -> None:
        try:
            in_redis = self.in_redis() if shortcuts.on("redis-version") else None
            if in_redis is not None:
                # Start from the clock if missing, and count up: one round trip.
                client, key = in_redis
                pipeline = client.pipeline(transaction=False)
                pipeline.set(key, time.time_ns(), nx=True)
                pipeline.incr(key)
                pipeline.execute()
            else:
                try:
                    cache.incr(self.key)
                except ValueError:  # no version yet (or it was evicted): start one
                    cache.add(self.key, time.time_ns(), timeout=None)
        except Exception:
            # The write has committed; failing its request now would only make the client
            # retry it. Until the next write succeeds in bumping, what was kept at the old
            # version may be used: say so.
            logger.exception(
                "%s not bumped: what was kept may be stale until next write", self.name
            )

    def in_redis(self) -> tuple[Any, str] | None:
        """The Redis client and key of this version when the cache is Redis, else None.

        Django's cache API costs about twice what the command does: each call builds a new
        client, and ``incr`` takes two round trips. The version is read on every request, so
        it talks to Redis directly, with the cache's own connection pool (its server,
        database and timeouts) and always its primary: a replica could lag behind a bump.
        Django stores an integer as its digits, which is what GET parses and INCR counts on.
        """
        # docs/private-internals.md#redis-version
        backend = caches["default"]
        if not isinstance(backend, RedisCache):
            return None
        memo = self._redis
        if memo is None or memo[0] is not backend:
            key = backend.make_and_validate_key(self.key)
            client = backend._cache.get_client(key, write=True)  # type: ignore[attr-defined]  # private
            memo = self._redis = (backend, client, key)
        return memo[1], memo[2]
