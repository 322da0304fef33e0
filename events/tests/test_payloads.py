"""Every event's payload is what the schema documents: a component per type's data with the
fields of each shape, and real events, emitted by the services that emit them, valid against
their component (closed: no field more, none less) and against exactly one branch of ``Event``.
A payload and its documentation cannot drift apart without failing here."""

import copy
import re
from decimal import Decimal

import pytest
from openapi_schema_validator import OAS30ReadValidator, oas30_format_checker

from catalog.services import product_update
from conftest import TEST_ACTOR
from events.api.payloads import (
    CATEGORY_CHOICES,
    EVENT_PAYLOADS,
    ORDER_STATUS_CHOICES,
    TRANSFER_STATUS_CHOICES,
    WEBHOOK_BODY,
    event_component_name,
)
from events.delivery import event_dispatch
from events.models import EVENT_TYPES, Event
from events.services import endpoint_create
from orders.services import ReturnRequest, order_return, order_transition
from stock.locations import location_create
from stock.selectors import location_default
from stock.services import stock_adjust
from stock.transfers import (
    ReceiptLine,
    TransferLineRequest,
    transfer_create,
    transfer_receive,
    transfer_ship,
)

pytestmark = pytest.mark.django_db

EVENTS = "/api/v1/events/"
SCHEMA = "/api/schema/"


# The shapes as published (each field present in every event, null only where said).
DATA_FIELDS = {
    "StockLevelUpdatedData": {
        "variant", "sku", "product", "location", "on_hand", "committed", "available", "incoming",
    },
    "VariantStockCrossingData": {
        "variant", "sku", "product", "location", "available", "low_stock_threshold",
    },
    "TransferEventData": {
        "id", "number", "status", "from_location", "to_location", "shipped_at", "received_at",
        "lines",
    },
    "TransferEventLine": {"sku", "quantity", "quantity_received", "quantity_lost"},
    "OrderEventData": {
        "id", "number", "status", "location", "total", "currency", "customer_reference",
    },
    "OrderPlacedData": {
        "id", "number", "status", "location", "total", "currency", "customer_reference", "lines",
    },
    "OrderPlacedLine": {"sku", "quantity", "unit_price"},
    "OrderReturnedData": {
        "id", "number", "status", "location", "total", "currency", "customer_reference",
        "return_id", "refund_total", "restocked_at", "lines",
    },
    "OrderReturnedLine": {"sku", "quantity", "refund"},
    "ProductEventData": {
        "id", "name", "category", "color", "collection", "price", "is_active",
    },
    "ProductChangedData": {
        "id", "name", "category", "color", "collection", "price", "is_active", "changed",
    },
}  # fmt: skip
NULLABLE = {("VariantStockCrossingData", "location"), ("TransferEventData", "received_at")}
DATA_OF = {
    "stock_level.updated": "StockLevelUpdatedData",
    "variant.low_stock": "VariantStockCrossingData",
    "variant.out_of_stock": "VariantStockCrossingData",
    "variant.back_in_stock": "VariantStockCrossingData",
    "order.placed": "OrderPlacedData",
    "order.paid": "OrderEventData",
    "order.fulfilled": "OrderEventData",
    "order.cancelled": "OrderEventData",
    "order.returned": "OrderReturnedData",
    "transfer.shipped": "TransferEventData",
    "transfer.received": "TransferEventData",
    "product.created": "ProductEventData",
    "product.updated": "ProductChangedData",
    "product.archived": "ProductChangedData",
}


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    from django.test import Client

    with django_db_blocker.unblock():
        response = Client().get(SCHEMA, HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    return response.json()


def _ref(name):
    return f"#/components/schemas/{name}"


def _closed(schema):
    """The schema's components with every object closed: a field the schema does not list
    fails validation, as one it lists and the payload lacks does (all are required)."""
    components = copy.deepcopy(schema["components"])
    for component in components["schemas"].values():
        if component.get("type") == "object" and "properties" in component:
            component["additionalProperties"] = False
    return components


def _validator(components, name):
    return OAS30ReadValidator(
        {"$ref": _ref(name), "components": components}, format_checker=oas30_format_checker
    )


def _errors(components, name, instance):
    return [error.message for error in _validator(components, name).iter_errors(instance)]


# The documentation


def test_every_event_type_is_documented_once(schema):
    event = schema["components"]["schemas"]["Event"]
    assert set(EVENT_PAYLOADS) == set(EVENT_TYPES)
    assert event["discriminator"]["propertyName"] == "type"
    assert event["discriminator"]["mapping"] == {
        event_type: _ref(event_component_name(event_type)) for event_type in EVENT_TYPES
    }
    assert [branch["$ref"] for branch in event["oneOf"]] == [
        _ref(event_component_name(event_type)) for event_type in EVENT_TYPES
    ]


def test_each_envelope_has_its_type_as_a_one_value_enum_and_its_data(schema):
    components = schema["components"]["schemas"]
    for event_type in EVENT_TYPES:
        name = event_component_name(event_type)
        envelope = components[name]
        assert set(envelope["properties"]) == set(envelope["required"]) == {
            "id", "type", "occurred_at", "data", "sequence",
        }, name  # fmt: skip
        [type_ref] = envelope["properties"]["type"]["allOf"]
        assert components[type_ref["$ref"].rsplit("/", 1)[1]]["enum"] == [event_type]
        [data_ref] = envelope["properties"]["data"]["allOf"]
        assert data_ref["$ref"] == _ref(DATA_OF[event_type])
        assert envelope["description"].startswith(f"`{event_type}`: ")
        assert WEBHOOK_BODY in envelope["description"]
        sequence = envelope["properties"]["sequence"]
        if event_type == "stock_level.updated":
            assert (sequence["type"], sequence["minimum"]) == ("integer", 1)
            assert not sequence.get("nullable")
        else:
            assert sequence["nullable"] is True


def test_each_payload_component_has_the_fields_of_its_shape(schema):
    components = schema["components"]["schemas"]
    for name, fields in DATA_FIELDS.items():
        component = components[name]
        assert set(component["properties"]) == set(component["required"]) == fields, name
        nullable = {f for f, spec in component["properties"].items() if spec.get("nullable")}
        assert nullable == {f for n, f in NULLABLE if n == name}, name


def test_the_enums_spelt_in_the_payloads_are_the_models_choices():
    from catalog.models import Category
    from orders.models import OrderStatus
    from stock.models import TransferStatus

    assert OrderStatus.choices == ORDER_STATUS_CHOICES
    assert Category.choices == CATEGORY_CHOICES
    assert TransferStatus.choices == TRANSFER_STATUS_CHOICES


# Real events against it


def _every_kind_of_change(make_product, place_order):
    """Products created, changed and archived; orders placed, paid, fulfilled, returned and
    cancelled; stock delivered, falling to its threshold and to nothing and back, and moved to
    a shop. Each emits what the services emit today."""
    tee = make_product(name="Tee", stock={"S-M": 3, "L-XL": 0}, low_stock_threshold=1)
    product_update(product=tee, data={"price": Decimal("31.00")})
    old = make_product(name="Old Tee", stock={})
    product_update(product=old, data={"is_active": False})

    small = tee.variants.get(size="S-M")
    order = place_order((small, 2), customer_reference="web-1")  # 1 left: low
    order_transition(order_id=order.pk, action="pay", actor=TEST_ACTOR)
    order_transition(order_id=order.pk, action="fulfil", actor=TEST_ACTOR)
    order_return(
        order_id=order.pk,
        lines=[ReturnRequest(line_id=order.lines.get().pk, quantity=1)],
        actor=TEST_ACTOR,
    )
    unpaid = place_order((small, 2))  # none left
    order_transition(order_id=unpaid.pk, action="cancel", actor=TEST_ACTOR)  # back in stock

    stock_adjust(variant_id=small.pk, delta=5, reason="received", actor=TEST_ACTOR)
    shop = location_create(code="SHOP-P", name="Payload shop", kind="store")
    transfer = transfer_create(
        from_location=location_default(),
        to_location=shop,
        lines=[TransferLineRequest(variant_id=small.pk, quantity=2)],
        actor=TEST_ACTOR,
    )
    transfer_ship(transfer_id=transfer.pk, actor=TEST_ACTOR)
    transfer_receive(
        transfer_id=transfer.pk,
        lines=[ReceiptLine(line_id=transfer.lines.get().pk, quantity=2)],
        actor=TEST_ACTOR,
    )


def test_real_events_of_every_emitted_type_are_valid_against_their_components(
    schema, make_product, place_order, key_client
):
    _every_kind_of_change(make_product, place_order)
    emitted = set(Event.objects.values_list("type", flat=True))
    assert emitted == set(EVENT_TYPES)  # every type, checked against its component

    components = _closed(schema)
    branches = [
        branch["$ref"].rsplit("/", 1)[1] for branch in components["schemas"]["Event"]["oneOf"]
    ]
    response = key_client("webhooks:manage").get(EVENTS, {"page_size": 100})
    assert response.status_code == 200
    body = response.json()
    assert body["next"] is None
    items = body["results"]
    assert {item["type"] for item in items} == emitted
    assert len(items) == Event.objects.count()
    for item in items:
        name = event_component_name(item["type"])
        assert _errors(components, name, item) == [], item
        # Exactly one branch matches, as a validator that ignores the discriminator sees it.
        matching = [b for b in branches if _validator(components, b).is_valid(item)]
        assert matching == [name], item
        _validator(components, "Event").validate(item)
        retrieved = key_client("webhooks:manage").get(f"{EVENTS}{item['id']}/").json()
        assert retrieved == item

    # A webhook's body is the same object, without sequence when it is null.
    for event in Event.objects.all():
        webhook_body = event.payload()
        assert (
            _errors(
                components, event_component_name(event.type), {"sequence": None, **webhook_body}
            )
            == []
        )
        assert ("sequence" in webhook_body) == (event.sequence is not None)


def test_a_deliverys_event_is_valid_against_the_schema(
    schema, make_product, place_order, key_client
):
    endpoint = endpoint_create(url="https://93.184.216.34/hooks", events=["*"])
    _every_kind_of_change(make_product, place_order)
    for event in Event.objects.all():
        event_dispatch(event_id=event.pk)

    components = _closed(schema)
    response = key_client("webhooks:manage").get(
        f"/api/v1/webhooks/{endpoint.pk}/deliveries/", {"page_size": 100}
    )
    assert response.status_code == 200
    deliveries = response.json()["results"]
    assert len(deliveries) == Event.objects.count()
    for delivery in deliveries:
        assert _errors(components, "Delivery", delivery) == [], delivery


def test_a_payload_that_drifts_from_its_shape_fails(schema):
    """The check itself: a field more, a field missing, a wrong type or another type's data."""
    components = _closed(schema)
    good = {
        "id": "0b5c7a52-3f7e-4a8e-9d1e-2d3c4b5a6f70",
        "type": "order.paid",
        "occurred_at": "2025-05-05T10:00:00Z",
        "sequence": None,
        "data": {
            "id": 1,
            "number": "SO-1",
            "status": "paid",
            "location": "MAIN",
            "total": "59.80",
            "currency": "EUR",
            "customer_reference": "",
        },
    }
    assert _errors(components, "OrderPaidEvent", good) == []
    for drifted in (
        {**good, "data": {**good["data"], "paid_by": "card"}},
        {**good, "data": {k: v for k, v in good["data"].items() if k != "currency"}},
        {**good, "data": {**good["data"], "total": 59.8}},
        {**good, "data": {**good["data"], "status": "lost"}},
        {**good, "sequence": 3, "type": "stock_level.updated"},
        {**good, "type": "order.lost"},
    ):
        assert _errors(components, "OrderPaidEvent", drifted), drifted
        assert not _validator(components, "Event").is_valid(drifted), drifted
    # The same data under another order type is that type's event, not this one's.
    fulfilled = {**good, "type": "order.fulfilled"}
    assert _errors(components, "OrderPaidEvent", fulfilled)
    assert _errors(components, "OrderFulfilledEvent", fulfilled) == []


def test_the_readme_tables_every_event_type_with_its_payload_component():
    from django.conf import settings

    readme = (settings.BASE_DIR / "README.md").read_text()
    table = readme.split("| Type | Sent when | `data` |\n|---|---|---|\n", 1)[1].split("\n\n")[0]
    documented = {}
    component = None
    for row in table.splitlines():  # "the same": the component of the row above
        types_cell, _, data_cell = (cell.strip() for cell in row.strip("|").split(" | "))
        found = re.findall(r": `(\w+)`$", data_cell)
        component = found[0] if found else component
        for event_type in re.findall(r"`([a-z_]+\.[a-z_]+)`", types_cell):
            assert event_type not in documented, event_type
            documented[event_type] = component
    assert documented == DATA_OF
