from typing import Any

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from catalog.models import Size
from catalog.validators import MAX_ID, MAX_QUANTITY
from core.api.serializers import InputSerializer
from orders.api import representations
from orders.models import (
    NOTE_MAX_LENGTH,
    REFERENCE_MAX_LENGTH,
    Order,
    OrderLine,
    OrderReturn,
    OrderReturnLine,
    OrderStatus,
)
from orders.services import MAX_LINES, LineRequest, ReturnRequest
from stock.api.fields import StockLocationField
from stock.api.serializers import VariantLineInputSerializer

# Input


@extend_schema_serializer(component_name="OrderLineCreate")
class OrderLineInputSerializer(VariantLineInputSerializer):
    """A variant, by id or by SKU, and the units of it ordered."""


class OrderCreateSerializer(InputSerializer):
    lines = OrderLineInputSerializer(  # type: ignore[call-arg]  # many=True makes a list
        many=True, allow_empty=False, max_length=MAX_LINES
    )
    customer_reference = serializers.CharField(
        max_length=REFERENCE_MAX_LENGTH, required=False, allow_blank=True, default=""
    )
    note = serializers.CharField(
        max_length=NOTE_MAX_LENGTH, required=False, allow_blank=True, default=""
    )
    location = StockLocationField(
        required=False,
        help_text="The code of the location whose stock the order takes, any case; the "
        "default location when omitted. What is available there must cover every line.",
    )
    fulfil = serializers.BooleanField(
        default=False,
        help_text="true: a till sale, handed over at once: the order is placed paid and "
        "fulfilled, its units taken off the shelf. false: its units are committed until it is "
        "fulfilled or cancelled.",
    )

    def line_requests(self) -> list[LineRequest]:
        return [
            LineRequest(
                quantity=line["quantity"], variant_id=line.get("variant"), sku=line.get("sku")
            )
            for line in self.validated_data["lines"]
        ]


@extend_schema_serializer(component_name="OrderReturnLineCreate")
class ReturnLineInputSerializer(InputSerializer):
    line = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="The order line's id.")
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY)


class OrderReturnCreateSerializer(InputSerializer):
    lines = ReturnLineInputSerializer(  # type: ignore[call-arg]  # many=True makes a list
        many=True, allow_empty=False, max_length=MAX_LINES
    )
    note = serializers.CharField(
        max_length=NOTE_MAX_LENGTH, required=False, allow_blank=True, default=""
    )
    location = StockLocationField(
        required=False,
        help_text="The code of the location the units come back to, any case; the order's "
        "location when omitted (a web order brought back to a shop names the shop).",
    )

    def return_requests(self) -> list[ReturnRequest]:
        return [
            ReturnRequest(line_id=line["line"], quantity=line["quantity"])
            for line in self.validated_data["lines"]
        ]


# Output
#
# An order's JSON is defined once, in orders.api.representations, which its serializers hand
# their instances to: their fields document the answer in the schema, and a test holds them to
# the keys the representation gives. Returns are rendered by their serializers' fields.


@extend_schema_serializer(component_name="OrderLine")
class OrderLineOutputSerializer(serializers.Serializer[OrderLine]):
    id = serializers.IntegerField(read_only=True)
    variant = serializers.IntegerField(source="variant_id", read_only=True)
    sku = serializers.CharField(read_only=True)
    product_name = serializers.CharField(read_only=True)
    size = serializers.ChoiceField(choices=Size.choices, read_only=True)
    quantity = serializers.IntegerField(read_only=True)
    unit_price = serializers.DecimalField(max_digits=10, decimal_places=2, read_only=True)
    line_total = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)
    returned_quantity = serializers.IntegerField(read_only=True)

    def to_representation(self, instance: OrderLine) -> dict[str, Any]:
        return representations.order_line(instance)


@extend_schema_serializer(component_name="Order")
class OrderOutputSerializer(serializers.Serializer[Order]):
    id = serializers.IntegerField(read_only=True)
    number = serializers.CharField(read_only=True)
    status = serializers.ChoiceField(choices=OrderStatus.choices, read_only=True)
    location = serializers.CharField(
        read_only=True,
        help_text="The code of the location whose stock it takes (committed, then taken off "
        "the shelf when it is fulfilled).",
    )
    lines = OrderLineOutputSerializer(many=True, read_only=True)
    total = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)
    currency = serializers.CharField(read_only=True)
    customer_reference = serializers.CharField(read_only=True)
    note = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    paid_at = serializers.DateTimeField(read_only=True, allow_null=True)
    fulfilled_at = serializers.DateTimeField(read_only=True, allow_null=True)
    cancelled_at = serializers.DateTimeField(read_only=True, allow_null=True)

    def to_representation(self, instance: Order) -> dict[str, Any]:
        return representations.order(instance)


@extend_schema_serializer(component_name="OrderReturnLine")
class OrderReturnLineOutputSerializer(serializers.Serializer[OrderReturnLine]):
    line = serializers.IntegerField(source="line_id", read_only=True)
    sku = serializers.CharField(source="line.sku", read_only=True)
    quantity = serializers.IntegerField(read_only=True)
    refund_amount = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)


@extend_schema_serializer(component_name="OrderReturn")
class OrderReturnOutputSerializer(serializers.Serializer[OrderReturn]):
    id = serializers.IntegerField(read_only=True)
    order = serializers.IntegerField(source="order_id", read_only=True)
    lines = OrderReturnLineOutputSerializer(many=True, read_only=True)
    refund_total = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)
    currency = serializers.CharField(source="order.currency", read_only=True)
    note = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
