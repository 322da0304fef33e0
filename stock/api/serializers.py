"""The stock endpoints' serializers: a change of stock and a location in; a movement of the
ledger, a location and a stock level out."""

from typing import Any, cast

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from catalog.api.fields import SkuField
from catalog.api.serializers import (
    SERVER_OWNED,
    LevelSettingsSerializer,
    VariantOutputSerializer,
)
from catalog.models import Size
from catalog.validators import MAX_ID, MAX_QUANTITY
from core.api.models import ApiKey
from core.api.serializers import InputSerializer
from stock.api.fields import LocationCodeField, StockLocationField
from stock.models import (
    NOTE_MAX_LENGTH,
    REFERENCE_MAX_LENGTH,
    Location,
    LocationKind,
    MovementReason,
    StockLevel,
    StockMovement,
)
from stock.services import (
    MANUAL_REASON_CHOICES,
    MANUAL_REASONS,
    stock_reason_errors,
)

WHERE_STOCK_CHANGES = (
    "The code of the location whose stock changes, any case; the default location when "
    "omitted. An unknown or archived location is refused."
)


class VariantLineInputSerializer(InputSerializer):
    """A line naming a variant by id or by SKU (one of the two), with a quantity: an order's
    line, a transfer's."""

    variant = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_ID,
        help_text="The variant's id, or give its sku.",
    )
    sku = SkuField(required=False, max_length=64, help_text="Or the variant's SKU, any case.")
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("variant" in attrs) == ("sku" in attrs):
            raise serializers.ValidationError(
                {"variant": ["Give the variant's id or its sku (one of the two)."]}
            )
        return attrs


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
    location = StockLocationField(required=False, help_text=WHERE_STOCK_CHANGES)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        errors = stock_reason_errors(reason=attrs["reason"], delta=attrs["delta"])
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class StockCountSerializer(InputSerializer):
    quantity = serializers.IntegerField(
        min_value=0,
        max_value=MAX_QUANTITY,
        help_text="The units counted on the shelf at the location, those committed to open "
        "orders included.",
    )
    expected_quantity = serializers.IntegerField(
        min_value=0,
        max_value=MAX_QUANTITY,
        required=False,
        allow_null=True,
        default=None,
        help_text="The units on hand there when the count started; if that has changed since, "
        "the count is refused (409 stock_count_mismatch) and nothing changes.",
    )
    note = serializers.CharField(
        max_length=NOTE_MAX_LENGTH, required=False, allow_blank=True, default=""
    )
    location = StockLocationField(required=False, help_text=WHERE_STOCK_CHANGES)


class StockMovementSerializer(serializers.Serializer[StockMovement]):
    id = serializers.IntegerField(read_only=True)
    variant = serializers.IntegerField(source="variant_id", read_only=True)
    sku = serializers.CharField(source="variant.sku", read_only=True)
    location = serializers.CharField(
        source="location.code", read_only=True, help_text="The code of the location."
    )
    delta = serializers.IntegerField(read_only=True, help_text="The same as on_hand_delta.")
    quantity_after = serializers.IntegerField(
        read_only=True, help_text="The same as on_hand_after."
    )
    on_hand_delta = serializers.IntegerField(
        source="delta", read_only=True, help_text="The signed change of the units on hand."
    )
    on_hand_after = serializers.IntegerField(
        source="quantity_after",
        read_only=True,
        help_text="The units on hand at the location after it.",
    )
    committed_delta = serializers.IntegerField(
        read_only=True, help_text="The signed change of the units committed to open orders."
    )
    committed_after = serializers.IntegerField(
        read_only=True, help_text="The units committed at the location after it."
    )
    incoming_delta = serializers.IntegerField(
        read_only=True,
        help_text="The signed change of the units in transit to the location by transfers "
        "(shipped: positive; received, cancelled or lost on the way: negative).",
    )
    incoming_after = serializers.IntegerField(
        read_only=True, help_text="The units in transit to the location after it."
    )
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


# Locations


# The column's length, checked before the database does.
LOCATION_NAME_MAX_LENGTH = cast(int, Location._meta.get_field("name").max_length)
IS_DEFAULT_HELP = (
    "Where changes and orders that name no location happen. Exactly one location is the "
    "default: making this one the default takes it from the other."
)


class LocationCreateSerializer(InputSerializer):
    code = LocationCodeField(
        help_text="Up to 16 letters, digits and inner hyphens, e.g. STORE-01; lower case is "
        "accepted. Unique, and never changes afterwards."
    )
    name = serializers.CharField(max_length=LOCATION_NAME_MAX_LENGTH)
    kind = serializers.ChoiceField(choices=LocationKind.choices)
    is_active = serializers.BooleanField(
        default=True, help_text="false: archived, holding no stock and taking none."
    )
    is_default = serializers.BooleanField(default=False, help_text=IS_DEFAULT_HELP)


class LocationUpdateSerializer(InputSerializer):
    """Everything but the code, each field unchanged when omitted."""

    name = serializers.CharField(max_length=LOCATION_NAME_MAX_LENGTH, required=False)
    kind = serializers.ChoiceField(choices=LocationKind.choices, required=False)
    is_active = serializers.BooleanField(
        required=False,
        help_text="false archives the location: refused while it holds stock, or while it is "
        "the default.",
    )
    is_default = serializers.BooleanField(
        required=False,
        help_text="true makes this the default location. The default cannot be unset directly: "
        "make another location the default.",
    )

    read_only_messages = {
        "code": (
            "A location's code never changes: labels, orders and the ledger name it. Create "
            "a new location, and archive this one once it is empty."
        ),
        "id": SERVER_OWNED,
    }


@extend_schema_serializer(component_name="Location")
class LocationOutputSerializer(serializers.Serializer[Location]):
    id = serializers.IntegerField(read_only=True)
    code = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    kind = serializers.ChoiceField(choices=LocationKind.choices, read_only=True)
    is_active = serializers.BooleanField(read_only=True)
    is_default = serializers.BooleanField(read_only=True, help_text=IS_DEFAULT_HELP)

    def to_representation(self, instance: Location) -> dict[str, Any]:
        return {
            "id": instance.pk,
            "code": instance.code,
            "name": instance.name,
            "kind": str(instance.kind),
            "is_active": instance.is_active,
            "is_default": instance.is_default,
        }


# Stock levels


@extend_schema_serializer(component_name="StockLevel")
class StockLevelSerializer(serializers.Serializer[StockLevel]):
    """One variant at one location (archived locations included)."""

    variant = serializers.IntegerField(read_only=True)
    sku = serializers.CharField(read_only=True)
    product = serializers.IntegerField(read_only=True)
    size = serializers.ChoiceField(choices=Size.choices, read_only=True)
    location = serializers.CharField(read_only=True, help_text="The code of the location.")
    on_hand = serializers.IntegerField(read_only=True, help_text="Units on the shelf there.")
    committed = serializers.IntegerField(
        read_only=True, help_text="Units of on_hand committed to open orders, not picked yet."
    )
    available = serializers.IntegerField(
        read_only=True, help_text="Units that can be sold there: on_hand - committed."
    )
    incoming = serializers.IntegerField(
        read_only=True,
        help_text="Units shipped there by transfers and not received yet: on hand nowhere, "
        "not available anywhere.",
    )
    low_stock_threshold = serializers.IntegerField(
        read_only=True,
        help_text="The threshold that applies here: the level's own (settings), else the "
        "variant's.",
    )
    target = serializers.IntegerField(
        read_only=True,
        help_text="The units a replenishment brings this level up to: the level's own "
        "(settings), else low_stock_threshold + 1; never below low_stock_threshold + 1.",
    )
    low_stock = serializers.BooleanField(
        read_only=True, help_text="available is at or below low_stock_threshold."
    )
    settings = LevelSettingsSerializer(
        read_only=True,
        help_text="What was set for this level (PUT /api/v1/variants/{id}/levels/{location}/); "
        "null where the defaults apply.",
    )

    def to_representation(self, instance: StockLevel) -> dict[str, Any]:
        # By hand, from the level and the variant and location its selector joins: a page of
        # levels is read by one query, and rendered without a field object per value.
        variant = instance.variant
        threshold = instance.effective_low_stock_threshold
        available = instance.available
        return {
            "variant": instance.variant_id,
            "sku": variant.sku,
            "product": variant.product_id,
            "size": str(variant.size),
            "location": instance.location.code,
            "on_hand": instance.on_hand,
            "committed": instance.committed,
            "available": available,
            "incoming": instance.incoming,
            "low_stock_threshold": threshold,
            "target": instance.effective_target,
            "low_stock": available <= threshold,
            "settings": {
                "low_stock_threshold": instance.low_stock_threshold,
                "target": instance.target,
            },
        }


@extend_schema_serializer(component_name="StockLevelSettings")
class StockLevelSettingsInputSerializer(InputSerializer):
    """A level's own threshold and target, both given (null clears one)."""

    read_only_messages = {
        **dict.fromkeys(
            ("on_hand", "committed", "available"),
            "Stock changes through POST /api/v1/variants/{id}/adjust/ or /count/.",
        ),
        **dict.fromkeys(
            ("variant", "sku", "product", "size", "location", "low_stock", "settings"),
            SERVER_OWNED,
        ),
    }

    low_stock_threshold = serializers.IntegerField(
        min_value=0,
        max_value=MAX_QUANTITY,
        allow_null=True,
        help_text="At or below this many units available there the level is low; null: the "
        "variant's low_stock_threshold applies.",
    )
    target = serializers.IntegerField(
        min_value=1,
        max_value=MAX_QUANTITY,
        allow_null=True,
        help_text="The units a replenishment brings the level up to, above the threshold that "
        "applies; null: that threshold + 1.",
    )
