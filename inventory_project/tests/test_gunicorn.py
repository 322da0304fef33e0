"""Real HTTP through gunicorn, started with the Docker image's entry command and production
settings, against the test database."""

import json

import pytest

from catalog.services import VariantSpec, product_create
from inventory_project.actors import system_actor
from inventory_project.api.services import api_key_create
from inventory_project.tests.support import Server, database_url

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def server():
    started = Server(database_url())
    yield started
    started.stop()


def test_the_api_over_real_http(server):
    product_create(
        category="Tees",
        name="Tee",
        color="Black",
        price="29.90",
        collection="FW24",
        variants=[VariantSpec(size="L-XL", quantity=3)],
        actor=system_actor("test"),
    )
    _, raw_key = api_key_create(name="web-shop")

    status, headers, body = server.get(
        "/api/v1/products/?size=L-XL&in_stock=true",
        {"Authorization": f"Api-Key {raw_key}", "X-Request-ID": "http-test-1"},
    )
    assert status == 200
    assert headers["X-Request-ID"] == "http-test-1"
    products = json.loads(body)["results"]
    assert [(p["name"], p["variants"][0]["in_stock"]) for p in products] == [("Tee", True)]

    status, headers, body = server.get("/api/v1/products/")
    assert status == 401
    assert headers["WWW-Authenticate"] == "Api-Key"
    assert json.loads(body)["error"]["code"] == "not_authenticated"

    status, _, body = server.get("/api/v1/unknown/", {"Authorization": f"Api-Key {raw_key}"})
    assert (status, json.loads(body)["error"]["code"]) == (404, "not_found")
    assert server.get("/readyz")[0] == 200


def test_a_database_outage_answers_503_in_the_envelope():
    # Nothing listens on port 1: every connection attempt fails at once.
    server = Server("postgres://postgres@127.0.0.1:1/inventory")
    try:
        status, headers, body = server.get("/readyz")
        assert (status, headers["Retry-After"]) == (503, "5")
        assert json.loads(body)["error"]["code"] == "service_unavailable"

        status, headers, body = server.get(
            "/api/v1/products/", {"Authorization": "Api-Key some.key"}
        )
        assert status == 503
        assert headers["Content-Type"] == "application/json"
        assert json.loads(body)["error"]["code"] == "service_unavailable"
        # The process itself stays alive.
        assert server.get("/healthz")[0] == 200
    finally:
        log = server.stop()
    # The 503s were logged as JSON lines, each with its request id.
    unavailable = [
        entry
        for entry in (json.loads(line) for line in log.splitlines() if line.startswith("{"))
        if entry.get("status") == 503
    ]
    assert len(unavailable) == 2
    assert all(entry["request_id"] not in ("", "-") for entry in unavailable)
