"""Addresses a newcomer or a client may write: with or without the trailing slash, the API's
indexes, and the site's root."""

import pytest

from catalog.models import Product
from core.api.models import Scope
from core.api.tests.support import PRODUCT

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(key_client):
    return key_client(*Scope.values)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/products",
        "/api/v1/variants",
        "/api/v1/stock-movements",
        "/api/v1/stock-levels",
        "/api/v1/locations",
        "/api/v1/transfers",
        "/api/v1/orders",
        "/api/v1/reports/stock-value",
        "/api/v1/reports/sales",
        "/api/schema",
    ],
)
def test_every_route_answers_without_its_trailing_slash(client, path):
    without, with_slash = client.get(path), client.get(f"{path}/")
    assert without.status_code == with_slash.status_code == 200
    assert without.content == with_slash.content


def test_a_post_without_the_trailing_slash_keeps_its_body(client, make_product):
    response = client.post("/api/v1/products", PRODUCT)
    assert response.status_code == 201, response.json()
    assert response["Location"] == f"/api/v1/products/{Product.objects.get().pk}/"
    variant = make_product(stock={"S-M": 1}).variants.get()
    response = client.post(
        f"/api/v1/variants/{variant.pk}/adjust", {"delta": 2, "reason": "received"}
    )
    assert response.status_code == 201, response.json()
    assert response.json()["variant"]["quantity"] == 3


def test_a_detail_and_an_action_answer_without_the_slash(client, make_product):
    product = make_product()
    assert client.get(f"/api/v1/products/{product.pk}").json()["id"] == product.pk
    response = client.patch(f"/api/v1/products/{product.pk}", {"color": "Navy"})
    assert response.json()["color"] == "Navy"


@pytest.mark.parametrize("path", ["/api/v1/nothing", "/api/v1/products/1/nothing", "/api/nothing"])
def test_an_unknown_address_without_the_slash_is_still_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("path", ["/api/v1/", "/api/v1"])
def test_the_v1_index_links_every_resource(api_client, path):
    response = api_client.get(path)
    assert response.status_code == 200
    assert response.json() == {
        "products": "http://testserver/api/v1/products/",
        "variants": "http://testserver/api/v1/variants/",
        "stock-movements": "http://testserver/api/v1/stock-movements/",
        "stock-levels": "http://testserver/api/v1/stock-levels/",
        "locations": "http://testserver/api/v1/locations/",
        "transfers": "http://testserver/api/v1/transfers/",
        "counts": "http://testserver/api/v1/counts/",
        "replenishment": "http://testserver/api/v1/replenishment/",
        "orders": "http://testserver/api/v1/orders/",
        "reports/stock-value": "http://testserver/api/v1/reports/stock-value/",
        "reports/sales": "http://testserver/api/v1/reports/sales/",
        "webhooks": "http://testserver/api/v1/webhooks/",
        "events": "http://testserver/api/v1/events/",
    }


def test_the_v1_index_names_every_list_of_the_schema(api_client):
    linked = {
        link.removeprefix("http://testserver")
        for link in api_client.get("/api/v1/").json().values()
    }
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    lists = {path for path in schema["paths"] if "{" not in path}
    assert lists == linked


@pytest.mark.parametrize("path", ["/api/", "/api"])
def test_the_api_index_points_to_the_docs(api_client, path):
    assert api_client.get(path).json() == {
        "v1": "http://testserver/api/v1/",
        "docs": "http://testserver/api/docs/",
        "redoc": "http://testserver/api/redoc/",
        "schema": "http://testserver/api/schema/",
    }


def test_the_root_sends_a_browser_to_the_docs(client):
    response = client.get("/", HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8")
    assert (response.status_code, response["Location"]) == (302, "/api/docs/")


def test_the_root_gives_other_clients_the_api_index(api_client):
    response = api_client.get("/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert response.json()["docs"] == "http://testserver/api/docs/"
