"""Version numbers in the shared cache that change, on commit, with every write to what they
cover. What is kept between requests (rendered catalog reads, API keys remembered by each
process) is kept next to the version it was read at, and used only while that version stands.

A version lives in the cache, so it is shared only when the cache is (Redis). It starts from
the clock (nanoseconds) and counts up, so a version lost with Redis's memory is never reissued.
"""

import logging
import time
from typing import Any

from django.core.cache import cache
from django.db import transaction

logger = logging.getLogger(__name__)


class Version:
    def __init__(self, key: str, *, name: str) -> None:
        self.key = key
        self.name = name

    def current(self) -> int:
        """The version now (the cache's; started from the clock if it has none)."""
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
