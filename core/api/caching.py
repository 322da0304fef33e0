"""Conditional and cached reads of a versioned resource (the catalog: see catalog/versions.py).

Every answer carries an ``ETag``; a client that sends it back in ``If-None-Match`` gets 304
and no body while nothing has changed. ``Cache-Control: private, no-cache`` tells browsers and
proxies to keep the answer for this client only and to ask again each time.

With a shared cache (``READ_CACHE_SECONDS`` > 0, which needs Redis) the ETag is made from the
resource's version and the request's address, so a 304 costs no query at all, and the rendered
answer is kept in the cache beside the version it was built at: it is served only while that
version stands. The version is read before the database is, so an answer is never filed under
a version newer than its data. Without a shared cache the ETag is a digest of the answer itself:
always right, and it still spares the client the body.

Authentication, permissions and throttling run first, as for any request: a 304 is answered
only to a caller who may read the resource, and counts against its budget.
"""

import functools
import hashlib
import logging
from collections.abc import Callable
from typing import Any, TypeVar, cast

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse, HttpResponseNotModified
from django.utils.http import parse_etags
from rest_framework.request import Request
from rest_framework.response import Response

logger = logging.getLogger(__name__)

CACHE_CONTROL = "private, no-cache"
_ENTRY_PREFIX = "read:"

# A viewset method; the decorated one may answer a plain HttpResponse (cached bytes, 304).
ViewMethod = TypeVar("ViewMethod", bound=Callable[..., Any])


def _digest(*parts: str | bytes) -> str:
    hasher = hashlib.blake2b(digest_size=16)
    for part in parts:
        hasher.update(part.encode() if isinstance(part, str) else part)
        hasher.update(b"\0")
    return hasher.hexdigest()


def _matches(request: Request, etag: str) -> bool:
    header = request.headers.get("If-None-Match")
    if not header:
        return False
    # If-None-Match compares weakly (RFC 9110, 13.1.2).
    candidates = {tag.removeprefix("W/") for tag in parse_etags(header)}
    return "*" in candidates or etag in candidates


def _answer(request: Request, etag: str, content_type: str, body: bytes) -> HttpResponse:
    response: HttpResponse
    if _matches(request, etag):
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(body, content_type=content_type)
    response["ETag"] = etag
    response["Cache-Control"] = CACHE_CONTROL
    return response


def _render(view: Any, request: Request, response: Response) -> tuple[str, bytes]:
    """The bytes DRF would send for this response (its negotiated renderer), and their type."""
    renderer = request.accepted_renderer
    body = renderer.render(response.data, request.accepted_media_type, view.get_renderer_context())
    content_type = renderer.media_type
    if renderer.charset:
        content_type = f"{content_type}; charset={renderer.charset}"
    return content_type, body


def versioned_read(
    version_key: str, current_version: Callable[[], int]
) -> Callable[[ViewMethod], ViewMethod]:
    """Make a viewset's read (``list`` or ``retrieve``) conditional and, with a shared cache,
    cached. ``version_key`` is the cache key of the resource's version; ``current_version``
    reads it, starting one when there is none."""

    def decorate(method: ViewMethod) -> ViewMethod:
        @functools.wraps(method)
        def read(view: Any, request: Request, *args: Any, **kwargs: Any) -> Any:
            # Only the plain JSON answer: the browsable API and indented JSON are for people.
            if request.accepted_media_type != "application/json":
                return method(view, request, *args, **kwargs)
            seconds = settings.READ_CACHE_SECONDS
            if seconds > 0:
                address = request.build_absolute_uri()
                entry_key = _ENTRY_PREFIX + _digest(address)
                try:
                    found = cache.get_many([version_key, entry_key])
                    version = found.get(version_key) or current_version()
                except Exception:
                    # Fail open, as throttling does: the database can still answer.
                    logger.warning("read cache unavailable; answering uncached", exc_info=True)
                    seconds = 0
                else:
                    etag = f'"{_digest(str(version), address)}"'
                    entry = found.get(entry_key)
                    if entry is not None and entry[0] == version:
                        return _answer(request, etag, entry[1], entry[2])
                    if _matches(request, etag):
                        return _answer(request, etag, "", b"")
            response = method(view, request, *args, **kwargs)
            if not isinstance(response, Response) or response.status_code != 200:
                return response
            content_type, body = _render(view, request, response)
            if seconds > 0:
                try:
                    cache.set(entry_key, (version, content_type, body), timeout=seconds)
                except Exception:
                    logger.warning("read cache unavailable; answer not kept", exc_info=True)
            else:
                etag = f'"{_digest(body)}"'
            return _answer(request, etag, content_type, body)

        return cast("ViewMethod", read)

    return decorate
