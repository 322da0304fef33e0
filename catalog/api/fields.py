"""Fields of the catalog's values, each stating in the schema the rule the server checks, so
that a value a client (or a fuzzer) builds from the schema is one the server takes."""

import re
from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog.validators import (
    GTIN_PATTERN,
    PRICE_PATTERN,
    SEASON_CODE_INPUT_PATTERN,
    SKU_INPUT_PATTERN,
)

_PRICE = re.compile(PRICE_PATTERN)


@extend_schema_field(
    {"type": "string", "format": "decimal", "pattern": PRICE_PATTERN, "example": "29.90"}
)
class PriceField(serializers.DecimalField):
    """A price in the store's currency: greater than 0, two places at most, written as the API
    writes it. Decimal would also read "2.99e1", "+29.90", "029.90" or "29.": the pattern the
    schema states is the one the server holds to."""

    default_error_messages = {
        "pattern": 'Write a price as digits, with at most two places after a point, e.g. "29.90".'
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_digits=10, decimal_places=2, min_value=Decimal("0.01"), **kwargs)

    def to_internal_value(self, data: Any) -> Decimal:
        value: Decimal = super().to_internal_value(data)  # a number with two places at most
        # Below the minimum, the range's own message says what is wrong (the validators next).
        written_otherwise = isinstance(data, str) and not _PRICE.fullmatch(data)
        if written_otherwise and value >= Decimal("0.01"):
            self.fail("pattern")
        return value


@extend_schema_field({"type": "string", "pattern": SEASON_CODE_INPUT_PATTERN, "example": "FW24"})
class SeasonCodeField(serializers.CharField):
    """FW or SS and two digits, in any case."""


@extend_schema_field(
    {"type": "string", "pattern": SKU_INPUT_PATTERN, "example": "TEE-FW24-001-LXL"}
)
class SkuField(serializers.CharField):
    """Letters, digits and inner hyphens, 64 at most, in any case."""


# The check digit is a rule no pattern can state: "gtin" names it, and the README explains it.
@extend_schema_field(
    {"type": "string", "format": "gtin", "pattern": GTIN_PATTERN, "example": "4006381333931"}
)
class BarcodeField(serializers.CharField):
    """A GTIN (EAN-13, or 8, 12 or 14 digits) with a valid check digit."""
