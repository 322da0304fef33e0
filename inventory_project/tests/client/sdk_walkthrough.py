"""A client app's day, written against the SDK that openapi-python-client generated from the
API's schema, and nothing else: run by test_generated_client.py as
``python sdk_walkthrough.py BASE_URL API_KEY`` with the generated package on the path."""

import sys
from urllib.parse import parse_qs, urlsplit

from inventory_api_client import AuthenticatedClient
from inventory_api_client.api.orders import orders_cancel, orders_create, orders_list
from inventory_api_client.api.products import products_create, products_list
from inventory_api_client.api.stock_movements import stock_movements_list
from inventory_api_client.api.variants import variants_adjust, variants_retrieve
from inventory_api_client.models import (
    AdjustReason,
    Category,
    ErrorCode,
    ErrorEnvelope,
    MovementReason,
    OrderCreate,
    OrderLineCreate,
    OrderStatus,
    ProductCreate,
    ProductsListOrderingItem,
    ProductVariantCreate,
    Size,
    StockAdjust,
)


def main(base_url: str, key: str) -> None:
    client = AuthenticatedClient(
        base_url=base_url, token=key, prefix="Api-Key", raise_on_unexpected_status=True
    )

    # A product with its variants, once even if the request is retried.
    body = ProductCreate(
        category=Category.TEES,
        name="Linen Tee",
        color="Sand",
        price="35.00",
        collection="ss25",
        variants=[
            ProductVariantCreate(size=Size.S_M, quantity=6),
            ProductVariantCreate(size=Size.L_XL, quantity=4),
        ],
    )
    created = products_create.sync_detailed(client=client, body=body, idempotency_key="tee-1")
    again = products_create.sync_detailed(client=client, body=body, idempotency_key="tee-1")
    product = created.parsed
    assert created.status_code == again.status_code == 201, created.content
    assert again.headers["idempotent-replayed"] == "true"
    assert created.headers["location"] == f"/api/v1/products/{product.id}/"
    assert product.collection == "SS25"
    large = next(variant for variant in product.variants if variant.size == Size.L_XL)

    # A delivery of three.
    adjusted = variants_adjust.sync(
        client=client,
        id=large.id,
        body=StockAdjust(delta=3, reason=AdjustReason.RECEIVED, reference="DN-4711"),
    )
    assert adjusted.variant.quantity == 7
    assert adjusted.movement.reason == MovementReason.RECEIVED

    # An order by SKU (any case), priced by the server; one for more than there is.
    order = orders_create.sync(
        client=client,
        body=OrderCreate(
            lines=[OrderLineCreate(sku=large.sku.lower(), quantity=2)],
            customer_reference="sdk-1",
        ),
    )
    assert (order.status, order.total, order.lines[0].unit_price) == (
        OrderStatus.PLACED,
        "70.00",
        "35.00",
    )
    assert variants_retrieve.sync(client=client, id=large.id).quantity == 5
    short = orders_create.sync_detailed(
        client=client, body=OrderCreate(lines=[OrderLineCreate(variant=large.id, quantity=99)])
    )
    assert short.status_code == 409
    assert isinstance(short.parsed, ErrorEnvelope)
    assert short.parsed.error.code == ErrorCode.INSUFFICIENT_STOCK

    # Cancelled: the two units go back, once.
    cancelled = orders_cancel.sync(client=client, id=order.id, idempotency_key="cancel-1")
    orders_cancel.sync(client=client, id=order.id, idempotency_key="cancel-1")
    assert cancelled.status == OrderStatus.CANCELLED
    assert variants_retrieve.sync(client=client, id=large.id).quantity == 7

    # Every product, page by page.
    names, page = [], 1
    while True:
        listed = products_list.sync(
            client=client, page=page, page_size=2, ordering=[ProductsListOrderingItem.NAME]
        )
        names += [p.name for p in listed.results]
        if listed.next_ is None:
            break
        page += 1
    assert names == sorted(names), names
    assert len(names) == listed.count, names

    # The ledger, cursor by cursor, newest first.
    movements, cursor = [], None
    while True:
        kwargs: dict[str, str] = {"cursor": cursor} if cursor else {}
        listed = stock_movements_list.sync(client=client, page_size=3, **kwargs)
        movements += listed.results
        if listed.next_ is None:
            break
        cursor = parse_qs(urlsplit(listed.next_).query)["cursor"][0]
    mine = [m.reason for m in movements if m.variant == large.id]
    assert mine == [
        MovementReason.ORDER_CANCELLED,
        MovementReason.ORDER_PLACED,
        MovementReason.RECEIVED,
        MovementReason.INITIAL,
    ], mine
    assert [o.status for o in orders_list.sync(client=client).results] == [OrderStatus.CANCELLED]
    print(f"ok: {len(names)} products on {page} pages, {len(movements)} movements")  # noqa: T201


if __name__ == "__main__":
    main(*sys.argv[1:3])
