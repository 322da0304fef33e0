"""The stock endpoints' serializers: a change of stock in, a movement of the ledger out."""

from typing import Any

from rest_framework import serializers

from catalog.api.serializers import VariantOutputSerializer
from catalog.validators import MAX_QUANTITY
from core.api.models import ApiKey
from core.api.serializers import InputSerializer
from stock.models import NOTE_MAX_LENGTH, REFERENCE_MAX_LENGTH, MovementReason, StockMovement
from stock.services import (
    MANUAL_REASON_CHOICES,
    MANUAL_REASONS,
    stock_reason_errors,
)


class StockAdjustSerializer(InputSerializer):
    delta = serializers.IntegerField(
        min_value=-MAX_QUANTITY,
        max_value=MAX_QUANTITY,
        help_text="The signed change: positive for received and returned, negative for damaged "
        "and lost, either for a correction.",
    )
    reason = serializers.ChoiceField(
        choices=MANUAL_REASON_CHOICES,
        error_messages={
            "invalid_choice": (
                f'"{{input}}" cannot be given here. Use {", ".join(MANUAL_REASONS)}; sales and '
                "cancellations come from orders, counts from /count/."
            )
        },
    )
    note = serializers.CharField(
        max_length=NOTE_MAX_LENGTH, required=False, allow_blank=True, default=""
    )
    reference = serializers.CharField(
        max_length=REFERENCE_MAX_LENGTH,
        required=False,
        allow_blank=True,
        default="",
        help_text="e.g. a delivery note number",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        errors = stock_reason_errors(reason=attrs["reason"], delta=attrs["delta"])
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class StockCountSerializer(InputSerializer):
    quantity = serializers.IntegerField(
        min_value=0, max_value=MAX_QUANTITY, help_text="The quantity counted on the shelf."
    )
    expected_quantity = serializers.IntegerField(
        min_value=0,
        max_value=MAX_QUANTITY,
        required=False,
        allow_null=True,
        default=None,
        help_text="The quantity when the count started; if it has changed since, the count is "
        "refused (409 stock_count_mismatch) and nothing changes.",
    )
    note = serializers.CharField(
        max_length=NOTE_MAX_LENGTH, required=False, allow_blank=True, default=""
    )


class StockMovementSerializer(serializers.Serializer[StockMovement]):
    id = serializers.IntegerField(read_only=True)
    variant = serializers.IntegerField(source="variant_id", read_only=True)
    sku = serializers.CharField(source="variant.sku", read_only=True)
    delta = serializers.IntegerField(read_only=True)
    quantity_after = serializers.IntegerField(read_only=True)
    reason = serializers.ChoiceField(choices=MovementReason.choices, read_only=True)
    actor = serializers.CharField(read_only=True, help_text="The user's or the API key's name.")
    note = serializers.CharField(read_only=True)
    reference = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)

    def to_representation(self, instance: StockMovement) -> dict[str, Any]:
        data: dict[str, Any] = super().to_representation(instance)
        # A client sees the stock move, not who else moved it: another client's key name, order
        # number and note stay with the store's staff.
        request = self.context.get("request")
        caller = getattr(request, "auth", None)
        if isinstance(caller, ApiKey) and instance.api_key_id not in (None, caller.pk):
            data.update(actor=OTHER_CLIENT, reference="", note="")
        return data


OTHER_CLIENT = "another client"


class StockResultSerializer(serializers.Serializer[Any]):
    variant = VariantOutputSerializer(read_only=True)
    movement = StockMovementSerializer(read_only=True)
