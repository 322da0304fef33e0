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

from core.api.renderers import JSONRenderer

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


@pytest.mark.django_db
def test_every_json_answer_is_written_the_same_way(key_client, make_product, client):
    """A DRF answer, an unknown route's 404, a replayed answer and a health check: one style."""
    api = key_client("stock:write")
    variant = make_product(stock={"S-M": 5}).variants.get()
    url = f"/api/v1/variants/{variant.pk}/adjust/"
    body = {"delta": 1, "reason": "received"}
    answers = [
        api.get(f"/api/v1/variants/{variant.pk}/"),
        api.get("/api/v1/no-such-thing/"),
        api.post(url, body, HTTP_IDEMPOTENCY_KEY="same-style"),
        api.post(url, body, HTTP_IDEMPOTENCY_KEY="same-style"),  # the replay
        client.get("/healthz"),
    ]
    assert answers[3]["Idempotent-Replayed"] == "true"
    for response in answers:
        assert response["Content-Type"] == "application/json"
        data = response.json()
        assert response.content == JSONRenderer().render(data), response.content
        assert b'": ' not in response.content
        assert b'", "' not in response.content
