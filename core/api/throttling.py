"""Request budgets per caller, shared by every worker and instance through the cache.

Each API key and each staff user has three budgets: ``read`` (GET, HEAD, OPTIONS), ``write``
(every other method) and ``order`` (placing an order, which a view marks with
``throttle_actions = {"create": "order"}``); anonymous callers share one ``anon`` budget per
address. The rates come from the environment (``THROTTLE_RATE_READ`` and so on).

Counting is a sliding window approximated from two fixed windows, the way large API gateways
count: ``previous * (share of it still in the window) + current``. Each request costs one atomic
``incr`` of the current window's counter and one read of the previous one, in one round trip to
Redis (``REDIS_URL``), so every gunicorn worker on every instance counts into the same numbers.
DRF's own throttles keep a list of timestamps per caller that each worker reads and writes back
whole: a read of 1,200 floats and a write of them per request, and concurrent workers overwrite
each other's counts.

A request with an API key its process remembers (``key_cache``) is counted during
authentication instead, in the same round trip that checks the keys' version
(``ActorRateThrottle.prepay``); ``allow_request`` then judges that count without counting again.
Such a request counts even if its permissions then refuse it.

Without Redis (``REDIS_URL`` unset) the cache is local to each process, so each gunicorn worker
counts on its own; fine for a developer's machine, not for production.
"""

import contextlib
import functools
import ipaddress
import logging
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, cast

import redis
from django.conf import settings
from django.core.cache import cache
from redis.exceptions import RedisError
from rest_framework.exceptions import Throttled
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

if TYPE_CHECKING:
    from rest_framework.views import APIView

from core.api.models import ApiKey

logger = logging.getLogger("core.api")

# What a cache that is down or unreachable raises (and Django's local cache, for a counter it
# evicted between two calls).
CACHE_ERRORS = (RedisError, OSError, ValueError)

_DURATIONS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """``"600/min"`` → ``(600, 60)``: requests allowed per window of so many seconds."""
    count, _, period = rate.partition("/")
    return int(count), _DURATIONS[period[:1]]


class CacheCounter:
    """Counters in Django's cache (the local memory of each process without Redis)."""

    def count(self, current_key: str, previous_key: str, *, ttl: int) -> tuple[int, int]:
        """Add one to ``current_key``; return it and ``previous_key``'s count."""
        # The counter lives two windows: this one, then as the next one's "previous".
        cache.add(current_key, 0, timeout=ttl)
        return cache.incr(current_key), cache.get(previous_key, 0)

    def uncount(self, current_key: str, *, ttl: int) -> None:
        cache.decr(current_key)


class RedisCounter:
    """Counters in Redis, counted in one round trip (INCR, EXPIRE and GET pipelined) where
    Django's cache API would take three."""

    def __init__(self, url: str, prefix: str) -> None:
        self.client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self.prefix = prefix

    def count(self, current_key: str, previous_key: str, *, ttl: int) -> tuple[int, int]:
        pipe = self.client.pipeline(transaction=False)
        pipe.incr(self.prefix + current_key)
        pipe.expire(self.prefix + current_key, ttl)
        pipe.get(self.prefix + previous_key)
        current, _, previous = pipe.execute()
        return int(current), int(previous or 0)

    def uncount(self, current_key: str, *, ttl: int) -> None:
        # With its expiry again: a counter that expired meanwhile must not come back for good.
        pipe = self.client.pipeline(transaction=False)
        pipe.decr(self.prefix + current_key)
        pipe.expire(self.prefix + current_key, ttl)
        pipe.execute()


@functools.cache
def counter() -> CacheCounter | RedisCounter:
    """Redis when REDIS_URL is set (one client per process), the cache otherwise."""
    if settings.REDIS_URL:
        return RedisCounter(settings.REDIS_URL, prefix=f"{settings.CACHE_KEY_PREFIX}:")
    return CacheCounter()


def client_address(request: Any) -> str | None:
    """The client's address: the socket's, or with DJANGO_NUM_PROXIES proxies in front, the one
    they put in X-Forwarded-For. Throttling and the admin's sign-in lockout both count by it."""
    address: str | None = BaseThrottle().get_ident(request)
    if address and ":" in address:
        # One IPv6 subscriber holds a whole /64: counted per address, it would have 2**64
        # budgets (and as many guesses at a password).
        with contextlib.suppress(ValueError):
            return str(ipaddress.ip_network(f"{address.strip()}/64", strict=False))
    return address


@dataclass(frozen=True, slots=True)
class Window:
    """Where one request counts: its budget, the rate, and the two windows' counters."""

    scope: str
    caller: str
    limit: int
    duration: int
    now: float
    current_key: str
    previous_key: str

    @property
    def ttl(self) -> int:
        # The counter lives two windows: this one, then as the next one's "previous".
        return 2 * self.duration


class ActorRateThrottle(BaseThrottle):
    """One budget per caller and kind of request; see the module's docstring."""

    # Read when a request is checked (not at import), so tests and settings overrides apply.
    THROTTLE_RATES: ClassVar[dict[str, str] | None] = None

    def __init__(self) -> None:
        self.wait_seconds: float | None = None

    def rates(self) -> dict[str, str]:
        return self.THROTTLE_RATES or cast("dict[str, str]", api_settings.DEFAULT_THROTTLE_RATES)

    def budget(self, request: Request, view: "APIView") -> tuple[str, str]:
        """``(scope, caller)``: which budget this request spends, and whose."""
        if isinstance(request.auth, ApiKey):
            return self.key_budget(request, view, request.auth)
        if request.user and request.user.is_authenticated:
            return self.scope(request, view), f"user:{request.user.pk}"
        return "anon", f"ip:{client_address(request)}"

    def key_budget(self, request: Request, view: "APIView", api_key: ApiKey) -> tuple[str, str]:
        return self.scope(request, view), f"key:{api_key.pk}"

    @staticmethod
    def scope(request: Request, view: "APIView") -> str:
        actions: dict[str, str] = getattr(view, "throttle_actions", {})
        scope = actions.get(getattr(view, "action", None) or "")
        if scope is None:
            scope = "read" if request.method in SAFE_METHODS else "write"
        return scope

    def allow_request(self, request: Request, view: "APIView") -> bool:
        scope, caller = self.budget(request, view)
        return self.spend(scope, caller)

    def window(self, scope: str, caller: str) -> Window | None:
        """Where a request of ``caller``'s ``scope`` counts now; None when it has no rate."""
        rate = self.rates().get(scope)
        if rate is None:
            return None
        limit, duration = parse_rate(rate)
        now = time.time()
        window = int(now // duration)
        key = f"throttle:{scope}:{caller}:{duration}:"
        return Window(scope, caller, limit, duration, now, key + str(window), key + str(window - 1))

    def spend(self, scope: str, caller: str) -> bool:
        """Count one request against ``caller``'s ``scope`` budget; False when it is spent."""
        window = self.window(scope, caller)
        if window is None:
            return True
        try:
            current, previous = counter().count(
                window.current_key, window.previous_key, ttl=window.ttl
            )
        except CACHE_ERRORS:  # the cache is down: serve rather than refuse everyone
            logger.warning("throttling skipped: the cache is unreachable", exc_info=True)
            return True
        return self.decide(window, current, previous)

    def decide(self, window: Window, current: int, previous: int) -> bool:
        """Whether a request counted as ``current`` in its window (with ``previous`` in the
        one before) is within the limit; if not, take it back and say when to retry."""
        limit, duration = window.limit, window.duration
        elapsed = window.now / duration - int(window.now // duration)  # 0..1 into the window
        weighted = previous * (1 - elapsed) + current
        if weighted <= limit:
            return True
        # A refused request is not served, so it does not count: a client that waits as long as
        # Retry-After says is served then, however often it knocked meanwhile.
        try:
            counter().uncount(window.current_key, ttl=window.ttl)
        except CACHE_ERRORS:
            logger.warning("throttling: the cache is unreachable", exc_info=True)
        # When enough of the previous window has slid out (or, if this window alone is over the
        # limit, when it ends).
        if current <= limit and previous:
            free_at = 1 - (limit - current) / previous
            self.wait_seconds = max(free_at - elapsed, 0) * duration
        else:
            self.wait_seconds = (1 - elapsed) * duration
        return False

    def refuse_failed_authentication(self, request: Request) -> None:
        """Count a failed API key against its address's anonymous budget; raise Throttled once
        that is spent. Authentication runs before throttling in DRF, so without this a caller
        could try keys as fast as the server answers."""
        if not self.spend("anon", f"ip:{client_address(request)}"):
            raise Throttled(wait=self.wait())

    def wait(self) -> float | None:
        # Whole seconds, never 0: "Retry-After: 0" would invite an immediate retry.
        return None if self.wait_seconds is None else max(1, math.ceil(self.wait_seconds))
