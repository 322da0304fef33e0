"""A domain error at save time (a sale took the stock meanwhile) rolls the whole admin save back
and comes back as a message."""

from typing import Any

import pytest
from django.contrib import messages
from django.test import Client

from catalog.models import Product, Variant
from catalog.tests.admin_stock_support import _everything, _variant_form
from catalog.tests.support import admin_url, product_form_data
from stock import services as stock_services
from stock.exceptions import InsufficientStock
from stock.models import StockMovement

pytestmark = pytest.mark.django_db


def _messages(response: Any) -> list[tuple[int, str]]:
    return [(m.level, str(m)) for m in messages.get_messages(response.wsgi_request)]


@pytest.fixture
def sale_took_the_stock(monkeypatch: pytest.MonkeyPatch, small: Variant) -> None:
    """Between the form's check and the save, a sale took the S-M: the stock service refuses."""

    def stock_adjust(**kwargs: Any) -> StockMovement:
        raise InsufficientStock(
            details={
                "lines": [{"variant": small.pk, "sku": small.sku, "requested": 2, "available": 0}]
            }
        )

    monkeypatch.setattr(stock_services, "stock_adjust", stock_adjust)


NOTHING_SAVED = "Nothing was saved: Not enough stock; nothing was changed."


@pytest.mark.usefixtures("sale_took_the_stock")
def test_a_sale_in_between_rolls_back_the_product_page_save(
    manager_web: Client, tee: Product, small: Variant
):
    before = _everything()
    url = admin_url("change", tee)

    response = manager_web.post(
        url,
        product_form_data(
            tee,
            rows={"S-M": {"stock_change": "-2", "stock_reason": "damaged"}},
            name="Renamed Tee",
        ),
    )

    assert response.status_code == 302
    assert response["Location"] == url
    assert _messages(response) == [(messages.ERROR, NOTHING_SAVED)]
    # The rename, saved before the stock change failed, is rolled back with it.
    assert _everything() == before
    tee.refresh_from_db()
    assert tee.name == "Organic Cotton Tee"
    page = manager_web.get(url)
    assert page.status_code == 200
    assert "Renamed Tee" not in page.content.decode()


@pytest.mark.usefixtures("sale_took_the_stock")
def test_a_sale_in_between_rolls_back_the_variant_page_save(manager_web: Client, small: Variant):
    before = _everything()
    url = admin_url("change", small)

    response = manager_web.post(
        url,
        _variant_form(small, low_stock_threshold="4", stock_change="-2", stock_reason="damaged"),
    )

    assert response.status_code == 302
    assert response["Location"] == url
    assert _messages(response) == [(messages.ERROR, NOTHING_SAVED)]
    assert _everything() == before
    small.refresh_from_db()
    assert small.low_stock_threshold == 2
