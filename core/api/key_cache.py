"""API keys remembered by each process between requests.

Every API request names its key, and finding it is a query: on a product detail, one of three,
and about a sixth of the request's time. With Redis, each process remembers the keys it has
found next to the keys' version (``core.versions``), read before the database as
the catalog's is. Any save or delete of a key (created, revoked, renamed, scopes or expiry
changed, deleted; through the services, the admin or a command) bumps the version on commit,
and every process then looks its keys up again: a revoked key is refused by every process from
the next request on. Expiry needs no bump: it is checked on every request.

A request with a remembered key reads the version (one round trip to Redis, through Django's
cache) instead of the key's row (a query). Checking the version in the round trip that counts
the request's budget saved about 6% of a product detail's throughput, measured side by side:
not enough for the private parts it reached into, so it went (docs/private-internals.md).

What no bump announces is seen within ``API_KEY_CACHE_SECONDS``, after which a remembered key is
looked up again in any case: a key changed by SQL by hand, or a bump that failed because Redis
was unreachable at that moment (logged as an error). Without Redis nothing is remembered: a
process could not hear of another's revocation.
"""

import copy
import time

from django.conf import settings
from rest_framework.request import Request

from core import shortcuts
from core.api.models import ApiKey
from core.api.throttling import CACHE_ERRORS
from core.versions import Version

KEYS_VERSION = Version("api:keys:version", name="API keys version")
# Keys are few (one per client app); this only bounds what a flood of valid keys could hold.
MAX_REMEMBERED = 10_000

# hashed key -> (the key as read, the keys' version read before it, when it was read)
_remembered: dict[str, tuple[ApiKey, int, float]] = {}


def api_key_find(request: Request, hashed_key: str) -> ApiKey | None:
    """The key with this digest, remembered if the keys' version has not moved since."""
    # docs/private-internals.md#key-cache
    if settings.API_KEY_CACHE_SECONDS <= 0 or not shortcuts.on("key-cache"):
        return ApiKey.objects.by_digest(hashed_key)
    try:
        version = KEYS_VERSION.current()
    except CACHE_ERRORS:  # the cache is down: nothing can be trusted from memory
        return ApiKey.objects.by_digest(hashed_key)
    now = time.monotonic()
    entry = _remembered.get(hashed_key)
    if (
        entry is not None
        and entry[1] == version
        and now - entry[2] < settings.API_KEY_CACHE_SECONDS
    ):
        # A copy: whatever a request does to its key stays with that request.
        return copy.copy(entry[0])
    api_key = ApiKey.objects.by_digest(hashed_key)
    if api_key is None:  # unknown keys are not remembered: guesses would fill the memory
        _remembered.pop(hashed_key, None)
        return None
    if len(_remembered) >= MAX_REMEMBERED:
        _remembered.clear()
    _remembered[hashed_key] = (api_key, version, now)
    return copy.copy(api_key)


def forget_all() -> None:
    """Drop what this process remembers (tests)."""
    _remembered.clear()
