"""Health checks, the indexes that point a newcomer to the resources and the docs, the schema,
and the API's answers for requests that never reach an API view."""

import logging
import sys

from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.csrf import csrf_failure as default_csrf_failure
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.defaults import bad_request, page_not_found, permission_denied, server_error
from drf_spectacular.renderers import (
    OpenApiJsonRenderer,
    OpenApiJsonRenderer2,
    OpenApiYamlRenderer,
    OpenApiYamlRenderer2,
)
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.exceptions import (
    RETRY_AFTER_UNAVAILABLE,
    ServiceUnavailable,
    error_response,
)
from core.api.mixins import StrictRequestMixin
from core.api.renderers import JSONRenderer, json_response

logger = logging.getLogger("core.api")


class _YamlRenderer(OpenApiYamlRenderer):
    media_type = "application/x-yaml"


class _TextYamlRenderer(OpenApiYamlRenderer):
    media_type = "text/yaml"


class SchemaView(StrictRequestMixin, SpectacularAPIView):
    """The OpenAPI document, in the format a client generator, a Postman import or a CI validator
    asks for: JSON for ``application/json``, the OpenAPI JSON type or ``?format=json`` (also the
    default, for ``*/*``); YAML for ``?format=yaml`` and the YAML types. Errors are the API's
    JSON envelope, whatever format was asked for."""

    # drf-spectacular's: the schema in a language, of a version.
    query_parameters = frozenset({"lang", "version"})
    renderer_classes = [
        OpenApiJsonRenderer,
        OpenApiJsonRenderer2,
        OpenApiYamlRenderer,
        OpenApiYamlRenderer2,
        _YamlRenderer,
        _TextYamlRenderer,
    ]

    def finalize_response(
        self, request: Request, response: Response, *args: object, **kwargs: object
    ) -> Response:
        if response.status_code >= 400:
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)


# The API's resources by name, each with the route of its list (or of the report).
V1_RESOURCES = {
    "products": "product-list",
    "variants": "variant-list",
    "stock-movements": "stock-movement-list",
    "stock-levels": "stock-level-list",
    "locations": "location-list",
    "transfers": "transfer-list",
    "counts": "count-list",
    "replenishment": "replenishment",
    "orders": "order-list",
    "reports/stock-value": "report-stock-value",
    "reports/sales": "report-sales",
    "webhooks": "webhook-list",
    "events": "event-list",
}


def _links(request: HttpRequest, routes: dict[str, str]) -> dict[str, str]:
    return {name: request.build_absolute_uri(reverse(route)) for name, route in routes.items()}


class _IndexView(StrictRequestMixin, APIView):
    """A public page of links: no credentials needed, nothing but addresses in it."""

    permission_classes = [AllowAny]
    authentication_classes: list[type] = []
    routes: dict[str, str]

    @extend_schema(exclude=True)
    def get(self, request: Request) -> Response:
        return Response(_links(request, self.routes))


class ApiIndexView(_IndexView):
    """``/api/`` (and ``/`` for clients that are not browsers): where the API and its docs are."""

    routes = {"v1": "api-v1", "docs": "swagger-ui", "redoc": "redoc", "schema": "schema"}


class ApiV1IndexView(_IndexView):
    """``/api/v1/``: the resources of version 1, each with the address of its list."""

    routes = V1_RESOURCES


def root(request: HttpRequest) -> HttpResponse:
    """``/``: a browser goes to the API's docs; any other client gets the API's index."""
    if "text/html" in request.headers.get("Accept", ""):
        return HttpResponseRedirect(reverse("swagger-ui"))
    return ApiIndexView.as_view()(request)


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """The process is alive and serving; says nothing of the database."""
    return json_response({"status": "ok"})


@never_cache
def readyz(request: HttpRequest) -> HttpResponse:
    """Ready for traffic: the database answers."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        logger.exception("readiness check: database unreachable")
        return _unavailable(request, "The database is unreachable.")
    return json_response({"status": "ok", "database": "ok"})


def _unavailable(request: HttpRequest, message: str) -> HttpResponse:
    """503 with ``Retry-After``: in the envelope under /api/ (and for /readyz), plain text
    elsewhere (the admin)."""
    response: HttpResponse
    if _is_api(request) or request.path == "/readyz":
        response = error_response(request, 503, "service_unavailable", message)
    else:
        response = HttpResponse(message, status=503, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(RETRY_AFTER_UNAVAILABLE)
    return response


@csrf_exempt  # an unknown address answers 404 in the envelope, whatever the method
def api_not_found(request: HttpRequest) -> HttpResponse:
    return error_response(request, 404, "not_found", "No API endpoint at this address.")


def handler400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return error_response(request, 400, "parse_error", "The request is malformed.")
    return bad_request(request, exception)  # type: ignore[arg-type]


def handler403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return error_response(
            request, 403, "permission_denied", "You do not have permission to perform this action."
        )
    return permission_denied(request, exception)  # type: ignore[arg-type]


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A refused CSRF check (session logins only; API keys need none): the envelope under
    /api/, Django's page elsewhere."""
    if _is_api(request):
        return error_response(
            request,
            403,
            "permission_denied",
            f"CSRF check failed: {(reason or 'refused').rstrip('.')}.",
        )
    return default_csrf_failure(request, reason)


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return api_not_found(request)
    return page_not_found(request, exception)


def handler500(request: HttpRequest) -> HttpResponse:
    """Whatever no view answered: an error in a middleware (a session read, say), in a plain
    Django view, or in rendering. Django calls this inside its ``except`` block, so the error is
    at hand: a database that cannot be reached is a 503 to retry, not a bug."""
    if isinstance(sys.exc_info()[1], OperationalError | InterfaceError):
        return _unavailable(request, str(ServiceUnavailable.default_detail))
    if _is_api(request):
        return error_response(
            request, 500, "server_error", "An unexpected error occurred; it has been logged."
        )
    return server_error(request)
