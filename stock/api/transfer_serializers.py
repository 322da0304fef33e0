"""The transfers' serializers: a transfer and a receipt in; a transfer out.

A transfer's JSON is defined once, in ``transfer_representation``: ``TransferOutputSerializer``
hands its instances there (its declared fields document the answer in the schema; a test holds
the two key for key), as orders do."""

from datetime import datetime
from typing import Any

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from catalog.api.representations import timestamp_writer
from catalog.validators import MAX_ID, MAX_QUANTITY
from core.api.serializers import InputSerializer
from stock.api.fields import StockLocationField
from stock.api.serializers import VariantLineInputSerializer
from stock.models import (
    NOTE_MAX_LENGTH,
    REFERENCE_MAX_LENGTH,
    Transfer,
    TransferLine,
    TransferStatus,
)
from stock.transfers import MAX_LINES, ReceiptLine, TransferLineRequest

# Input


@extend_schema_serializer(component_name="TransferLineCreate")
class TransferLineInputSerializer(VariantLineInputSerializer):
    """A variant, by id or by SKU, and the units to send of it; each variant once per
    transfer."""


class TransferCreateSerializer(InputSerializer):
    from_location = StockLocationField(
        help_text="The code of the location the units leave, any case: an active location."
    )
    to_location = StockLocationField(
        help_text="The code of the location they go to, any case: another active location."
    )
    lines = TransferLineInputSerializer(  # type: ignore[call-arg]  # many=True makes a list
        many=True, allow_empty=False, max_length=MAX_LINES
    )
    note = serializers.CharField(
        max_length=NOTE_MAX_LENGTH, required=False, allow_blank=True, default=""
    )
    reference = serializers.CharField(
        max_length=REFERENCE_MAX_LENGTH,
        required=False,
        allow_blank=True,
        default="",
        help_text="Your own reference, e.g. a customer's request.",
    )

    def line_requests(self) -> list[TransferLineRequest]:
        return [
            TransferLineRequest(
                quantity=line["quantity"], variant_id=line.get("variant"), sku=line.get("sku")
            )
            for line in self.validated_data["lines"]
        ]


@extend_schema_serializer(component_name="TransferReceiptLine")
class ReceiptLineInputSerializer(InputSerializer):
    line = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, help_text="The transfer line's id."
    )
    quantity = serializers.IntegerField(
        min_value=1,
        max_value=MAX_QUANTITY,
        help_text="Units of it that arrived: at most those shipped and not received yet.",
    )


class TransferReceiveSerializer(InputSerializer):
    lines = ReceiptLineInputSerializer(  # type: ignore[call-arg]  # many=True makes a list
        many=True, allow_empty=False, max_length=MAX_LINES
    )

    def receipt_lines(self) -> list[ReceiptLine]:
        return [
            ReceiptLine(line_id=line["line"], quantity=line["quantity"])
            for line in self.validated_data["lines"]
        ]


# Output


def transfer_representation(transfer: Transfer) -> dict[str, Any]:
    """A transfer read by ``selectors.transfer_list`` (its locations joined, its lines with
    their variants prefetched)."""
    stamp = timestamp_writer()

    def optional(value: datetime | None) -> str | None:
        return None if value is None else stamp(value)

    lines = [transfer_line_representation(line) for line in transfer.lines.all()]
    return {
        "id": transfer.pk,
        "number": transfer.number,
        "status": str(transfer.status),
        "from_location": transfer.from_location.code,
        "to_location": transfer.to_location.code,
        "lines": lines,
        "shortfall": sum(line["quantity_lost"] for line in lines),
        "note": transfer.note,
        "reference": transfer.reference,
        "created_at": stamp(transfer.created_at),
        "shipped_at": optional(transfer.shipped_at),
        "received_at": optional(transfer.received_at),
        "cancelled_at": optional(transfer.cancelled_at),
    }


def transfer_line_representation(line: TransferLine) -> dict[str, Any]:
    return {
        "id": line.pk,
        "variant": line.variant_id,
        "sku": line.variant.sku,
        "quantity": line.quantity,
        "quantity_received": line.quantity_received,
        "quantity_lost": line.quantity_lost,
    }


@extend_schema_serializer(component_name="TransferLine")
class TransferLineOutputSerializer(serializers.Serializer[TransferLine]):
    id = serializers.IntegerField(read_only=True)
    variant = serializers.IntegerField(read_only=True)
    sku = serializers.CharField(read_only=True)
    quantity = serializers.IntegerField(read_only=True, help_text="Units sent (to be sent).")
    quantity_received = serializers.IntegerField(
        read_only=True, help_text="Units that arrived so far."
    )
    quantity_lost = serializers.IntegerField(
        read_only=True,
        help_text="Units that never arrived, written off as lost in transit when the transfer "
        "was closed.",
    )

    def to_representation(self, instance: TransferLine) -> dict[str, Any]:
        return transfer_line_representation(instance)


@extend_schema_serializer(component_name="Transfer")
class TransferOutputSerializer(serializers.Serializer[Transfer]):
    id = serializers.IntegerField(read_only=True)
    number = serializers.CharField(read_only=True, help_text="Unique, e.g. TR-7K2M9Q4X1B.")
    status = serializers.ChoiceField(
        choices=TransferStatus.choices,
        read_only=True,
        help_text="draft: nothing moved yet; in_transit: shipped, its units incoming at the "
        "destination; received: every unit arrived, or the rest was written off (closed); "
        "cancelled.",
    )
    from_location = serializers.CharField(read_only=True, help_text="The source's code.")
    to_location = serializers.CharField(read_only=True, help_text="The destination's code.")
    lines = TransferLineOutputSerializer(many=True, read_only=True)
    shortfall = serializers.IntegerField(
        read_only=True, help_text="Units lost in transit: the lines' quantity_lost summed."
    )
    note = serializers.CharField(read_only=True)
    reference = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    shipped_at = serializers.DateTimeField(read_only=True, allow_null=True)
    received_at = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text="When every unit arrived, or the transfer was closed short.",
    )
    cancelled_at = serializers.DateTimeField(read_only=True, allow_null=True)

    def to_representation(self, instance: Transfer) -> dict[str, Any]:
        return transfer_representation(instance)
