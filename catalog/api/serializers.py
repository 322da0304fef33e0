"""Input serializers validate the shape of a request and never save; output serializers document
the answers in the schema and hand their instances to ``representations``, which renders them.

Values are checked with the same validators as the models, so a client learns of every mistake
in one answer, field by field; the services check again, and the database last.
"""

from collections import Counter
from typing import Any, cast

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from catalog import selectors, stock_port
from catalog.api import representations
from catalog.api.fields import BarcodeField, PriceField, SeasonCodeField, SkuField
from catalog.models import Category, Product, Size, Variant
from catalog.services import DEFAULT_LOW_STOCK_THRESHOLD, SKU_TAKEN, VariantSpec
from catalog.validators import (
    MAX_ID,
    MAX_QUANTITY,
    normalize_code,
    validate_gtin,
    validate_season_code,
    validate_sku,
)
from core.api.serializers import InputSerializer
from core.exceptions import Conflict

MAX_VARIANTS_PER_PRODUCT = len(Size.values)


def _run_django_validator(validator: Any, value: str) -> None:
    try:
        validator(value)
    except DjangoValidationError as error:
        raise serializers.ValidationError(error.messages) from error


# Input


class ProductInputSerializer(InputSerializer):
    category = serializers.ChoiceField(choices=Category.choices)
    name = serializers.CharField(max_length=200)
    color = serializers.CharField(max_length=50)
    price = PriceField(help_text='Greater than 0, at most two places, e.g. "29.90".')
    collection = SeasonCodeField(
        max_length=4, help_text="Season code, e.g. FW24 or SS25; lower case is accepted."
    )
    is_active = serializers.BooleanField(default=True)

    def validate_collection(self, value: str) -> str:
        value = normalize_code(value)
        _run_django_validator(validate_season_code, value)
        return value


VARIANTS_ELSEWHERE = (
    "Variants are changed one by one at /api/v1/variants/{id}/, and their stock through "
    "POST /api/v1/variants/{id}/adjust/ or /count/."
)
SERVER_OWNED = "Set by the server; leave it out."


class ProductUpdateSerializer(ProductInputSerializer):
    is_active = serializers.BooleanField(
        required=False, help_text="Unchanged when omitted (a PUT does not re-activate)."
    )

    read_only_messages = {
        "variants": VARIANTS_ELSEWHERE,
        **dict.fromkeys(("id", "currency", "created_at", "updated_at"), SERVER_OWNED),
    }


class VariantFieldsMixin(InputSerializer):
    """The fields of a variant that a client may set, checked value by value."""

    barcode = BarcodeField(
        max_length=14,
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="EAN-13 or another GTIN (8, 12, 13 or 14 digits) with a valid check digit.",
    )
    low_stock_threshold = serializers.IntegerField(
        min_value=0, max_value=MAX_QUANTITY, default=DEFAULT_LOW_STOCK_THRESHOLD
    )

    def validate_barcode(self, value: str | None) -> str | None:
        if not value:
            return None
        _run_django_validator(validate_gtin, value)
        return value


@extend_schema_serializer(component_name="ProductVariantCreate")
class VariantCreateFieldsSerializer(VariantFieldsMixin):
    sku = SkuField(
        max_length=64,
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="Generated when omitted. Never changes afterwards and is never reused.",
    )
    size = serializers.ChoiceField(choices=Size.choices)
    quantity = serializers.IntegerField(
        min_value=0,
        max_value=MAX_QUANTITY,
        default=0,
        help_text="The opening quantity; read-only afterwards (stock changes go through movements).",
    )
    location = serializers.CharField(
        required=False,
        help_text="The code of the active location that takes the opening quantity on hand "
        "(default: the default location).",
    )

    def validate_sku(self, value: str | None) -> str | None:
        if not value:
            return None
        value = normalize_code(value)
        _run_django_validator(validate_sku, value)
        return value

    def validate_location(self, value: str) -> stock_port.Location:
        try:
            return stock_port.location_for_stock(value)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.message_dict["location"]) from error


def repeated_codes_errors(rows: list[dict[str, Any]]) -> list[dict[str, list[str]]]:
    """Field errors, row by row, for SKUs and barcodes given to more than one row: the body
    contradicts itself (400)."""
    skus = Counter(row["sku"] for row in rows if row.get("sku"))
    barcodes = Counter(row["barcode"] for row in rows if row.get("barcode"))
    errors: list[dict[str, list[str]]] = []
    for row in rows:
        row_errors: dict[str, list[str]] = {}
        if row.get("sku") and skus[row["sku"]] > 1:
            row_errors["sku"] = ["This SKU is given to more than one variant."]
        if row.get("barcode") and barcodes[row["barcode"]] > 1:
            row_errors["barcode"] = ["This barcode is given to more than one variant."]
        errors.append(row_errors)
    return errors


def taken_codes_errors(
    rows: list[dict[str, Any]], *, exclude_variant: int | None = None
) -> list[dict[str, list[str]]]:
    """Field errors, row by row, for SKUs and barcodes that the catalog has already given out.

    Two queries for any number of rows; the services and the database check again, so a race
    between two requests ends in a clear error too.
    """
    issued = selectors.issued_skus([row["sku"] for row in rows if row.get("sku")])
    taken_barcodes = selectors.barcodes_in_use(
        [row["barcode"] for row in rows if row.get("barcode")], except_variant=exclude_variant
    )
    errors: list[dict[str, list[str]]] = []
    for row in rows:
        row_errors: dict[str, list[str]] = {}
        if row.get("sku") in issued:
            row_errors["sku"] = [SKU_TAKEN]
        if row.get("barcode") in taken_barcodes:
            row_errors["barcode"] = ["Another variant already has this barcode."]
        errors.append(row_errors)
    return errors


def raise_if_taken(details: dict[str, Any]) -> None:
    """A value the catalog already holds (a SKU, a barcode, a product's size) is a conflict
    with the data as it is (409 ``conflict``, the fields named in ``details``), the answer the
    database's unique constraints give when a concurrent write takes the value first. Checked
    only once the body is valid: its own mistakes (400) come first.

    Checked here, with two reads, rather than left to the service: the service stops at the
    first value it cannot claim, while this answer names every taken field of the body, each in
    its place among the variants. The service and the constraints still decide (a race ends in
    the same 409)."""
    if any(details.values()):
        raise Conflict(TAKEN_MESSAGE, details=details)


TAKEN_MESSAGE = "A value given is already taken in the catalog; see details for the fields."


class ProductCreateSerializer(ProductInputSerializer):
    variants = VariantCreateFieldsSerializer(  # type: ignore[call-arg]  # many=True makes a list
        many=True,
        required=False,
        max_length=MAX_VARIANTS_PER_PRODUCT,
        help_text="Created with the product, all or nothing: one per size.",
    )

    def validate_variants(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        sizes = Counter(row["size"] for row in rows)
        errors = repeated_codes_errors(rows)
        for row, row_errors in zip(rows, errors, strict=True):
            if sizes[row["size"]] > 1:
                row_errors["size"] = ["A product has one variant per size; this size is repeated."]
        if any(errors):
            raise serializers.ValidationError(errors)
        return rows

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        taken = taken_codes_errors(attrs.get("variants", []))
        if any(taken):
            raise_if_taken({"variants": taken})
        return attrs

    def variant_specs(self) -> list[VariantSpec]:
        return [VariantSpec(**row) for row in self.validated_data.get("variants", [])]


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_ID})
class ProductIdField(serializers.PrimaryKeyRelatedField[Product]):
    """A product's id (a whole number: ``InputSerializer`` lets nothing else through). One
    beyond the id column's range names no product, rather than overflow the query."""

    def to_internal_value(self, data: int) -> Product:  # type: ignore[override]
        if not 1 <= data <= MAX_ID:
            self.fail("does_not_exist", pk_value=data)
        return super().to_internal_value(data)  # type: ignore[arg-type]  # stubs: the instance


@extend_schema_serializer(component_name="VariantCreate")
class VariantCreateSerializer(VariantCreateFieldsSerializer):
    product = ProductIdField(queryset=Product.objects.all())

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        taken = taken_codes_errors([attrs])[0]
        if Variant.objects.filter(product=attrs["product"], size=attrs["size"]).exists():
            taken["size"] = ["This product already has a variant of this size."]
        raise_if_taken(taken)
        return attrs


class VariantUpdateSerializer(VariantFieldsMixin):
    """Only the barcode and the low-stock threshold change after creation; the other fields of
    a variant's representation are refused by name, each with where its change is made."""

    low_stock_threshold = serializers.IntegerField(
        min_value=0, max_value=MAX_QUANTITY, required=False
    )

    read_only_messages = {
        **dict.fromkeys(
            ("quantity", "on_hand", "committed", "levels"),
            "The quantity cannot be set here: use POST /api/v1/variants/{id}/adjust/ (a change "
            "with a reason) or POST /api/v1/variants/{id}/count/ (a counted quantity).",
        ),
        "size": "A variant's size cannot change; create a variant of the other size.",
        "sku": "A variant's SKU cannot change.",
        "product": "A variant cannot move to another product.",
        **dict.fromkeys(
            (
                "id",
                "in_stock",
                "low_stock",
                "product_name",
                "created_at",
                "updated_at",
            ),
            SERVER_OWNED,
        ),
    }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        variant = cast(Variant, self.instance)
        if attrs.get("barcode"):
            raise_if_taken(taken_codes_errors([attrs], exclude_variant=variant.pk)[0])
        return attrs


# Output
#
# An answer's JSON is defined once, in catalog.api.representations, which these serializers hand
# their instances to: their fields document the answer in the schema, and a test holds them to
# the keys the representations give.


STOCK_WHERE = "Over every location, or at `location` when the read names one."


@extend_schema_serializer(component_name="ProductVariant")
class VariantSummarySerializer(serializers.Serializer[Variant]):
    id = serializers.IntegerField(read_only=True)
    size = serializers.ChoiceField(choices=Size.choices, read_only=True)
    sku = serializers.CharField(read_only=True)
    barcode = serializers.CharField(read_only=True, allow_null=True)
    quantity = serializers.IntegerField(
        read_only=True, help_text=f"Units available to sell: on hand less committed. {STOCK_WHERE}"
    )
    in_stock = serializers.BooleanField(
        read_only=True, help_text=f"Some units are available. {STOCK_WHERE}"
    )
    low_stock = serializers.BooleanField(
        read_only=True,
        help_text=f"Available units at or below the low-stock threshold. {STOCK_WHERE}",
    )
    on_hand = serializers.IntegerField(
        read_only=True, help_text=f"Units physically there, committed ones included. {STOCK_WHERE}"
    )
    committed = serializers.IntegerField(
        read_only=True,
        help_text=f"Units committed to open orders, not picked yet. {STOCK_WHERE}",
    )

    def to_representation(self, instance: Variant) -> dict[str, Any]:
        return representations.variant_summary(instance)


@extend_schema_serializer(component_name="Product")
class ProductOutputSerializer(serializers.Serializer[Product]):
    id = serializers.IntegerField(read_only=True)
    category = serializers.ChoiceField(choices=Category.choices, read_only=True)
    name = serializers.CharField(read_only=True)
    color = serializers.CharField(read_only=True)
    price = serializers.DecimalField(max_digits=10, decimal_places=2, read_only=True)
    currency = serializers.CharField(read_only=True)
    collection = serializers.CharField(read_only=True)
    is_active = serializers.BooleanField(read_only=True)
    variants = VariantSummarySerializer(many=True, read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    def to_representation(self, instance: Product) -> dict[str, Any]:
        return representations.product(instance)


@extend_schema_serializer(component_name="Variant")
class VariantOutputSerializer(VariantSummarySerializer):
    product = serializers.IntegerField(source="product_id", read_only=True)
    product_name = serializers.CharField(source="product.name", read_only=True)
    low_stock_threshold = serializers.IntegerField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    def to_representation(self, instance: Variant) -> dict[str, Any]:
        return representations.variant(instance)


@extend_schema_serializer(component_name="LevelSettings")
class LevelSettingsSerializer(serializers.Serializer[Any]):
    low_stock_threshold = serializers.IntegerField(read_only=True, allow_null=True)
    target = serializers.IntegerField(read_only=True, allow_null=True)


@extend_schema_serializer(component_name="VariantStockLevel")
class VariantLevelSerializer(serializers.Serializer[Any]):
    location = serializers.CharField(read_only=True, help_text="The location's code.")
    on_hand = serializers.IntegerField(read_only=True)
    committed = serializers.IntegerField(read_only=True)
    available = serializers.IntegerField(read_only=True, help_text="On hand less committed.")
    incoming = serializers.IntegerField(
        read_only=True,
        help_text="Units shipped there by transfers and not received yet: on hand nowhere.",
    )
    low_stock_threshold = serializers.IntegerField(
        read_only=True,
        help_text="The threshold that applies there: the level's own (settings), else the "
        "variant's.",
    )
    target = serializers.IntegerField(
        read_only=True,
        help_text="The units a replenishment brings the level up to: the level's own "
        "(settings), else low_stock_threshold + 1; never below low_stock_threshold + 1.",
    )
    low_stock = serializers.BooleanField(
        read_only=True, help_text="available is at or below low_stock_threshold there."
    )
    settings = LevelSettingsSerializer(
        read_only=True,
        help_text="What was set for the level there (PUT /api/v1/variants/{id}/levels/"
        "{location}/); null where the defaults apply.",
    )


@extend_schema_serializer(component_name="VariantDetail")
class VariantDetailOutputSerializer(VariantOutputSerializer):
    levels = VariantLevelSerializer(
        many=True,
        read_only=True,
        help_text="The variant's stock at every active location, by code (0 where it has none).",
    )

    def to_representation(self, instance: Variant) -> dict[str, Any]:
        return representations.variant_detail(instance)
