"""Helpers shared by the orders' concurrency tests: products to race for, client apps, placing
orders through the service or the API, and reading what the races left behind. The names
keep their leading underscore from the module they were moved out of, so the tests read
as before."""

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from rest_framework.test import APIClient

from catalog.models import Product, Variant
from core.actors import Actor
from core.api.authentication import api_key_actor
from core.api.idempotency import REPLAYED_HEADER
from core.api.models import Scope
from core.api.services import api_key_create
from orders.models import Order
from orders.services import LineRequest, order_place
from stock.models import StockMovement

BUYERS = 50
UNITS = 10

MakeProduct = Callable[..., Product]
Outcome = Any  # what a call returned, or the exception it raised
Answer = tuple[int, str | None, Any]  # status, Idempotent-Replayed header, JSON body


def _variant_ids(make_product: MakeProduct, **stock: int) -> list[int]:
    """Variants of one product with the given opening quantities (by size), in pk order."""
    sizes = {"S_M": "S-M", "L_XL": "L-XL", "ONE_SIZE": "One Size"}
    product = make_product(stock={sizes[size]: quantity for size, quantity in stock.items()})
    return list(product.variants.order_by("pk").values_list("pk", flat=True))


def _quantities(variant_ids: Iterable[int]) -> dict[int, int]:
    return dict(Variant.objects.filter(pk__in=variant_ids).values_list("pk", "quantity"))


def _client_app(name: str) -> tuple[Actor, str]:
    """A client app whose key may place orders: its actor and its raw key."""
    api_key, raw_key = api_key_create(name=name, scopes=[Scope.ORDERS_WRITE])
    return api_key_actor(api_key), raw_key


def _place(actor: Actor, lines: Sequence[tuple[int, int]], reference: str = "") -> Order:
    return order_place(
        lines=[LineRequest(variant_id=variant_id, quantity=qty) for variant_id, qty in lines],
        actor=actor,
        customer_reference=reference,
    )


def _unexpected(outcomes: Iterable[Outcome], *allowed: type[Exception]) -> list[Exception]:
    return [o for o in outcomes if isinstance(o, Exception) and not isinstance(o, allowed)]


def _movements(reason: str, variant_ids: Iterable[int]) -> list[tuple[str, int, int, int]]:
    """(reference, variant, delta on hand, delta committed) of the movements for ``reason``,
    sorted."""
    return sorted(
        StockMovement.objects.filter(variant_id__in=variant_ids, reason=reason).values_list(
            "reference", "variant_id", "delta", "committed_delta"
        )
    )


def _api_client(raw_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
    return client


def _post(raw_key: str, path: str, body: dict[str, Any], idempotency_key: str = "") -> Answer:
    """POST with a client of its own (one per thread), as a client app would."""
    headers: dict[str, Any] = {"HTTP_IDEMPOTENCY_KEY": idempotency_key} if idempotency_key else {}
    response = _api_client(raw_key).post(path, body, format="json", **headers)
    return response.status_code, response.headers.get(REPLAYED_HEADER), response.json()


def _short(variant_id: int, requested: int, available: int) -> dict[str, Any]:
    """A short line of ``InsufficientStock`` at the default location, where orders that name
    none are placed."""
    sku = Variant.objects.values_list("sku", flat=True).get(pk=variant_id)
    return {
        "variant": variant_id,
        "sku": sku,
        "location": "MAIN",
        "requested": requested,
        "available": available,
    }
