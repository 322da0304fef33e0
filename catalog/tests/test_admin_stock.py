"""Stock in the admin: staff change and count stock from the product's variant rows and from the
variant's own page, each change recorded by the stock service with the staff user as actor."""

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from catalog.models import Product, Variant
from catalog.tests.admin_stock_support import DOORS, _everything, _movements, _post_stock
from catalog.tests.support import STOCK_FIELDS, admin_url, product_form_data
from catalog.validators import MAX_QUANTITY

pytestmark = pytest.mark.django_db


def _variant_form_errors(response: Any, variant: Variant) -> dict[str, list[str]]:
    """The errors of the variant's form on a re-rendered page (``__all__`` for the form's own)."""
    inlines = response.context["inline_admin_formsets"]
    if inlines:
        [form] = [f for f in inlines[0].formset.forms if f.instance.pk == variant.pk]
    else:
        form = response.context["adminform"].form
    return {field: list(errors) for field, errors in form.errors.items()}


def _opening(variant: Variant) -> tuple[Any, ...]:
    """The ``initial`` movement ``make_product`` records for a variant created with stock."""
    return ("initial", variant.quantity, variant.quantity, "system", "test", None, "")


# Changing stock


@pytest.mark.parametrize("door", DOORS)
def test_a_change_with_a_reason_is_recorded_with_the_staff_user_as_actor(
    manager_web: Client, manager: User, tee: Product, small: Variant, door
):
    large = tee.variants.get(size="L-XL")
    opening = _opening(small)

    response = _post_stock(
        manager_web,
        small,
        door,
        stock_change="5",
        stock_reason="received",
        stock_note=" Delivery 4411 ",
    )

    assert response.status_code == 302
    small.refresh_from_db()
    assert small.quantity == 10
    assert _movements(small) == [
        opening,
        ("received", 5, 10, "user", "manager", manager.pk, "Delivery 4411"),
    ]
    # The other row was left alone: no movement, no change.
    assert _movements(large) == []
    large.refresh_from_db()
    assert large.quantity == 0


@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize(
    ("counted", "delta"),
    [pytest.param(3, -2, id="fewer"), pytest.param(9, 4, id="more"), pytest.param(5, 0, id="same")],
)
def test_a_count_records_the_difference_as_a_count_correction(
    manager_web: Client, manager: User, small: Variant, door, counted, delta
):
    opening = _opening(small)

    response = _post_stock(
        manager_web, small, door, counted_quantity=str(counted), stock_note="Shelf count"
    )

    assert response.status_code == 302
    small.refresh_from_db()
    assert small.quantity == counted
    # A count that finds what the ledger says is recorded too: the shelf was checked.
    assert _movements(small) == [
        opening,
        ("count_correction", delta, counted, "user", "manager", manager.pk, "Shelf count"),
    ]


def test_a_negative_change_with_a_decreasing_reason(
    manager_web: Client, manager: User, small: Variant
):
    response = _post_stock(manager_web, small, "inline", stock_change="-5", stock_reason="damaged")

    assert response.status_code == 302
    small.refresh_from_db()
    assert (small.quantity, small.in_stock) == (0, False)
    assert _movements(small)[-1] == ("damaged", -5, 0, "user", "manager", manager.pk, "")


def test_each_row_of_the_product_page_is_its_own_movement(
    manager_web: Client, manager: User, tee: Product, small: Variant
):
    large = tee.variants.get(size="L-XL")

    response = manager_web.post(
        admin_url("change", tee),
        product_form_data(
            tee,
            rows={
                "S-M": {"stock_change": "-1", "stock_reason": "lost"},
                "L-XL": {"counted_quantity": "2"},
            },
            name="Organic Cotton Tee II",
        ),
    )

    assert response.status_code == 302
    tee.refresh_from_db()
    assert tee.name == "Organic Cotton Tee II"
    assert dict(tee.variants.values_list("size", "quantity")) == {"S-M": 4, "L-XL": 2}
    assert _movements(small)[-1] == ("lost", -1, 4, "user", "manager", manager.pk, "")
    assert _movements(large) == [
        ("count_correction", 2, 2, "user", "manager", manager.pk, ""),
    ]


def test_the_variant_page_has_a_change_the_stock_section_with_the_manual_reasons(
    manager_web: Client, small: Variant
):
    response = manager_web.get(admin_url("change", small))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Change the stock" in html
    for field in STOCK_FIELDS:
        assert f'id="id_{field}"' in html
    reasons = [
        value for value, _ in response.context["adminform"].form.fields["stock_reason"].choices
    ]
    # The reasons a person may claim; initial, count_correction, sale and order_cancelled are
    # recorded by the system only.
    assert reasons == ["", "received", "returned", "damaged", "lost", "correction"]


def test_the_size_and_sku_do_not_claim_to_change_through_stock_movements(
    manager_web: Client, small: Variant
):
    fields = manager_web.get(admin_url("change", small)).context["adminform"].form.fields

    assert fields["quantity"].help_text == (
        "Available over every location; changed through stock movements."
    )
    assert "stock movements" not in fields["size"].help_text
    assert "stock movements" not in fields["sku"].help_text


# Refusals: the form comes back with the error and nothing changes


@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize(
    ("stock", "error_at", "message"),
    [
        pytest.param({"stock_change": "5"}, "stock_reason", "Use one of", id="no reason"),
        pytest.param(
            {"stock_reason": "received"}, "stock_change", "Give the change", id="no change"
        ),
        pytest.param(
            {"stock_change": "2", "stock_reason": "received", "counted_quantity": "7"},
            "__all__",
            "not both",
            id="change and count",
        ),
        pytest.param(
            {"stock_change": "3", "stock_reason": "damaged"},
            "stock_change",
            "must be negative",
            id="damaged adds",
        ),
        pytest.param(
            {"stock_change": "-3", "stock_reason": "received"},
            "stock_change",
            "must be positive",
            id="received takes",
        ),
        pytest.param(
            {"stock_change": "-6", "stock_reason": "lost"},
            "stock_change",
            "Only 5 available at MAIN",
            id="below zero",
        ),
        pytest.param(
            {"stock_change": "0", "stock_reason": "correction"},
            "stock_change",
            "changes nothing",
            id="zero change",
        ),
        pytest.param(
            {"stock_change": "-1", "stock_reason": "sale"},
            "stock_reason",
            "Select a valid choice",
            id="sale",
        ),
        pytest.param(
            {"stock_change": "1", "stock_reason": "initial"},
            "stock_reason",
            "Select a valid choice",
            id="initial",
        ),
        pytest.param(
            {"counted_quantity": "-1"},
            "counted_quantity",
            "greater than or equal to 0",
            id="negative count",
        ),
    ],
)
def test_a_stock_change_is_refused(
    manager_web: Client, small: Variant, door, stock, error_at, message
):
    before = _everything()

    response = _post_stock(manager_web, small, door, **stock)

    assert response.status_code == 200
    errors = _variant_form_errors(response, small)
    assert error_at in errors, errors
    assert message in " ".join(errors[error_at])
    assert "Please correct the error" in response.content.decode()
    assert _everything() == before


@pytest.mark.parametrize("door", DOORS)
def test_a_change_above_the_maximum_quantity_is_refused(make_product, manager_web: Client, door):
    variant = make_product(stock={"S-M": MAX_QUANTITY - 1}).variants.get()
    before = _everything()

    response = _post_stock(manager_web, variant, door, stock_change="5", stock_reason="received")

    assert response.status_code == 200
    assert str(MAX_QUANTITY) in " ".join(_variant_form_errors(response, variant)["stock_change"])
    assert _everything() == before


def test_new_rows_on_the_change_page_have_no_stock_fields_to_change(
    manager_web: Client, manager: User, make_product
):
    """A new row's stock columns are disabled: what is typed there is ignored, and only the
    opening quantity counts."""
    product = make_product(stock={"S-M": 5})

    response = manager_web.post(
        admin_url("change", product),
        product_form_data(
            product,
            new_rows=(
                {
                    "size": "L-XL",
                    "quantity": "3",
                    "stock_change": "50",
                    "stock_reason": "received",
                },
            ),
        ),
    )

    assert response.status_code == 302
    large = product.variants.get(size="L-XL")
    assert large.quantity == 3
    assert _movements(large) == [("initial", 3, 3, "user", "manager", manager.pk, "")]
