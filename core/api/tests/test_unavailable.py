"""A database that cannot be reached answers 503 with ``Retry-After`` wherever the error rises:
in an API view, in a middleware, in a plain Django view or the admin's session read; a real bug
still answers 500. (``inventory_project/tests/test_outage.py`` proves it against a PostgreSQL
server really stopped under load.)"""

from collections.abc import Callable

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.db import InterfaceError, OperationalError, ProgrammingError
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path

from inventory_project import urls as project_urls

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]

CONNECTION_LOST = OperationalError("server closed the connection unexpectedly")


def _raises(error: Exception) -> Callable[[HttpRequest], HttpResponse]:
    def view(request: HttpRequest) -> HttpResponse:
        raise error

    return view


# The project's addresses, and plain Django views under /api/ that fail the way a view can.
urlpatterns = [
    path("api/plain/unreachable/", _raises(CONNECTION_LOST)),
    path("api/plain/closed/", _raises(InterfaceError("connection already closed"))),
    path("api/plain/bad-sql/", _raises(ProgrammingError('relation "nope" does not exist'))),
    path("api/plain/bug/", _raises(RuntimeError("a bug"))),
    *project_urls.urlpatterns,
]
handler500 = project_urls.handler500


class LoseTheDatabase:
    """A middleware whose database query fails when the request asks it to."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "X-Lose-Database" in request.headers:
            raise CONNECTION_LOST
        return self.get_response(request)


@pytest.fixture
def client() -> Client:
    # Answer as a server does rather than re-raise the view's error into the test.
    return Client(raise_request_exception=False)


def assert_unavailable(response):
    assert response.status_code == 503, response.content
    assert response["Retry-After"] == "5"
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "service_unavailable"


@pytest.mark.parametrize("address", ["/api/plain/unreachable/", "/api/plain/closed/"])
def test_a_plain_view_under_api_that_loses_the_database_answers_503(client, address):
    assert_unavailable(client.get(address))


@pytest.mark.parametrize("address", ["/api/plain/bad-sql/", "/api/plain/bug/"])
def test_a_real_bug_still_answers_500(client, address):
    response = client.get(address)
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "server_error"
    assert "Retry-After" not in response


def test_a_middleware_that_loses_the_database_answers_503(client, settings, make_key):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, f"{__name__}.LoseTheDatabase"]
    headers = {"Authorization": f"Api-Key {make_key()}", "X-Lose-Database": "1"}
    # The client builds its middleware at its first request, from the settings of then.
    assert_unavailable(client.get("/api/v1/products/", headers=headers))


@pytest.fixture
def session_lost(client, monkeypatch):
    """A browser with a session cookie whose session the database cannot read."""

    def unreachable(self: SessionStore) -> None:
        raise CONNECTION_LOST

    monkeypatch.setattr(SessionStore, "_get_session_from_db", unreachable)
    client.cookies["sessionid"] = "x" * 32
    return client


def test_a_session_read_that_loses_the_database_answers_503_in_the_api(session_lost):
    assert_unavailable(session_lost.get("/api/v1/products/"))


def test_the_admin_answers_503_when_it_cannot_read_the_session(session_lost):
    response = session_lost.get("/admin/")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response["Content-Type"] == "text/plain; charset=utf-8"
