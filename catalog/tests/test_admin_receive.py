"""Receiving a delivery for several variants at once from the variants' list."""

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from catalog.models import Variant
from catalog.validators import MAX_QUANTITY
from conftest import TEST_ACTOR
from stock.locations import location_create
from stock.models import StockLevel, StockMovement
from stock.services import stock_adjust

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:catalog_variant_changelist")


@pytest.fixture
def variants(make_product):
    tee = make_product(name="Tee", stock={"S-M": 1, "L-XL": 0})
    pants = make_product(name="Pants", category="Pants", stock={"One Size": 4})
    return [*tee.variants.order_by("pk"), *pants.variants.all()]


@pytest.fixture
def clerk_web(login, store_staff):
    return login(store_staff)


def _choose(client, variants):
    return client.post(
        CHANGELIST,
        {"action": "receive_stock", "_selected_action": [v.pk for v in variants]},
    )


def _apply(client, variants, rows, location=None):
    data = {
        **({"receive-location": location} if location is not None else {}),
        "action": "receive_stock",
        "_selected_action": [v.pk for v in variants],
        "apply": "Receive stock",
        "receive-TOTAL_FORMS": str(len(rows)),
        "receive-INITIAL_FORMS": str(len(rows)),
        "receive-MIN_NUM_FORMS": "0",
        "receive-MAX_NUM_FORMS": "1000",
    }
    for index, (variant_id, quantity, reason) in enumerate(rows):
        data[f"receive-{index}-variant"] = str(variant_id)
        data[f"receive-{index}-quantity"] = str(quantity)
        data[f"receive-{index}-reason"] = reason
    return client.post(CHANGELIST, data, follow=True)


def _quantities():
    return dict(Variant.objects.values_list("sku", "quantity"))


def test_the_form_lists_each_selected_variant(clerk_web, variants):
    response = _choose(clerk_web, variants[:2])
    assert response.status_code == 200
    html = response.content.decode()
    assert "Receive stock" in html
    for variant in variants[:2]:
        assert f'data-sku="{variant.sku}"' in html
    assert f'data-sku="{variants[2].sku}"' not in html


def test_a_delivery_is_applied_with_a_reason_per_variant_as_the_staff_user(clerk_web, variants):
    sm, lxl, one = variants
    before = StockMovement.objects.count()
    response = _apply(
        clerk_web,
        variants,
        [(sm.pk, 6, "received"), (lxl.pk, 0, "received"), (one.pk, 2, "returned")],
    )
    assert "Received 8 units for 2 variants at MAIN." in response.content.decode()
    assert _quantities() == {sm.sku: 7, lxl.sku: 0, one.sku: 6}
    movements = list(StockMovement.objects.order_by("id")[before:])
    assert [(m.variant_id, m.delta, m.reason, m.quantity_after) for m in movements] == [
        (sm.pk, 6, "received", 7),
        (one.pk, 2, "returned", 6),
    ]
    assert {(m.actor_kind, m.actor) for m in movements} == {("user", "clerk")}


@pytest.mark.parametrize(
    ("rows", "error"),
    [
        (lambda v: [(v[0].pk, 0, "received"), (v[1].pk, 0, "received")], "at least one variant"),
        (
            lambda v: [(v[0].pk, -3, "received"), (v[1].pk, 2, "received")],
            "greater than or equal to 0",
        ),
        (lambda v: [(v[0].pk, 2, "sale"), (v[1].pk, 2, "received")], "Select a valid choice"),
        (
            lambda v: [(v[0].pk, 2, "received"), (v[2].pk, 2, "received")],
            "selected variants changed",
        ),
        (
            lambda v: [(v[0].pk, 2, "received"), (v[1].pk, MAX_QUANTITY, "received")],
            None,
        ),
    ],
)
def test_a_bad_delivery_changes_nothing(clerk_web, variants, rows, error):
    if error is None:  # over the ceiling, once the second variant's stock is counted in
        stock_adjust(variant_id=variants[1].pk, delta=1, reason="received", actor=TEST_ACTOR)
        error = f"cannot exceed {MAX_QUANTITY}"
    before = (_quantities(), StockMovement.objects.count())
    response = _apply(clerk_web, variants[:2], rows(variants))
    assert error in response.content.decode()
    assert (_quantities(), StockMovement.objects.count()) == before


@pytest.fixture
def store():
    return location_create(code="STORE-01", name="High Street", kind="store")


def _levels():
    return {
        (sku, code): on_hand
        for sku, code, on_hand in StockLevel.objects.values_list(
            "variant__sku", "location__code", "on_hand"
        )
    }


def test_the_form_asks_where_the_delivery_arrived_the_default_preselected(
    clerk_web, variants, store
):
    location_create(code="OLD", name="Old shop", kind="store", is_active=False)

    response = _choose(clerk_web, variants[:1])

    where = response.context["where"]
    assert where.fields["location"].choices == [
        ("MAIN", "MAIN (Main stock)"),
        ("STORE-01", "STORE-01 (High Street)"),
    ]
    assert where["location"].value() == "MAIN"
    assert 'name="receive-location"' in response.content.decode()


def test_a_delivery_is_received_at_the_location_chosen(clerk_web, variants, store):
    sm, lxl, one = variants
    before = StockMovement.objects.count()

    response = _apply(
        clerk_web,
        variants,
        [(sm.pk, 6, "received"), (lxl.pk, 1, "received"), (one.pk, 0, "received")],
        location="STORE-01",
    )

    assert "Received 7 units for 2 variants at STORE-01." in response.content.decode()
    assert _levels() == {
        (sm.sku, "MAIN"): 1,
        (sm.sku, "STORE-01"): 6,
        (lxl.sku, "STORE-01"): 1,
        (one.sku, "MAIN"): 4,
    }
    assert _quantities() == {sm.sku: 7, lxl.sku: 1, one.sku: 4}
    movements = StockMovement.objects.order_by("id")[before:]
    assert [(m.variant_id, m.location.code, m.delta, m.quantity_after) for m in movements] == [
        (sm.pk, "STORE-01", 6, 6),
        (lxl.pk, "STORE-01", 1, 1),
    ]


@pytest.mark.parametrize("code", ["NOWHERE", "OLD"])
def test_a_delivery_to_an_unknown_or_archived_location_changes_nothing(
    clerk_web, variants, store, code
):
    location_create(code="OLD", name="Old shop", kind="store", is_active=False)
    before = (_levels(), StockMovement.objects.count())

    response = _apply(clerk_web, variants[:1], [(variants[0].pk, 2, "received")], location=code)

    assert f"Select a valid choice. {code} is not one of the available choices." in (
        response.content.decode()
    )
    assert (_levels(), StockMovement.objects.count()) == before


def test_staff_without_the_stock_permission_do_not_get_the_action(login, variants):
    from django.contrib.auth.models import Permission

    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_variant"))
    client = login(viewer)
    assert "receive_stock" not in client.get(CHANGELIST).content.decode()
    before = _quantities()
    _apply(client, variants[:1], [(variants[0].pk, 5, "received")])
    assert _quantities() == before


def test_a_selection_that_changed_meanwhile_is_shown_again_not_applied(clerk_web, variants):
    sm, lxl, _ = variants
    before = (_quantities(), StockMovement.objects.count())
    # The form was shown for two variants; one has since left the list's filter, so the
    # action's queryset now holds only the other.
    response = _apply(clerk_web, [sm], [(sm.pk, 3, "received"), (lxl.pk, 2, "received")])
    html = response.content.decode()
    assert response.status_code == 200
    assert "selected variants changed" in html
    assert f'data-sku="{sm.sku}"' in html
    assert (_quantities(), StockMovement.objects.count()) == before


def test_a_post_without_its_management_form_changes_nothing(clerk_web, variants):
    before = (_quantities(), StockMovement.objects.count())
    response = clerk_web.post(
        CHANGELIST,
        {"action": "receive_stock", "_selected_action": [variants[0].pk], "apply": "1"},
        follow=True,
    )
    assert response.status_code == 200
    assert (_quantities(), StockMovement.objects.count()) == before


def test_rows_posted_in_another_order_stay_with_their_variants(clerk_web, variants):
    sm, lxl, _ = variants
    response = _apply(clerk_web, [sm, lxl], [(lxl.pk, 2, "received"), (sm.pk, 5, "received")])
    assert "Received 7 units for 2 variants at MAIN." in response.content.decode()
    assert _quantities()[sm.sku] == 1 + 5
    assert _quantities()[lxl.sku] == 0 + 2


def test_stock_lock_needs_the_callers_transaction(variants):
    from django.db import transaction

    from stock.services import stock_lock

    with transaction.atomic():
        stock_lock(ids=[v.pk for v in variants])
    # Outside any transaction (the test's own is the outer one here, so simulate none).
    from unittest import mock

    with (
        mock.patch.object(transaction.get_connection(), "in_atomic_block", False),
        pytest.raises(RuntimeError),
    ):
        stock_lock(ids=[variants[0].pk])
