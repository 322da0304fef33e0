"""Fifty buyers of the last ten units, through the service and over real HTTP through
gunicorn: exactly ten get one, the others are told what is left."""

import functools
import json
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from catalog.tests.support import race
from core.api.idempotency import REPLAYED_HEADER
from inventory_project.tests import support as server_support
from orders.models import Order, OrderLine, OrderStatus
from orders.tests.concurrency.support import (
    BUYERS,
    UNITS,
    Answer,
    MakeProduct,
    _client_app,
    _movements,
    _place,
    _quantities,
    _short,
    _unexpected,
    _variant_ids,
)
from stock.exceptions import InsufficientStock
from stock.models import MovementReason

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

# Sync workers serve one request each: more of them than cores keeps more requests inside the
# database at the same moment, which is the point of this race.
HTTP_WORKERS = 4
HTTP_TIMEOUT = 15


@pytest.mark.slow  # fifty database connections at once
def test_fifty_buyers_of_ten_units_through_the_service_exactly_ten_get_one(
    make_product: MakeProduct,
) -> None:
    # Given ten units of a variant, and a web shop with fifty customers
    [variant_id] = _variant_ids(make_product, L_XL=UNITS)
    actor, _ = _client_app("web-shop")

    # When all fifty place an order for one unit at the same moment
    outcomes = race(
        [functools.partial(_place, actor, [(variant_id, 1)], f"buyer-{n}") for n in range(BUYERS)]
    )

    # Then ten orders were placed and forty told there is not enough, and nothing else happened
    assert not _unexpected(outcomes, InsufficientStock)
    placed = [o for o in outcomes if isinstance(o, Order)]
    refused = [o for o in outcomes if isinstance(o, InsufficientStock)]
    assert (len(placed), len(refused)) == (UNITS, BUYERS - UNITS)
    short = {"location": "MAIN", "lines": [_short(variant_id, 1, 0)]}
    assert all(error.details == short for error in refused)
    # and exactly those ten orders exist, each with its line and its commitment
    assert sorted(Order.objects.values_list("pk", flat=True)) == sorted(o.pk for o in placed)
    assert OrderLine.objects.filter(variant_id=variant_id, quantity=1).count() == UNITS
    assert _quantities([variant_id]) == {variant_id: 0}
    assert _movements(MovementReason.ORDER_PLACED, [variant_id]) == sorted(
        (order.number, variant_id, 0, 1) for order in placed
    )


def _http_post(port: int, path: str, body: dict[str, Any], headers: dict[str, str]) -> Answer:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:
            return (
                response.status,
                response.headers.get(REPLAYED_HEADER),
                json.loads(response.read()),
            )
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get(REPLAYED_HEADER), json.loads(error.read())


@pytest.fixture
def gunicorn(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The Docker image's gunicorn, with production settings, serving the test database."""
    monkeypatch.setenv("GUNICORN_WORKERS", str(HTTP_WORKERS))
    monkeypatch.setenv("GUNICORN_TIMEOUT", str(HTTP_TIMEOUT))
    # Typed here: the helpers come from a test module that mypy does not check strictly.
    start: Callable[[str], Any] = server_support.Server
    database_url: Callable[[], str] = server_support.database_url
    server = start(database_url())
    yield server
    server.stop()


@pytest.mark.slow
def test_fifty_buyers_of_ten_units_over_http_exactly_ten_get_one(
    make_product: MakeProduct, gunicorn: Any
) -> None:
    # Given ten units of a variant, and a web shop whose fifty customers check out over HTTP
    [variant_id] = _variant_ids(make_product, L_XL=UNITS)
    _, raw_key = _client_app("web-shop")
    body = {"lines": [{"variant": variant_id, "quantity": 1}]}

    # When all fifty POST their order at the same moment
    outcomes = race(
        [
            functools.partial(
                _http_post,
                gunicorn.port,
                "/api/v1/orders/",
                body,
                {"Authorization": f"Api-Key {raw_key}", "X-Request-ID": f"buyer-{n}"},
            )
            for n in range(BUYERS)
        ]
    )

    # Then ten got 201 and forty got 409 insufficient_stock in the envelope; no server error
    assert not _unexpected(outcomes)
    assert Counter(status for status, _, _ in outcomes) == {201: UNITS, 409: BUYERS - UNITS}
    created = [answer for status, _, answer in outcomes if status == 201]
    refused = [answer for status, _, answer in outcomes if status == 409]
    assert all(
        answer
        == {
            "error": {
                "code": "insufficient_stock",
                "message": "Not enough stock at MAIN; nothing was changed.",
                "details": {"location": "MAIN", "lines": [_short(variant_id, 1, 0)]},
            }
        }
        for answer in refused
    )
    assert all(
        (o["status"], [(line["variant"], line["quantity"]) for line in o["lines"]])
        == (OrderStatus.PLACED, [(variant_id, 1)])
        for o in created
    )
    # and exactly the ten orders answered exist, with one commitment each, and nothing is
    # left to sell
    assert sorted(Order.objects.values_list("pk", flat=True)) == sorted(o["id"] for o in created)
    assert _quantities([variant_id]) == {variant_id: 0}
    assert _movements(MovementReason.ORDER_PLACED, [variant_id]) == sorted(
        (order["number"], variant_id, 0, 1) for order in created
    )
