"""Input serializers take exactly the body their schema describes.

One rule for every JSON body, documented in the README ("Requests and answers"):

- A field the body does not take is a validation error naming it. Ignoring it would let a
  misspelt ``"prise"`` leave the price as it was while the client believes it changed, and
  would let a client believe it set what the server owns (an id, a quantity, a status).
- Each value has the JSON type the schema gives its field: whole numbers as JSON numbers
  without a fraction (``2``, not ``"2"`` or ``2.0``), booleans as ``true`` or ``false``, and
  text, choices, dates and prices as strings (a price as ``"29.90"``, as the API writes it: a
  JSON number would pass through binary floating point). ``null`` only where the schema says
  the field is nullable. DRF would convert ``"2"``, ``"yes"`` and ``1`` on its own, each field
  differently.
"""

from collections.abc import Mapping
from typing import Any, ClassVar

from rest_framework import serializers


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "a number"
    if isinstance(value, float):
        return "a number with a decimal point"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


# What each kind of field takes, most specific first: (field class, accepts, described as).
_EXPECTED: list[tuple[type[serializers.Field[Any, Any, Any, Any]], Any, str]] = [
    (serializers.BooleanField, lambda value: isinstance(value, bool), "true or false"),
    (
        serializers.IntegerField,
        lambda value: isinstance(value, int) and not isinstance(value, bool),
        "a whole number",
    ),
    (
        serializers.PrimaryKeyRelatedField,
        lambda value: isinstance(value, int) and not isinstance(value, bool),
        "a whole number",
    ),
    (serializers.DecimalField, lambda value: isinstance(value, str), 'a string such as "29.90"'),
    (serializers.CharField, lambda value: isinstance(value, str), "a string"),
    (serializers.ChoiceField, lambda value: isinstance(value, str), "a string"),
    (serializers.DateField, lambda value: isinstance(value, str), "a string"),
    (serializers.DateTimeField, lambda value: isinstance(value, str), "a string"),
]


def json_type_error(field: serializers.Field[Any, Any, Any, Any], value: Any) -> str | None:
    """Why ``value`` is not of the JSON type ``field`` takes, or None. Lists, objects and
    ``null`` are left to DRF, which names them already."""
    if value is None:
        return None
    for field_class, accepts, expected in _EXPECTED:
        if isinstance(field, field_class):
            return None if accepts(value) else f"Expected {expected}; got {_json_type(value)}."
    return None


class InputListSerializer(serializers.ListSerializer[Any]):
    """A list of objects in a body (an order's lines, a product's variants), each an input
    serializer; the schema states its bounds (``schema.InputListExtension``)."""


# The body of a write: its fields, each of its JSON type, and nothing else. (A comment, not a
# docstring: the schema would give it to every body as its description.)
class InputSerializer(serializers.Serializer[Any]):
    class Meta:
        list_serializer_class = InputListSerializer

    # Fields a resource shows but a body may not set, each with what to do instead.
    read_only_messages: ClassVar[dict[str, str]] = {}

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return super().to_internal_value(data)  # DRF's "Expected a dictionary" error
        errors: dict[str, list[str]] = {}
        for name in data:
            if name not in self.fields:
                errors[str(name)] = [self.read_only_messages.get(name) or self._unknown(name)]
        for name, field in self.fields.items():
            message = json_type_error(field, data[name]) if name in data else None
            if message:
                errors[name] = [message]
        try:
            # Only the values of the right type go on to their fields: a string of digits where
            # an id is expected never reaches a query.
            value = super().to_internal_value(
                {name: item for name, item in data.items() if name not in errors}
            )
        except serializers.ValidationError as error:
            if errors and isinstance(error.detail, dict):
                raise serializers.ValidationError({**error.detail, **errors}) from error
            raise
        if errors:
            raise serializers.ValidationError(errors)
        return value

    def _unknown(self, name: object) -> str:
        return f"Unknown field; the fields here are: {', '.join(self.fields)}."


class EmptyBodySerializer(InputSerializer):
    """The body of an action that takes none (an order's pay, fulfil, cancel): nothing, or an
    empty object. A field sent there would be ignored otherwise, and the client would believe
    it counted."""

    def _unknown(self, name: object) -> str:
        return "Unknown field; this action takes no body."
