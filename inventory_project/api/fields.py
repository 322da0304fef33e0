"""Serializer fields shared by the apps' APIs."""

import re
from typing import Any

from rest_framework import serializers

_WHOLE_NUMBER = re.compile(r"\s*-?[0-9]+\s*")


class WholeNumberField(serializers.IntegerField):
    """An integer written as one: ``3`` or ``"3"``, never ``3.0``, ``3.5`` or ``"3.0"``.

    DRF's IntegerField accepts ``3.0`` and drops the fraction. A float that reaches the API has
    been computed or converted by the client, and above 2**53 it is not even the number the client
    meant (an id of 9007199254740993.0 arrives as ...992), so it is refused rather than rounded.
    """

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, float) or (isinstance(data, str) and not _WHOLE_NUMBER.fullmatch(data)):
            self.fail("invalid")
        return super().to_internal_value(data)
