"""``Idempotency-Key``: a client may retry a write and be sure it happens once.

The key is scoped to the caller, the method and the path. It is claimed by inserting its row
in the transaction that makes the write, so the key and the effect commit together or not at
all: a crash never leaves a key without its effect, or an effect without its key.

- A retry with the same key and body replays the stored status and body, with
  ``Idempotent-Replayed: true``, and changes nothing.
- The same key with another body: 422 ``idempotency_key_reused``.
- A duplicate that arrives while the first request is still running waits for it at the
  key's unique index (and then replays its answer); past ``IN_PROGRESS_WAIT`` it gets 409
  ``idempotency_in_progress`` with ``Retry-After``.
- 2xx and 4xx answers are stored; a 5xx rolls back the key too, so a retry can succeed.
- Keys are kept for ``KEY_TTL``; ``manage.py purge_idempotency_keys`` deletes older ones.
"""

import functools
import hashlib
import json
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from django.db import IntegrityError, OperationalError, connection, transaction
from django.http import HttpResponse, HttpResponseBase
from django.utils import timezone
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.models import ApiKey, IdempotencyKey
from core.api.renderers import JSONRenderer
from core.exceptions import ApplicationError
from core.testing import pause_point

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# Headers of the answer that are part of it, stored and replayed with its status and body.
KEPT_HEADERS = ("Location",)
MAX_KEY_LENGTH = 255
_VALID_KEY = re.compile(rf"^[\x20-\x7e]{{1,{MAX_KEY_LENGTH}}}$")
# PostgreSQL's code for a lock wait that ran past lock_timeout.
_LOCK_NOT_AVAILABLE = "55P03"
KEY_TTL = timedelta(hours=24)
IN_PROGRESS_WAIT = timedelta(seconds=5)


class IdempotencyKeyReused(ApplicationError):
    code = "idempotency_key_reused"
    status_code = 422
    default_message = (
        "This Idempotency-Key was used for a different request; use a new key for a new request."
    )


class IdempotencyInProgress(ApplicationError):
    code = "idempotency_in_progress"
    status_code = 409
    default_message = "A request with this Idempotency-Key is still running; retry shortly."
    retry_after = 1


class _NotStored(Exception):
    """Carries a 5xx answer out of the transaction, rolling the key back with it."""

    def __init__(self, response: Response) -> None:
        self.response = response


View = TypeVar("View", bound=Callable[..., Response])


def idempotent(view_method: View) -> View:
    """Make a DRF view method honour ``Idempotency-Key``."""

    @functools.wraps(view_method)
    def wrapper(view: Any, request: Request, *args: Any, **kwargs: Any) -> HttpResponseBase:
        key = request.headers.get(HEADER)
        if key is None:
            return view_method(view, request, *args, **kwargs)
        key = key.strip()
        if not _VALID_KEY.match(key):
            raise ValidationError(
                {HEADER: [f"An {HEADER} is 1 to {MAX_KEY_LENGTH} printable ASCII characters."]}
            )
        scope = {
            "caller": _caller(request),
            "key": key,
            "method": request.method or "",
            "path": request.path[:512],
        }
        fingerprint = _fingerprint(request)
        try:
            with transaction.atomic():
                claimed, earlier = _claim(scope, fingerprint)
                if earlier is not None:
                    return _replay(earlier, fingerprint)
                response = _run(view, view_method, request, *args, **kwargs)
                if response.status_code >= 500:
                    raise _NotStored(response)
                claimed.status_code = response.status_code
                # The bytes the API writes, not a JSON value: PostgreSQL's jsonb would keep the
                # data but reorder its keys, and the replay would not be the same answer.
                claimed.response_body = JSONRenderer().render(response.data).decode()
                claimed.response_headers = {
                    name: response[name] for name in KEPT_HEADERS if response.has_header(name)
                }
                claimed.save(update_fields=["status_code", "response_body", "response_headers"])
        except _NotStored as not_stored:
            return not_stored.response
        # Inert outside tests: lets a test lose the answer after the effect and key committed.
        pause_point("idempotency_stored")
        return response

    wrapper.honours_idempotency_key = True  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def honours_idempotency_key(view_method: Any) -> bool:
    """Whether a view method is wrapped by ``idempotent``."""
    return getattr(view_method, "honours_idempotency_key", False) is True


def _run(
    view: Any, view_method: Callable[..., Response], request: Request, *args: Any, **kwargs: Any
) -> Response:
    """The view's answer, errors included: a 4xx is an answer to store like any other. The
    effect runs in a savepoint, so an error undoes it and leaves the key's claim in place."""
    try:
        with transaction.atomic():
            return view_method(view, request, *args, **kwargs)
    except Exception as error:  # every error becomes the answer DRF would give
        response: Response = view.handle_exception(error)
        # The handler may mark the transaction for rollback (with ATOMIC_REQUESTS); the
        # effect's savepoint is already undone, and the key must stay to replay this answer.
        transaction.set_rollback(False)
        return response


def _claim(scope: dict[str, str], fingerprint: str) -> tuple[IdempotencyKey, IdempotencyKey | None]:
    """Insert the key's row, or find the earlier request's. Returns ``(claimed, earlier)``."""
    if connection.vendor == "postgresql":
        # A concurrent request with the same key holds its row uncommitted; wait for it to
        # finish, but not forever. (On SQLite, writers already wait their turn to begin.)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SET LOCAL lock_timeout = '{int(IN_PROGRESS_WAIT.total_seconds() * 1000)}ms'"
            )
    try:
        for _ in range(3):
            try:
                with transaction.atomic():
                    return IdempotencyKey.objects.create(**scope, fingerprint=fingerprint), None
            except IntegrityError:
                earlier = IdempotencyKey.objects.filter(**scope).first()
                if earlier is None:
                    continue  # purged between our insert and our look: claim it again
                if earlier.created_at >= timezone.now() - KEY_TTL:
                    return earlier, earlier
                # Expired but not yet purged: it no longer counts.
                IdempotencyKey.objects.filter(pk=earlier.pk).delete()
        raise IdempotencyInProgress()
    except OperationalError as error:
        if getattr(error.__cause__, "sqlstate", None) == _LOCK_NOT_AVAILABLE:
            raise IdempotencyInProgress() from error
        raise
    finally:
        if connection.vendor == "postgresql" and not connection.needs_rollback:
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = DEFAULT")


def _replay(earlier: IdempotencyKey, fingerprint: str) -> HttpResponse:
    """The stored answer, byte for byte (not negotiated again into another format)."""
    if earlier.fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    response = HttpResponse(
        earlier.response_body or "",
        status=earlier.status_code or 200,
        content_type=JSONRenderer.media_type,
    )
    for name, value in (earlier.response_headers or {}).items():
        response[name] = value
    response[REPLAYED_HEADER] = "true"
    return response


def _caller(request: Request) -> str:
    if isinstance(request.auth, ApiKey):
        return f"api_key:{request.auth.pk}"
    return f"user:{request.user.pk}"


def _fingerprint(request: Request) -> str:
    body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
    query = request.META.get("QUERY_STRING", "")
    return hashlib.sha256(f"{query}\n{body}".encode()).hexdigest()
