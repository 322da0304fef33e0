"""Stock history in the admin: a variant's page shows its latest movements and links to all of
them; nothing with stock history is deleted."""

import re
from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from catalog.models import Product, Variant
from catalog.tests.admin_stock_support import MOVEMENTS, VARIANTS, _everything
from catalog.tests.support import admin_url, product_form_data
from core.actors import system_actor
from stock import services as stock_services
from stock.admin.variants import RECENT_MOVEMENTS
from stock.models import MovementReason, StockMovement

pytestmark = pytest.mark.django_db

ACTOR = system_actor("test")
PRODUCTS = reverse("admin:catalog_product_changelist")


# The variant's latest movements


def _history_rows(html: str) -> list[tuple[str, ...]]:
    """The rows of the variant page's "Latest movements" table, without the time."""
    table = html.split('class="stock-history"', 1)[1].split("</table>", 1)[0]
    return [
        row[1:]
        for row in re.findall(
            r"<tr><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td>"
            r"<td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td></tr>",
            table,
        )
    ]


@pytest.fixture
def busy(tee: Product, small: Variant) -> Variant:
    """The S-M after ten deliveries of 1 to 10 (quantity 60), and one return to the L-XL."""
    for number in range(1, RECENT_MOVEMENTS + 1):
        stock_services.stock_adjust(
            variant_id=small.pk,
            delta=number,
            reason=MovementReason.RECEIVED,
            actor=ACTOR,
            note=f"Delivery {number}",
        )
    other = tee.variants.get(size="L-XL")
    stock_services.stock_adjust(variant_id=other.pk, delta=1, reason="returned", actor=ACTOR)
    small.refresh_from_db()
    return small


def test_a_variant_without_movements_shows_an_empty_history_and_the_link(
    manager_web: Client, tee: Product
):
    variant = tee.variants.get(size="L-XL")
    assert not variant.movements.exists()

    html = manager_web.get(admin_url("change", variant)).content.decode()

    assert "Latest movements" in html
    assert _history_rows(html) == []
    assert f'href="{MOVEMENTS}?variant__id__exact={variant.pk}"' in html


def test_the_variant_page_shows_the_latest_movements_and_links_to_all(
    manager_web: Client, busy: Variant
):
    response = manager_web.get(admin_url("change", busy))

    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="stock-history"' in html
    rows = _history_rows(html)
    # The newest ten of its eleven movements, newest first; the opening one is beyond them.
    assert len(rows) == RECENT_MOVEMENTS
    assert rows[0] == ("MAIN", "Received (delivery)", "+10", "60", "test", "Delivery 10")
    assert rows[-1] == ("MAIN", "Received (delivery)", "+1", "6", "test", "Delivery 1")
    assert f'href="{MOVEMENTS}?variant__id__exact={busy.pk}"' in html
    assert f"All movements of {busy.sku}" in html


def test_the_movement_list_filtered_by_variant_lists_all_of_its_movements(
    manager_web: Client, busy: Variant
):
    # The address the variant page links to.
    response = manager_web.get(MOVEMENTS, {"variant__id__exact": busy.pk})

    assert response.status_code == 200
    listed = list(response.context["cl"].result_list)
    assert listed == list(StockMovement.objects.filter(variant=busy).order_by("-id"))
    assert len(listed) == RECENT_MOVEMENTS + 1
    assert StockMovement.objects.exclude(variant=busy).exists()


# Deleting what has stock history


@pytest.fixture
def sold_out_with_history(tee: Product, small: Variant) -> Variant:
    """The S-M, once stocked, now at 0: no stock, but a history that must be kept."""
    stock_services.stock_adjust(variant_id=small.pk, delta=-5, reason="lost", actor=ACTOR)
    small.refresh_from_db()
    assert small.quantity == 0
    return small


@pytest.mark.parametrize("user", ["admin_user", "manager"])
def test_a_variant_with_history_cannot_be_deleted(
    request: pytest.FixtureRequest,
    login: Callable[[User], Client],
    sold_out_with_history: Variant,
    user,
):
    client = login(request.getfixturevalue(user))
    url = reverse("admin:catalog_variant_delete", args=[sold_out_with_history.pk])
    before = _everything()

    page = client.get(url)
    post = client.post(url, {"post": "yes"})
    action = client.post(
        VARIANTS,
        {
            "action": "delete_selected",
            "_selected_action": [sold_out_with_history.pk],
            "post": "yes",
        },
    )

    assert (page.status_code, post.status_code) == (403, 403)
    # The bulk action lists the protected movements instead of deleting.
    assert action.status_code == 200
    assert "Cannot delete variant" in action.content.decode()
    assert _everything() == before


@pytest.mark.parametrize("user", ["admin_user", "manager"])
def test_a_product_with_history_cannot_be_deleted(
    request: pytest.FixtureRequest,
    login: Callable[[User], Client],
    tee: Product,
    sold_out_with_history: Variant,
    user,
):
    client = login(request.getfixturevalue(user))
    url = reverse("admin:catalog_product_delete", args=[tee.pk])
    before = _everything()

    page = client.get(url)
    post = client.post(url, {"post": "yes"})
    action = client.post(
        PRODUCTS, {"action": "delete_selected", "_selected_action": [tee.pk], "post": "yes"}
    )
    inline = client.post(
        admin_url("change", tee), product_form_data(tee, rows={"S-M": {"DELETE": "on"}})
    )

    assert (page.status_code, post.status_code) == (403, 403)
    assert action.status_code == 200
    assert "Cannot delete product" in action.content.decode()
    assert inline.status_code == 200
    [error] = inline.context["inline_admin_formsets"][0].formset.non_form_errors()
    assert f"Deleting variant {sold_out_with_history.sku}" in error
    assert "protected related objects" in error
    assert _everything() == before
