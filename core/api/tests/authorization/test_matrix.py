"""Every endpoint against every kind of caller: the status, the error envelope's code, and a
database that a refusal (or a read) left exactly as it was; and the matrix covers every
route of the API."""

from typing import NamedTuple

import pytest
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, resolve

from core.api.tests.authorization.access import (
    ACCESS,
    OK,
    REFUSAL_CODES,
    RULES,
    SAFE_METHODS,
    UNAUTHENTICATED,
)
from core.api.tests.authorization.endpoints import ENDPOINTS, Endpoint
from core.api.tests.authorization.support import CALLERS, World, database_state, make_caller

pytestmark = pytest.mark.django_db


class Outcome(NamedTuple):
    status: int
    code: str | None  # the error envelope's code, for a refusal
    message: str | None  # the envelope's message, for a refused authentication
    wrote: bool  # whether the database changed


def expected_outcome(endpoint: Endpoint, caller: str) -> Outcome:
    rule = ACCESS[caller][RULES.index(endpoint.rule)]
    status = endpoint.ok if rule == OK else int(rule)
    if status == 401:
        return Outcome(401, UNAUTHENTICATED[caller][0], UNAUTHENTICATED[caller][1], wrote=False)
    return Outcome(
        status,
        code=REFUSAL_CODES.get(status),
        message=None,
        wrote=status < 300 and endpoint.method not in SAFE_METHODS,
    )


def call(caller: str, endpoint: Endpoint, world: World) -> Outcome:
    """Call the endpoint as the caller, inside a savepoint rolled back afterwards, so that every
    caller meets the same world."""
    with transaction.atomic():
        client = make_caller(caller, world)
        before = database_state()
        send = getattr(client, endpoint.method)
        if endpoint.body is None:
            response = send(endpoint.path(world))
        else:
            response = send(endpoint.path(world), endpoint.body(world), format="json")
        wrote = database_state() != before
        transaction.set_rollback(True)

    if response.status_code < 400:
        return Outcome(response.status_code, code=None, message=None, wrote=wrote)
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"}, (caller, error)
    if response.status_code == 401:
        assert response["WWW-Authenticate"] == "Api-Key", caller
        return Outcome(401, error["code"], error["message"], wrote)
    return Outcome(response.status_code, error["code"], message=None, wrote=wrote)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[endpoint.name for endpoint in ENDPOINTS])
def test_each_caller_gets_exactly_what_it_should(world, endpoint):
    # Given the same world for every caller; when each calls the endpoint
    actual = {caller: call(caller, endpoint, world) for caller in ACCESS}

    # Then each gets the status and error code of the table; refusals and reads change nothing
    assert actual == {caller: expected_outcome(endpoint, caller) for caller in ACCESS}


def test_the_table_is_complete():
    assert set(CALLERS) == set(ACCESS)
    assert set(UNAUTHENTICATED) == {caller for caller, row in ACCESS.items() if 401 in row}
    assert all(len(row) == len(RULES) for row in ACCESS.values())
    assert {endpoint.rule for endpoint in ENDPOINTS} == set(RULES)


def _api_routes() -> set[tuple[str, str]]:
    """``(method, url name)`` of every route under /api/v1/, viewsets' and plain views'."""
    routes: set[tuple[str, str]] = set()
    for include in get_resolver().url_patterns:
        if not isinstance(include, URLResolver) or str(include.pattern) != "api/v1/":
            continue
        for url in include.url_patterns:
            assert isinstance(url, URLPattern)
            actions = getattr(url.callback, "actions", None)
            if actions is None:
                view_class = url.callback.view_class  # type: ignore[attr-defined]  # as_view() sets it
                methods = {
                    m for m in ("get", "post", "put", "patch", "delete") if hasattr(view_class, m)
                }
            else:
                methods = set(actions) - {"head"}
            routes |= {(method, str(url.name)) for method in methods}
    return routes


def test_the_matrix_covers_every_route_of_the_api(world):
    """A new endpoint or action must join the matrix: every route under /api/v1/ is in it."""
    routes = _api_routes()
    covered = {(endpoint.method, resolve(endpoint.path(world)).url_name) for endpoint in ENDPOINTS}

    assert {("post", "order-returns"), ("get", "report-sales")} <= routes  # the routes were read
    assert routes - covered == set()
