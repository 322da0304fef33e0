"""Request ids and the access log.

Every response carries ``X-Request-ID``, and every log line written while a request is served
names it and its actor, so an error a client reports can be found in the logs. Every request
writes one access line: method, path, status, duration and caller (a key's name or a user's
username, never a credential).
"""

import logging
import time
from collections.abc import Callable
from contextvars import ContextVar

from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve

from core.actors import current_actor, user_actor
from core.server.access import REQUEST_ID_HEADER, log_access
from core.server.access import request_id as new_request_id

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = new_request_id(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = request_id  # type: ignore[attr-defined]
        request_id_token = request_id_var.set(request_id)
        actor_token = current_actor.set(None)
        try:
            response = self.get_response(request)
        finally:
            current_actor.reset(actor_token)
            request_id_var.reset(request_id_token)
        response[REQUEST_ID_HEADER] = request_id
        return response


class ApiTrailingSlashMiddleware:
    """Every API route answers with and without its trailing slash.

    ``/api/v1/products`` is served as ``/api/v1/products/``, in place: Django's ``APPEND_SLASH``
    would redirect instead, and a client that follows a redirect of a POST loses its body (or
    turns it into a GET). Only paths under ``/api/`` that name no route as written and name one
    with a slash are rewritten, so the slash-less address of an unknown route still answers 404.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if (
            (path == "/api" or path.startswith("/api/"))
            and not path.endswith("/")
            and _names_no_route(path)
        ):
            with_slash = f"{path}/"
            if not _names_no_route(with_slash):
                request.path_info = with_slash
                request.path = f"{request.path}/"
        return self.get_response(request)


def _names_no_route(path: str) -> bool:
    """Whether ``path`` reaches only the catch-all that answers 404 under /api/."""
    try:
        return resolve(path).url_name == "api-not-found"
    except Resolver404:
        return True


class HealthCheckMiddleware:
    """Answers ``/healthz`` and ``/readyz`` whatever the ``Host`` header, before anything that
    validates it.

    Orchestrators and load balancers call an instance by its address (``127.0.0.1`` in Docker's
    HEALTHCHECK, a container's IP from a proxy), not by a name in ``DJANGO_ALLOWED_HOSTS``, so
    Django's host check would refuse them (400) and the instance would never be healthy. These
    two answers use nothing of the host (no redirect, no absolute URL, no cookie, no cache), so
    answering every host opens nothing; every other path still goes through the whole stack and
    its host check (``CommonMiddleware`` calls ``get_host()`` on every request).

    After the request id and the access log (health checks are logged like any request), before
    ``SecurityMiddleware``: its HTTPS redirect would call ``get_host()`` too, and the probes come
    over plain HTTP from inside the network (the production settings also exempt both paths from
    the redirect, for the same reason).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        # Imported here: the logging configuration imports this module before the apps load.
        from core.api.views import healthz, readyz

        self.checks: dict[str, Callable[[HttpRequest], HttpResponse]] = {
            "/healthz": healthz,
            "/readyz": readyz,
        }

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # The exact paths the URLconf routes to these views (path_info, as URL resolution uses).
        check = self.checks.get(request.path_info)
        if check is not None:
            return check(request)
        return self.get_response(request)


class AccessLogMiddleware:
    """One line per request, written by the ``inventory_project.access`` logger (as JSON in
    production; see LOGGING). Inside RequestIdMiddleware, so the line has the request's id."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        log_access(
            method=request.method or "",
            path=request.path,
            status=response.status_code,
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
            caller=caller(request),
            request_id=getattr(request, "request_id", request_id_var.get()),
        )
        return response


def caller(request: HttpRequest) -> str:
    """Who made the request: the actor authentication recorded (an API key's name or a user);
    "-" when anonymous."""
    return str(current_actor.get() or "-")


class SessionActorMiddleware:
    """Names a signed-in user as the actor of requests outside the API (the admin), so that
    every log line written while serving them, and the access line, say who it was.

    Under /api/ the API's authentication names the caller (a key, or a session user for the
    browsable API); loading the session's user here would cost a key's requests a query when a
    browser sends a cookie too. After ``AuthenticationMiddleware``; the admin loads the user on
    every page anyway, so this costs it nothing.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith("/api/"):
            user = request.user
            if user.is_authenticated:
                current_actor.set(user_actor(user))
        return self.get_response(request)


class RequestIdLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        # Django's request logger writes after the middleware is done; the request says it then.
        # A line written before Django (core.server) names its own.
        request = getattr(record, "request", None)
        record.request_id = (
            getattr(record, "request_id", None)
            or getattr(request, "request_id", None)
            or request_id_var.get()
        )
        record.actor = str(current_actor.get() or "-")
        return True
