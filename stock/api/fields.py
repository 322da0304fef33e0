"""Fields of the stock's values, each stating in the schema the rule the server checks."""

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog.validators import normalize_code
from stock.models import LOCATION_CODE_MAX_LENGTH, LOCATION_CODE_PATTERN, Location
from stock.selectors import location_for_stock

# What a client may write for a location's code: lower case too (it is read upper case).
LOCATION_CODE_INPUT_PATTERN = r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,14}[A-Za-z0-9])?$"
_location_code = RegexValidator(
    LOCATION_CODE_PATTERN,
    f"A location's code is up to {LOCATION_CODE_MAX_LENGTH} letters, digits and inner "
    "hyphens, e.g. STORE-01.",
)


@extend_schema_field(
    {"type": "string", "pattern": LOCATION_CODE_INPUT_PATTERN, "example": "STORE-01"}
)
class LocationCodeField(serializers.CharField):
    """A location's code, in any case; the value is its upper-case form."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=LOCATION_CODE_MAX_LENGTH, **kwargs)

    def to_internal_value(self, data: Any) -> Any:
        code = normalize_code(super().to_internal_value(data))
        try:
            _location_code(code)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from error
        return code


class StockLocationField(LocationCodeField):
    """Where stock changes: the code of an active location, in any case. The value is the
    location; a code that names none, or an archived one, is an error on this field."""

    def run_validation(self, data: Any = serializers.empty) -> Location:
        code = super().run_validation(data)  # a code in its form, or an error without a query
        try:
            return location_for_stock(code)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from error
