"""The payload of every event type, for the OpenAPI schema: a component for each type's ``data``
(``OrderPlacedData``), an envelope per type (``OrderPlacedEvent``: ``id``, ``type``,
``occurred_at``, ``data``, ``sequence``) and ``Event``, the one of them an event is.

Only the schema reads these: an event is rendered as the service that emitted it wrote it
(``EventSerializer``). The shapes belong to the emitters (``orders.services.order_event_data``,
``catalog.services.product_event_data``, the stock services); events/tests/test_payloads.py
validates real events of every type against these components, so the two cannot drift apart.

Each envelope's ``type`` is an enum of its one value. That is what tells the branches of
``Event`` apart for a validator that ignores the discriminator (plain JSON Schema: exactly one
branch of a ``oneOf`` may match), and for a generated client parsing the union.

The events app knows none of the apps above it (see the layers in pyproject.toml), so the
enums of their fields are spelt here; test_payloads.py checks they are the models' choices.
"""

import re
from typing import Any

from drf_spectacular.utils import (
    PolymorphicProxySerializer,
    extend_schema_field,
    extend_schema_serializer,
)
from rest_framework import serializers

from events.models import EVENT_TYPES

# orders.models.OrderStatus, catalog.models.Category and stock.models.TransferStatus: the same
# values and labels, so the schema refers to the same enums as the orders, products and
# transfers do.
ORDER_STATUS_CHOICES = [
    ("placed", "Placed"),
    ("paid", "Paid"),
    ("fulfilled", "Fulfilled"),
    ("cancelled", "Cancelled"),
]
CATEGORY_CHOICES = [("Tees", "Tees"), ("Sweaters", "Sweaters"), ("Pants", "Pants")]
TRANSFER_STATUS_CHOICES = [
    ("draft", "Draft"),
    ("in_transit", "In transit"),
    ("received", "Received"),
    ("cancelled", "Cancelled"),
]

LOCATION_HELP = "The location's code."


def _id(help_text: str) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=1, help_text=help_text)


def _money() -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=12, decimal_places=2)


def _units(help_text: str = "") -> serializers.IntegerField:
    return serializers.IntegerField(min_value=0, help_text=help_text)


# Stock


class StockLevelUpdatedDataSerializer(serializers.Serializer[Any]):
    """The figures of one variant's stock at one location, as they are now."""

    variant = _id("The variant's id.")
    sku = serializers.CharField()
    product = _id("The product's id.")
    location = serializers.CharField(help_text=LOCATION_HELP)
    on_hand = _units("Units on the shelf.")
    committed = _units("Units of on_hand promised to orders not yet fulfilled.")
    available = _units("on_hand - committed: what can still be sold.")
    incoming = _units("Units shipped to this location and not yet received.")


class VariantStockCrossingDataSerializer(serializers.Serializer[Any]):
    """A variant's available units, at one location or over all of them, as they crossed a
    line: its low-stock threshold, or zero."""

    variant = _id("The variant's id.")
    sku = serializers.CharField()
    product = _id("The product's id.")
    location = serializers.CharField(
        allow_null=True,
        help_text="The location's code; null: the variant over all locations.",
    )
    available = _units("Units that can be sold there (on hand minus committed).")
    low_stock_threshold = _units("At or below it, the variant is low on stock there.")


class TransferEventLineSerializer(serializers.Serializer[Any]):
    sku = serializers.CharField()
    quantity = serializers.IntegerField(min_value=1, help_text="Units shipped.")
    quantity_received = _units("Units received so far.")
    quantity_lost = _units("Units written off as lost in transit when the transfer was closed.")


class TransferEventDataSerializer(serializers.Serializer[Any]):
    """A transfer of stock between two locations, with its lines."""

    id = _id("The transfer's id: GET /api/v1/transfers/{id}/.")
    number = serializers.CharField()
    status = serializers.ChoiceField(
        choices=TRANSFER_STATUS_CHOICES,
        help_text="in_transit once shipped; received once every unit has arrived.",
    )
    from_location = serializers.CharField(help_text=LOCATION_HELP)
    to_location = serializers.CharField(help_text=LOCATION_HELP)
    shipped_at = serializers.DateTimeField()
    received_at = serializers.DateTimeField(
        allow_null=True, help_text="When the last unit arrived; null before."
    )
    lines = TransferEventLineSerializer(many=True)


# Orders


class OrderEventDataSerializer(serializers.Serializer[Any]):
    """An order, as it is after the change; the rest of it is at GET /api/v1/orders/{id}/."""

    id = _id("The order's id.")
    number = serializers.CharField()
    status = serializers.ChoiceField(choices=ORDER_STATUS_CHOICES)
    location = serializers.CharField(help_text="The code of the location that sells it.")
    total = _money()
    currency = serializers.CharField(help_text="ISO 4217, the store's currency.")
    customer_reference = serializers.CharField(
        allow_blank=True, help_text="The client app's own reference; empty if none."
    )


class OrderPlacedLineSerializer(serializers.Serializer[Any]):
    sku = serializers.CharField()
    quantity = serializers.IntegerField(min_value=1)
    unit_price = _money()


class OrderPlacedDataSerializer(OrderEventDataSerializer):
    """An order just placed (a till sale: placed and fulfilled at once), with its lines."""

    lines = OrderPlacedLineSerializer(many=True)


class OrderReturnedLineSerializer(serializers.Serializer[Any]):
    sku = serializers.CharField()
    quantity = serializers.IntegerField(min_value=1, help_text="Units brought back.")
    refund = _money()


class OrderReturnedDataSerializer(OrderEventDataSerializer):
    """A return of a fulfilled order's units, in part or in full, and its refund."""

    return_id = _id("The return's id (in GET /api/v1/orders/{id}/).")
    refund_total = _money()
    restocked_at = serializers.CharField(
        help_text="The code of the location the units went back on the shelf at."
    )
    lines = OrderReturnedLineSerializer(many=True)


# Products


class ProductEventDataSerializer(serializers.Serializer[Any]):
    """A product, as it is after the change (its variants and stock have events of their
    own); the rest of it is at GET /api/v1/products/{id}/."""

    id = _id("The product's id.")
    name = serializers.CharField()
    category = serializers.ChoiceField(choices=CATEGORY_CHOICES)
    color = serializers.CharField()
    collection = serializers.CharField(help_text="The season code, such as FW24.")
    price = _money()
    is_active = serializers.BooleanField(help_text="false: archived.")


class ProductChangedDataSerializer(ProductEventDataSerializer):
    """A product after a change, with the fields that changed."""

    changed = serializers.ListField(
        child=serializers.CharField(),
        min_length=1,
        help_text="The names of the fields that changed, such as price.",
    )


# The envelopes: what each event type's data is, and when it is emitted. The README's table of
# events says the same.
EVENT_PAYLOADS: dict[str, tuple[type[serializers.Serializer[Any]], str]] = {
    "stock_level.updated": (
        StockLevelUpdatedDataSerializer,
        "A variant's stock at a location changed: on hand, committed or incoming. Changes to "
        "one level within about a second come as one event with the latest figures; sequence "
        "grows with every change of that level.",
    ),
    "variant.low_stock": (
        VariantStockCrossingDataSerializer,
        "A variant's available units fell to its low-stock threshold or below, at a location "
        "(location set) or over all locations (location null). Sent when the line is crossed, "
        "not on every change.",
    ),
    "variant.out_of_stock": (
        VariantStockCrossingDataSerializer,
        "A variant's available units fell to 0, at a location or over all locations. Sent "
        "when the line is crossed, not on every change.",
    ),
    "variant.back_in_stock": (
        VariantStockCrossingDataSerializer,
        "A variant's available units rose above 0 again, at a location or over all "
        "locations. Sent when the line is crossed, not on every change.",
    ),
    "order.placed": (OrderPlacedDataSerializer, "An order was placed (or a till sale made)."),
    "order.paid": (OrderEventDataSerializer, "An order was paid."),
    "order.fulfilled": (OrderEventDataSerializer, "An order was handed over (picked)."),
    "order.cancelled": (
        OrderEventDataSerializer,
        "An order was cancelled (by a client, by staff or unpaid in time); its units are released.",
    ),
    "order.returned": (OrderReturnedDataSerializer, "Units of a fulfilled order came back."),
    "transfer.shipped": (TransferEventDataSerializer, "A transfer left its location."),
    "transfer.received": (
        TransferEventDataSerializer,
        "Units of a transfer arrived at its destination.",
    ),
    "product.created": (ProductEventDataSerializer, "A product was created."),
    "product.updated": (
        ProductChangedDataSerializer,
        "Fields of a product changed (but for archiving it).",
    ),
    "product.archived": (ProductChangedDataSerializer, "A product was archived."),
}

WEBHOOK_BODY = (
    "A webhook's body is this same object, without sequence when it is null; "
    "GET /api/v1/events/ always has it."
)


def event_component_name(event_type: str) -> str:
    """``order.placed`` is ``OrderPlacedEvent``, ``stock_level.updated``
    ``StockLevelUpdatedEvent``."""
    return "".join(word.capitalize() for word in re.split(r"[._]", event_type)) + "Event"


def _sequence(event_type: str) -> serializers.IntegerField:
    if event_type == "stock_level.updated":
        return serializers.IntegerField(
            read_only=True,
            min_value=1,
            help_text="Grows with each change of this stock level: drop an update whose "
            "sequence is below one you have (deliveries may arrive out of order).",
        )
    return serializers.IntegerField(
        read_only=True,
        allow_null=True,
        help_text="Always null here: only stock_level.updated has a sequence.",
    )


def _envelope(event_type: str) -> type[serializers.Serializer[Any]]:
    data, emitted = EVENT_PAYLOADS[event_type]
    name = event_component_name(event_type)
    fields = {
        "__doc__": f"`{event_type}`: {emitted}\n\n{WEBHOOK_BODY}",
        "id": serializers.UUIDField(
            read_only=True,
            help_text="The event's id: the same in every delivery of it (webhook-id).",
        ),
        "type": serializers.ChoiceField(choices=[(event_type, event_type)], read_only=True),
        "occurred_at": serializers.DateTimeField(read_only=True),
        "data": data(read_only=True),
        "sequence": _sequence(event_type),
    }
    envelope = type(f"{name}Serializer", (serializers.Serializer,), fields)
    return extend_schema_serializer(component_name=name)(envelope)


# Every event type's envelope, for the schema: ``Event`` is one of them, told apart by type.
EVENT_SCHEMA = PolymorphicProxySerializer(
    component_name="Event",
    serializers={event_type: _envelope(event_type) for event_type in EVENT_TYPES},
    resource_type_field_name="type",
)


@extend_schema_field(EVENT_SCHEMA)
class EventField(serializers.DictField):
    """An event inside another object (a delivery's): documented as ``Event``."""
