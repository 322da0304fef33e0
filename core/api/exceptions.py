"""One error envelope for every error the API returns.

    {"error": {"code": "<stable machine code>", "message": "<human text>", "details": ... | null}}

DRF calls ``exception_handler`` for everything a view raises; Django's 404 and 500 handlers use
``error_response`` for the paths under /api/ that never reach a view. Whatever the error, the
transaction of the request is rolled back first.
"""

import logging
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError, InterfaceError, OperationalError
from django.db.models import ProtectedError, RestrictedError
from django.http import Http404, HttpRequest, HttpResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import set_rollback

from core.api.authentication import wrong_scheme_message
from core.api.parsers import PayloadTooLarge
from core.api.renderers import json_response
from core.exceptions import ApplicationError, Conflict, Protected

logger = logging.getLogger("core.api")


class ServiceUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The service is temporarily unavailable; retry later."
    default_code = "service_unavailable"


# DRF's exception classes and the stable code each one answers with.
_DRF_CODES: list[tuple[type[exceptions.APIException], str]] = [
    (exceptions.ValidationError, "validation_error"),
    (exceptions.ParseError, "parse_error"),
    (exceptions.NotAuthenticated, "not_authenticated"),
    (exceptions.AuthenticationFailed, "authentication_failed"),
    (exceptions.PermissionDenied, "permission_denied"),
    (exceptions.NotFound, "not_found"),
    (exceptions.MethodNotAllowed, "method_not_allowed"),
    (exceptions.NotAcceptable, "not_acceptable"),
    (exceptions.UnsupportedMediaType, "unsupported_media_type"),
    (exceptions.Throttled, "throttled"),
    (PayloadTooLarge, "payload_too_large"),
    (ServiceUnavailable, "service_unavailable"),
]

# How long a client should wait before retrying when the database is unreachable, in seconds.
RETRY_AFTER_UNAVAILABLE = 5


def envelope(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


def error_response(
    request: HttpRequest, status_code: int, code: str, message: str, details: Any = None
) -> HttpResponse:
    """The envelope as a plain Django response, for errors raised outside DRF's views."""
    return json_response(envelope(code, message, details), status=status_code)


def _code_for(exc: exceptions.APIException) -> str:
    for exc_class, code in _DRF_CODES:
        if isinstance(exc, exc_class):
            return code
    return exc.default_code if isinstance(exc.default_code, str) else "error"


def _constraint_name(error: IntegrityError) -> str | None:
    """The name of the constraint a write broke, when the database says it."""
    diag = getattr(error.__cause__, "diag", None)  # psycopg
    if diag is not None and diag.constraint_name:
        return str(diag.constraint_name)
    message = str(error)  # SQLite: "CHECK constraint failed: <name>"
    return message.split(": ", 1)[1] if message.startswith("CHECK constraint failed: ") else None


def _is_check_violation(error: IntegrityError) -> bool:
    sqlstate = getattr(error.__cause__, "sqlstate", None)
    return sqlstate == "23514" or str(error).startswith("CHECK constraint failed")


def _translate(exc: Exception) -> Exception:
    """Turn Django's and the database's exceptions into DRF or domain ones."""
    if isinstance(exc, Http404 | ObjectDoesNotExist):
        # Also a row that a concurrent request deleted while this one worked on it.
        return exceptions.NotFound(*exc.args)
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied()
    if isinstance(exc, DjangoValidationError):
        return exceptions.ValidationError(as_serializer_error(exc))
    if isinstance(exc, RequestDataTooBig):
        return PayloadTooLarge()
    if isinstance(exc, SuspiciousOperation):
        # Too many fields or files, a malformed Host header and the like.
        return exceptions.ParseError(str(exc) or "The request is malformed.")
    if isinstance(exc, ProtectedError | RestrictedError):
        return Protected()
    if isinstance(exc, IntegrityError):
        name = _constraint_name(exc)
        details = {"constraint": name} if name else None
        if _is_check_violation(exc):
            # A value that the validation let through but the database refuses: still bad input.
            return exceptions.ValidationError(
                {"non_field_errors": [f"The data breaks the rule {name or 'of the catalog'}."]}
            )
        # Unique and foreign keys: a concurrent write took the value or removed the row.
        return Conflict(details=details)
    if isinstance(exc, DataError):
        # A value the validation let through but the column cannot hold (out of range, too
        # long): bad input, not an outage. Logged, since validation should have caught it.
        logger.warning("database refused a value: %s", exc)
        return exceptions.ValidationError(
            {"non_field_errors": ["A value is out of the range the database can store."]}
        )
    if isinstance(exc, OperationalError | InterfaceError):
        return ServiceUnavailable()
    return exc


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    # Services run in their own transactions, which the exception already rolled back; this
    # also rolls back the request's transaction when ATOMIC_REQUESTS is on.
    set_rollback()
    error = _translate(exc)
    request = context.get("request")
    if isinstance(error, exceptions.NotAuthenticated) and request is not None:
        # Credentials of another kind than an API key: say which kind this API takes.
        message = wrong_scheme_message(request)
        if message is not None:
            failed = exceptions.AuthenticationFailed(message)
            failed.auth_header = getattr(error, "auth_header", None)  # type: ignore[attr-defined]
            error = failed

    if isinstance(error, ApplicationError):
        retry = {"Retry-After": str(error.retry_after)} if error.retry_after is not None else None
        return Response(
            envelope(error.code, error.message, error.details),
            status=error.status_code,
            headers=retry,
        )

    if not isinstance(error, exceptions.APIException):
        logger.error("unhandled error in an API view", exc_info=exc)
        return _logged(
            Response(
                envelope("server_error", "An unexpected error occurred; it has been logged."),
                status=status.HTTP_500_INTERNAL_SERVER_ERROR,
            )
        )

    headers: dict[str, str] = {}
    wait = getattr(error, "wait", None) if isinstance(error, exceptions.Throttled) else None
    if wait is not None:
        headers["Retry-After"] = str(int(wait))
    # Set by DRF's view on 401s, from the first authenticator (the API key's challenge).
    challenge = getattr(error, "auth_header", None)
    if challenge:
        headers["WWW-Authenticate"] = challenge
    if isinstance(error, exceptions.ValidationError):
        message = "The request is not valid; see details for the fields at fault."
        details: Any = error.detail
    elif isinstance(error, exceptions.UnsupportedMediaType):
        message = f"{error.detail} The API reads JSON: send Content-Type: application/json."
        details = None
    else:
        message = str(error.detail)
        details = None
    response = Response(
        envelope(_code_for(error), message, details), status=error.status_code, headers=headers
    )
    if isinstance(error, ServiceUnavailable):
        response["Retry-After"] = str(RETRY_AFTER_UNAVAILABLE)
        logger.error("database unavailable", exc_info=exc)
        return _logged(response)
    return response


def _logged(response: Response) -> Response:
    """Mark a response whose error the handler logged with its traceback, so that Django's
    request logger does not log it a second time."""
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response
