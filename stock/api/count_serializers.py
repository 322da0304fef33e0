"""The count sessions' serializers: a session and an entry in; a session (with its lines), a
line and a preview or result of its corrections out."""

from typing import Any

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from catalog.models import Product
from catalog.validators import MAX_QUANTITY
from core.api.serializers import InputSerializer
from stock.api.fields import StockLocationField
from stock.counts import CountCorrection, CountResult
from stock.models import NOTE_MAX_LENGTH, CountLine, CountSession, CountStatus

ONE_OF = "Give exactly one of barcode, sku and variant."


class CountCreateSerializer(InputSerializer):
    location = StockLocationField(
        help_text="The code of the location counted, any case. An unknown or archived location "
        "is refused; so is one where a session is open (409 conflict)."
    )
    product = serializers.PrimaryKeyRelatedField(
        queryset=Product.objects.all(),
        required=False,
        allow_null=True,
        default=None,
        help_text="Count only this product's variants (each of them); every variant with stock "
        "there when omitted.",
    )
    zero_uncounted = serializers.BooleanField(
        default=False,
        help_text="Zero the rest: applying sets every variant of the session that was not "
        "counted to 0 on hand there. Otherwise those are left alone.",
    )
    note = serializers.CharField(
        max_length=NOTE_MAX_LENGTH, required=False, allow_blank=True, default=""
    )


class CountEntrySerializer(InputSerializer):
    """One count: the variant by exactly one of its barcode, SKU or id."""

    barcode = serializers.CharField(
        max_length=14, required=False, help_text="The variant's barcode (EAN-13 or another GTIN)."
    )
    sku = serializers.CharField(max_length=64, required=False, help_text="Any case.")
    variant = serializers.IntegerField(min_value=1, required=False, help_text="The variant's id.")
    counted = serializers.IntegerField(
        min_value=0,
        max_value=MAX_QUANTITY,
        required=False,
        allow_null=True,
        default=None,
        help_text="The units counted on the shelf, committed ones included. Omitted: a scan, "
        "which adds one to the line's count.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if sum(key in attrs for key in ("barcode", "sku", "variant")) != 1:
            raise serializers.ValidationError(ONE_OF)
        return attrs

    def entry(self) -> dict[str, Any]:
        """The service's keyword arguments."""
        data = self.validated_data
        return {
            "barcode": data.get("barcode"),
            "sku": data.get("sku"),
            "variant_id": data.get("variant"),
            "counted": data["counted"],
        }


@extend_schema_serializer(component_name="CountLine")
class CountLineSerializer(serializers.Serializer[CountLine]):
    id = serializers.IntegerField(read_only=True)
    variant = serializers.IntegerField(read_only=True)
    sku = serializers.CharField(read_only=True)
    barcode = serializers.CharField(read_only=True, allow_null=True)
    product = serializers.IntegerField(read_only=True)
    size = serializers.CharField(read_only=True)
    snapshot_on_hand = serializers.IntegerField(
        read_only=True, help_text="Units on hand there when the session started."
    )
    counted = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="Units counted; null until counted."
    )
    expected_at_entry = serializers.IntegerField(
        read_only=True,
        allow_null=True,
        help_text="Units on hand there when the count was entered: the snapshot plus the "
        "movements since. The correction is counted - expected_at_entry.",
    )
    counted_at = serializers.DateTimeField(read_only=True, allow_null=True)
    correction = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="What applying the session changed."
    )

    def to_representation(self, instance: CountLine) -> dict[str, Any]:
        variant = instance.variant
        return {
            "id": instance.pk,
            "variant": instance.variant_id,
            "sku": variant.sku,
            "barcode": variant.barcode,
            "product": variant.product_id,
            "size": str(variant.size),
            "snapshot_on_hand": instance.snapshot_on_hand,
            "counted": instance.counted,
            "expected_at_entry": instance.expected_at_entry,
            "counted_at": _iso(instance.counted_at),
            "correction": instance.correction,
        }


@extend_schema_serializer(component_name="Count")
class CountSerializer(serializers.Serializer[CountSession]):
    id = serializers.IntegerField(read_only=True)
    reference = serializers.CharField(
        read_only=True, help_text="What its movements carry as their reference: COUNT-{id}."
    )
    location = serializers.CharField(read_only=True, help_text="The location's code.")
    product = serializers.IntegerField(read_only=True, allow_null=True)
    status = serializers.ChoiceField(choices=CountStatus.choices, read_only=True)
    zero_uncounted = serializers.BooleanField(read_only=True)
    note = serializers.CharField(read_only=True)
    actor = serializers.CharField(read_only=True, help_text="Who started it.")
    lines_total = serializers.IntegerField(read_only=True)
    lines_counted = serializers.IntegerField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    applied_at = serializers.DateTimeField(read_only=True, allow_null=True)
    cancelled_at = serializers.DateTimeField(read_only=True, allow_null=True)

    def to_representation(self, instance: CountSession) -> dict[str, Any]:
        # By hand, from the session and what its selector joins and counts: one query a page.
        return {
            "id": instance.pk,
            "reference": instance.reference,
            "location": instance.location.code,
            "product": instance.product_id,
            "status": str(instance.status),
            "zero_uncounted": instance.zero_uncounted,
            "note": instance.note,
            "actor": instance.actor,
            "lines_total": instance.line_count,  # type: ignore[attr-defined]  # annotated
            "lines_counted": instance.counted_count,  # type: ignore[attr-defined]
            "created_at": _iso(instance.created_at),
            "applied_at": _iso(instance.applied_at),
            "cancelled_at": _iso(instance.cancelled_at),
        }


@extend_schema_serializer(component_name="CountDetail")
class CountDetailSerializer(CountSerializer):
    lines = CountLineSerializer(many=True, read_only=True)

    def to_representation(self, instance: CountSession) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["lines"] = [CountLineSerializer(line).data for line in instance.lines.all()]
        return data


@extend_schema_serializer(component_name="CountCorrection")
class CountCorrectionSerializer(serializers.Serializer[CountCorrection]):
    variant = serializers.IntegerField(read_only=True)
    sku = serializers.CharField(read_only=True)
    counted = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="null: not counted, zeroed with the rest."
    )
    expected_at_entry = serializers.IntegerField(read_only=True, allow_null=True)
    on_hand = serializers.IntegerField(
        read_only=True, help_text="Units on hand there now (applied: before the correction)."
    )
    committed = serializers.IntegerField(read_only=True)
    units = serializers.IntegerField(read_only=True, help_text="The signed correction.")
    on_hand_after = serializers.IntegerField(read_only=True)
    price = serializers.DecimalField(max_digits=10, decimal_places=2, read_only=True)
    value = serializers.DecimalField(
        max_digits=14, decimal_places=2, read_only=True, help_text="units times price."
    )
    refused = serializers.BooleanField(
        read_only=True,
        help_text="on_hand_after would be below the units committed to open orders: applying "
        "is refused (409 insufficient_stock) until it is not.",
    )

    def to_representation(self, instance: CountCorrection) -> dict[str, Any]:
        line, variant = instance.line, instance.line.variant
        return {
            "variant": variant.pk,
            "sku": variant.sku,
            "counted": line.counted,
            "expected_at_entry": line.expected_at_entry,
            "on_hand": instance.on_hand,
            "committed": instance.committed,
            "units": instance.units,
            "on_hand_after": instance.on_hand_after,
            "price": f"{variant.product.price:.2f}",
            "value": f"{instance.value:.2f}",
            "refused": instance.refused,
        }


@extend_schema_serializer(component_name="CountResult")
class CountResultSerializer(serializers.Serializer[CountResult]):
    count = serializers.IntegerField(read_only=True)
    status = serializers.ChoiceField(choices=CountStatus.choices, read_only=True)
    units = serializers.IntegerField(read_only=True, help_text="The corrections' sum.")
    value = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)
    corrections = CountCorrectionSerializer(many=True, read_only=True)

    def to_representation(self, instance: CountResult) -> dict[str, Any]:
        return {
            "count": instance.session.pk,
            "status": str(instance.session.status),
            "units": instance.units,
            "value": f"{instance.value:.2f}",
            "corrections": [CountCorrectionSerializer(c).data for c in instance.corrections],
        }


def _iso(value: Any) -> str | None:
    return serializers.DateTimeField().to_representation(value) if value is not None else None
