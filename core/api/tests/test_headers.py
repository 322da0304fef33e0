"""Headers that are part of the contract: Location on every 201, Idempotency-Key honoured by
every POST that creates and refused where nothing honours it."""

import pytest

from catalog.models import Product, Variant
from core.api.models import Scope
from core.api.tests.support import ORDERS, PRODUCT, PRODUCTS, VARIANTS, assert_invalid
from orders.models import Order
from stock.models import StockMovement

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(key_client):
    return key_client(*Scope.values)


@pytest.fixture
def variant(make_product):
    return make_product(stock={"S-M": 5}).variants.get()


def _creations(client, variant):
    """Each POST that answers 201, with how to find what it made."""
    order = client.post(ORDERS, {"lines": [{"variant": variant.pk, "quantity": 1}]}).json()
    for action in ("pay", "fulfil"):
        client.post(f"{ORDERS}{order['id']}/{action}/")
    line = order["lines"][0]["id"]
    return [
        (PRODUCTS, PRODUCT, lambda body: f"{PRODUCTS}{body['id']}/"),
        (VARIANTS, {"product": variant.product_id, "size": "L-XL"}, lambda body: f"{VARIANTS}{body['id']}/"),
        (f"{VARIANTS}{variant.pk}/adjust/", {"delta": 1, "reason": "received"}, lambda body: f"/api/v1/stock-movements/{body['movement']['id']}/"),
        (f"{VARIANTS}{variant.pk}/count/", {"quantity": 9}, lambda body: f"/api/v1/stock-movements/{body['movement']['id']}/"),
        (ORDERS, {"lines": [{"variant": variant.pk, "quantity": 1}]}, lambda body: f"{ORDERS}{body['id']}/"),
        (f"{ORDERS}{order['id']}/returns/", {"lines": [{"line": line, "quantity": 1}]}, lambda body: f"{ORDERS}{order['id']}/"),
    ]  # fmt: skip


def test_every_201_says_where_the_new_resource_is(client, variant):
    for url, body, address in _creations(client, variant):
        response = client.post(url, body)
        assert response.status_code == 201, (url, response.json())
        assert response["Location"] == address(response.json()), url
        # And the address answers what was made.
        assert client.get(response["Location"]).status_code == 200


def test_a_replayed_201_says_where_too(client, variant):
    for number, (url, body, address) in enumerate(_creations(client, variant)):
        first = client.post(url, body, HTTP_IDEMPOTENCY_KEY=f"create-{number}")
        again = client.post(url, body, HTTP_IDEMPOTENCY_KEY=f"create-{number}")
        assert again.status_code == 201, url
        assert again["Idempotent-Replayed"] == "true"
        assert again["Location"] == first["Location"] == address(first.json())
        assert again.content == first.content


@pytest.mark.parametrize(
    ("url", "body", "model"),
    [(PRODUCTS, PRODUCT, Product), (VARIANTS, {"size": "L-XL"}, Variant)],
)
def test_creating_a_product_or_variant_honours_an_idempotency_key(
    client, variant, url, body, model
):
    body = {**body, "product": variant.product_id} if model is Variant else body
    before = model.objects.count()
    first = client.post(url, body, HTTP_IDEMPOTENCY_KEY="import-row-17")
    again = client.post(url, body, HTTP_IDEMPOTENCY_KEY="import-row-17")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert model.objects.count() == before + 1
    other = client.post(
        url,
        {**body, "size": "One Size"} if model is Variant else {**body, "name": "Other"},
        HTTP_IDEMPOTENCY_KEY="import-row-17",
    )
    assert other.status_code == 422


@pytest.mark.parametrize(
    ("method", "path", "message"),
    [
        ("get", "products", "A GET changes nothing; it takes no Idempotency-Key."),
        ("get", "product", "A GET changes nothing; it takes no Idempotency-Key."),
        ("get", "/api/v1/reports/stock-value/", "A GET changes nothing; it takes no Idempotency-Key."),
        ("patch", "product", "A PATCH is idempotent by itself: repeat it as it is, without an Idempotency-Key."),
        ("put", "variant", "A PUT is idempotent by itself: repeat it as it is, without an Idempotency-Key."),
        ("delete", "variant", "A DELETE is idempotent by itself: repeat it as it is, without an Idempotency-Key."),
    ],
)  # fmt: skip
def test_an_idempotency_key_where_none_is_honoured_is_refused(
    client, variant, method, path, message
):
    url = {
        "products": PRODUCTS,
        "product": f"{PRODUCTS}{variant.product_id}/",
        "variant": f"{VARIANTS}{variant.pk}/",
    }.get(path, path)
    counts = [m.objects.count() for m in (Product, Variant, StockMovement)]
    body = {"price": "1.00"} if method in ("patch", "put") else None
    response = getattr(client, method)(url, body, HTTP_IDEMPOTENCY_KEY="k-1")
    error = assert_invalid(response, "Idempotency-Key")
    assert error["details"] == {"Idempotency-Key": [message]}
    assert [m.objects.count() for m in (Product, Variant, StockMovement)] == counts
    variant.product.refresh_from_db()
    assert str(variant.product.price) == "29.90"


def test_every_post_of_the_api_honours_an_idempotency_key(client, variant):
    # Transitions too: a retried "cancel" never restocks twice.
    order = client.post(ORDERS, {"lines": [{"variant": variant.pk, "quantity": 1}]}).json()
    for action in ("pay", "cancel"):
        url = f"{ORDERS}{order['id']}/{action}/"
        first = client.post(url, HTTP_IDEMPOTENCY_KEY=f"{action}-1")
        again = client.post(url, HTTP_IDEMPOTENCY_KEY=f"{action}-1")
        assert (first.status_code, again.status_code) == (200, 200), first.json()
        assert again["Idempotent-Replayed"] == "true"
    assert Order.objects.get().status == "cancelled"
    variant.refresh_from_db()
    assert variant.quantity == 5
