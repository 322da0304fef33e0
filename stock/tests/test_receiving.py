"""Receiving a delivery: several variants, a quantity and a reason each, all or nothing."""

import pytest
from django.core.exceptions import ValidationError

from catalog.models import Variant
from catalog.validators import MAX_QUANTITY
from core.actors import Actor
from stock import services as stock_services
from stock.models import StockMovement
from stock.receiving import ReceiveLine, stock_receive

pytestmark = pytest.mark.django_db

CLERK = Actor(kind="system", name="clerk")


@pytest.fixture
def variants(make_product):
    tee = make_product(name="Tee", stock={"S-M": 1, "L-XL": 0})
    pants = make_product(name="Pants", category="Pants", stock={"One Size": 4})
    return [*tee.variants.order_by("pk"), *pants.variants.all()]


def _state():
    return dict(Variant.objects.values_list("pk", "quantity")), StockMovement.objects.count()


def test_a_delivery_adds_each_line_with_its_reason_as_the_actor(variants):
    sm, lxl, one = variants
    before = StockMovement.objects.count()
    result = stock_receive(
        [
            ReceiveLine(variant_id=one.pk, quantity=2, reason="returned"),
            ReceiveLine(variant_id=sm.pk, quantity=6),
            ReceiveLine(variant_id=lxl.pk, quantity=3, reason="correction"),
        ],
        actor=CLERK,
    )
    assert (result.variant_count, result.units) == (3, 11)
    assert _state()[0] == {sm.pk: 7, lxl.pk: 3, one.pk: 6}
    movements = list(StockMovement.objects.order_by("id")[before:])
    assert [(m.variant_id, m.delta, m.reason, m.quantity_after) for m in movements] == [
        (one.pk, 2, "returned", 6),
        (sm.pk, 6, "received", 7),
        (lxl.pk, 3, "correction", 3),
    ]
    assert list(result.movements) == movements
    assert {(m.actor_kind, m.actor, m.note, m.reference) for m in movements} == {
        ("system", "clerk", "Delivery", "")
    }


def test_a_delivery_carries_the_callers_note_and_reference(variants):
    result = stock_receive(
        [ReceiveLine(variant_id=variants[0].pk, quantity=1)],
        actor=CLERK,
        note="Spring restock",
        reference="DN-42",
    )
    [movement] = result.movements
    movement.refresh_from_db()
    assert (movement.note, movement.reference) == ("Spring restock", "DN-42")


def test_every_variant_is_locked_at_once_before_any_change(variants, monkeypatch):
    """One lock over the whole delivery, in key order, then one write per reason: locking per
    reason would lock in reason order and could deadlock with an order."""
    calls = []
    lock = stock_services.stock_lock

    def recording_lock(**kwargs):
        calls.append(sorted(kwargs["ids"]))
        return lock(**kwargs)

    monkeypatch.setattr(stock_services, "stock_lock", recording_lock)
    sm, lxl, one = variants
    stock_receive(
        [
            ReceiveLine(variant_id=one.pk, quantity=1, reason="returned"),
            ReceiveLine(variant_id=sm.pk, quantity=1),
            ReceiveLine(variant_id=lxl.pk, quantity=1),
        ],
        actor=CLERK,
    )
    assert calls[0] == sorted(v.pk for v in variants)
    assert calls[1:] == [[one.pk], [sm.pk, lxl.pk]]


@pytest.mark.parametrize(
    ("lines", "code", "message"),
    [
        (lambda v: [], "empty", "at least one line"),
        (
            lambda v: [ReceiveLine(v[0].pk, 2), ReceiveLine(v[1].pk, 0)],
            "invalid_quantity",
            f"Variant {{1}}: a received quantity is from 1 to {MAX_QUANTITY}.",
        ),
        (
            lambda v: [ReceiveLine(v[0].pk, -3)],
            "invalid_quantity",
            "Variant {0}: a received quantity",
        ),
        (
            lambda v: [ReceiveLine(v[0].pk, MAX_QUANTITY + 1)],
            "invalid_quantity",
            "Variant {0}: a received quantity",
        ),
        (
            lambda v: [ReceiveLine(v[0].pk, 2, reason="damaged")],
            "invalid_reason",
            "Variant {0}: a delivery's reason is one of received, returned, correction.",
        ),
        (
            lambda v: [ReceiveLine(v[0].pk, 2, reason="sale")],
            "invalid_reason",
            "reason is one of",
        ),
        (
            lambda v: [
                ReceiveLine(v[0].pk, 2),
                ReceiveLine(v[1].pk, 1),
                ReceiveLine(v[0].pk, 3, reason="returned"),
            ],
            "duplicate_variant",
            "Variant {0} is in the delivery more than once.",
        ),
        (
            lambda v: [ReceiveLine(v[0].pk, 2), ReceiveLine(v[2].pk + 1000, 1)],
            "unknown_variant",
            "No variant with id {missing}; nothing was received.",
        ),
    ],
    ids=[
        "no-lines",
        "zero",
        "negative",
        "over-the-ceiling",
        "decreasing-reason",
        "order-reason",
        "variant-twice",
        "unknown-variant",
    ],
)
def test_bad_input_is_refused_and_changes_nothing(variants, lines, code, message):
    before = _state()
    with pytest.raises(ValidationError) as raised:
        stock_receive(lines(variants), actor=CLERK)
    assert raised.value.code == code
    expected = message.format(*(v.pk for v in variants), missing=variants[2].pk + 1000)
    assert expected in " ".join(raised.value.messages)
    assert _state() == before


def test_a_line_that_would_pass_the_ceiling_rolls_back_the_whole_delivery(variants):
    """The first reason's lines are written before the second's are refused: all roll back."""
    sm, lxl, _ = variants
    stock_services.stock_adjust(variant_id=lxl.pk, delta=1, reason="received", actor=CLERK)
    before = _state()
    with pytest.raises(ValidationError, match=f"cannot exceed {MAX_QUANTITY}"):
        stock_receive(
            [
                ReceiveLine(variant_id=sm.pk, quantity=2),
                ReceiveLine(variant_id=lxl.pk, quantity=MAX_QUANTITY, reason="returned"),
            ],
            actor=CLERK,
        )
    assert _state() == before
