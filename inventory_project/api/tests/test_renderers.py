"""The orjson renderer writes exactly what DRF's renderer writes."""

import datetime
import uuid
from decimal import Decimal

import pytest
from django.utils import timezone
from django.utils.translation import gettext_lazy
from rest_framework import renderers
from rest_framework.exceptions import ErrorDetail
from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList

from inventory_project.api.renderers import JSONRenderer

PAYLOADS = [
    {"price": Decimal("29.90"), "name": "Tee \u00e9t\u00e9 \u2603", "ok": True, "none": None},
    {"at": datetime.datetime(2026, 11, 21, 23, 5, 7, 123456, tzinfo=datetime.UTC)},
    {"at": timezone.now(), "day": datetime.date(2026, 1, 31), "time": datetime.time(9, 30)},
    {"lazy": gettext_lazy("Not found."), "detail": ErrorDetail("bad", code="invalid")},
    ReturnDict({"results": ReturnList([{"id": 1}, {"id": 2}], serializer=None)}, serializer=None),  # type: ignore[call-overload]
    [1, 2.5, -3, 2**53, "x" * 1000],
    {"id": uuid.UUID("12345678-1234-5678-1234-567812345678")},
    {"nested": {"deep": [{"a": [Decimal("0.10"), Decimal("1E+2")]}]}},
]


@pytest.mark.parametrize("data", PAYLOADS)
def test_the_same_bytes_as_drf(data):
    assert JSONRenderer().render(data) == renderers.JSONRenderer().render(data)


def test_indented_output_when_asked():
    data = {"a": [1, 2]}
    indented = JSONRenderer().render(data, "application/json; indent=2", {})
    assert indented == renderers.JSONRenderer().render(data, "application/json; indent=2", {})
    assert b"\n  " in indented


def test_nothing_renders_as_empty():
    assert JSONRenderer().render(None) == b""
